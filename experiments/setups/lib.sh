# Shared by the set-up scripts; sourced, not run.
#
# Conventions every set-up follows:
#   namespaces   pktmmap-<setup>-tx and pktmmap-<setup>-rx (plus pktmmap-<setup>-sw for a switch)
#   interfaces   pkm... (what lives in the host namespace starts with "pkm" too)
#   addresses    10.77.<n>.1 (sender) and 10.77.<n>.2 (receiver), /24, only inside the namespaces
#   commands     up | down | env  ("env" prints KEY=VALUE lines that the runner reads)
#   exit codes   0 done, 1 failed, 3 skipped on this machine (the reason is printed)
# Nothing here ever touches eth0 or any other existing interface.

set -euo pipefail

NS_PREFIX=pktmmap
IF_PREFIX=pkm

die() { echo "error: $*" >&2; exit 1; }
skip() { echo "SKIP: $*"; exit 3; }

# ns_add NAME: create a namespace (idempotent) with loopback up.
ns_add() {
  ip netns list | awk '{print $1}' | grep -qx "$1" || ip netns add "$1"
  ip -n "$1" link set lo up
}

# ns_del NAME: delete a namespace if it exists (its interfaces go with it).
ns_del() {
  if ip netns list | awk '{print $1}' | grep -qx "$1"; then ip netns del "$1"; fi
}

# link_del NAME: delete a host-namespace link if it exists (a veth takes its peer along).
link_del() {
  if ip link show "$1" >/dev/null 2>&1; then ip link del "$1"; fi
}

# ns_has_link NS IF
ns_has_link() { ip -n "$1" link show "$2" >/dev/null 2>&1; }

# addr_up NS IF CIDR: give IF its address (idempotent) and bring it up.
addr_up() {
  ip -n "$1" addr replace "$3" dev "$2"
  ip -n "$1" link set "$2" up
}

# quiet_host_link IF: no IPv6 autoconfiguration noise from a host-side helper link.
quiet_host_link() {
  if [ -w "/proc/sys/net/ipv6/conf/$1/disable_ipv6" ]; then
    echo 1 > "/proc/sys/net/ipv6/conf/$1/disable_ipv6"
  fi
}

# print_env SETUP TX_NS RX_NS TX_IF RX_IF SUBNET DATAPATH [NOTE]
print_env() {
  cat <<EOF
SETUP=$1
TX_NS=$2
RX_NS=$3
TX_IF=$4
RX_IF=$5
TX_IP=10.77.$6.1
RX_IP=10.77.$6.2
DATAPATH=$7
NOTE="${8:-}"
EOF
}

# usage SETUP
usage() { echo "usage: $1.sh up|down|env" >&2; exit 2; }
