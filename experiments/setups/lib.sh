# Shared by the set-up scripts; sourced, not run.
#
# Conventions every set-up follows:
#   namespaces   pktmmap-<setup>-tx and pktmmap-<setup>-rx (plus pktmmap-<setup>-sw for a switch)
#   interfaces   pkm... (what lives in the host namespace starts with "pkm" too)
#   addresses    10.77.<n>.1 (sender) and 10.77.<n>.2 (receiver), /24, only inside the namespaces;
#                where a set-up is dual-stack (IP6=1), also fd00:77:<n>::1 and ::2, /64 (ULA,
#                no duplicate address detection), printed as TX_IP6 and RX_IP6
#   commands     up | down | env  ("env" prints KEY=VALUE lines that the runner reads)
#   exit codes   0 done, 1 failed, 3 skipped on this machine (the reason is printed)
# Nothing here ever touches eth0 or any other existing interface.

set -euo pipefail

# Namespaces are named $NS_PREFIX-<set-up>-tx|rx. PKTMMAP_NS_PREFIX changes the prefix (it
# must stay under pktmmap-, where `down --all` and the tests' leak checks look), so that the
# integration tests bring up many private copies of a set-up side by side.
NS_PREFIX=${PKTMMAP_NS_PREFIX:-pktmmap}
case $NS_PREFIX in
  pktmmap) ;;
  pktmmap-*[!a-z0-9-]*|pktmmap-) echo "error: PKTMMAP_NS_PREFIX must be pktmmap-[a-z0-9-]+" >&2; exit 2 ;;
  pktmmap-*) ;;
  *) echo "error: PKTMMAP_NS_PREFIX must be pktmmap-[a-z0-9-]+" >&2; exit 2 ;;
esac
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

# addr6_up NS IF ADDR/64: give IF an IPv6 address without duplicate address detection (our
# own test subnet: no one else is on it), usable at once (idempotent).
addr6_up() {
  ip -n "$1" -6 addr replace "$3" dev "$2" nodad
  ip -n "$1" link set "$2" up
}

# quiet_host_link IF: no IPv6 autoconfiguration noise from a host-side helper link.
quiet_host_link() {
  if [ -w "/proc/sys/net/ipv6/conf/$1/disable_ipv6" ]; then
    echo 1 > "/proc/sys/net/ipv6/conf/$1/disable_ipv6"
  fi
}

# rps_apply NS IF: where PKTMMAP_RPS holds a CPU mask (hex, e.g. 2 = core 1), receive packet
# steering moves IF's receive softirq to those cores. On veth that work otherwise runs on the
# sending core and throttles every sender like backpressure. Nothing happens without it.
# A container's namespace shares its sysfs with the container, which mounted it read-only:
# `ip netns exec` then gets that read-only instance, so it is made writable for the write
# and read-only again after (the container's own mount stays read-only throughout).
rps_apply() {
  [ -n "${PKTMMAP_RPS:-}" ] || return 0
  case "$PKTMMAP_RPS" in *[!0-9a-fA-F]*) die "PKTMMAP_RPS must be a hex CPU mask such as 2" ;; esac
  ip netns exec "$1" bash -c '
    set -e
    if [ ! -w /sys/class/net/"$1"/queues/rx-0/rps_cpus ]; then
      trap "mount -o remount,ro /sys" EXIT
      mount -o remount,rw /sys
    fi
    for q in /sys/class/net/"$1"/queues/rx-*/rps_cpus; do echo "$2" > "$q"; done
    for q in /sys/class/net/"$1"/queues/rx-*/rps_cpus; do
      [ $((0x$(cat "$q" | tr -d ,))) = $((0x$2)) ] || { echo "$q reads $(cat "$q")" >&2; exit 1; }
    done' _ "$2" "$PKTMMAP_RPS" || die "cannot set RPS on $2 in $1"
}

# print_env SETUP TX_NS RX_NS TX_IF RX_IF SUBNET DATAPATH [NOTE]
# (a set-up with namespaces between the two sides echoes PATH_NS="NS ..." after it: the runner
# reads the transmit drops of their interfaces around each run)
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
RPS=${PKTMMAP_RPS:-}
EOF
  if [ "${IP6:-}" = 1 ]; then
    echo "TX_IP6=fd00:77:$6::1"
    echo "RX_IP6=fd00:77:$6::2"
  fi
}

# dual_stack_up TX RX NET: the sender's and receiver's pkm0 get their IPv4 and IPv6 addresses
# and come up.
dual_stack_up() {
  addr_up "$1" pkm0 10.77.$3.1/24
  addr_up "$2" pkm0 10.77.$3.2/24
  addr6_up "$1" pkm0 fd00:77:$3::1/64
  addr6_up "$2" pkm0 fd00:77:$3::2/64
}

# veth_parent PARENT PEER: a veth pair in the host namespace, made to be a macvlan parent
# (never a real uplink such as eth0), both ends up and quiet (idempotent).
veth_parent() {
  ip link show "$1" >/dev/null 2>&1 || ip link add "$1" type veth peer name "$2"
  quiet_host_link "$1"; quiet_host_link "$2"
  ip link set "$1" up; ip link set "$2" up
}

# --- 802.1Q (the macvlan-trunk set-ups of both engines) ---------------------------------------
# vlan_id: PKTMMAP_VLAN_ID (default 100), checked.
vlan_id() {
  local vid=${PKTMMAP_VLAN_ID:-100}
  case "$vid" in ''|*[!0-9]*) die "PKTMMAP_VLAN_ID must be a number from 1 to 4094" ;; esac
  [ "$vid" -ge 1 ] && [ "$vid" -le 4094 ] || die "PKTMMAP_VLAN_ID must be from 1 to 4094"
  echo "$vid"
}

# vlan_add PARENT SUB VID: create the 802.1Q sub-interface SUB. On a kernel without 802.1Q
# support it returns 1 with the reason in VLAN_SKIP (the caller cleans up, then skips).
vlan_add() {
  local err cfg=""
  if err=$(ip link add link "$1" name "$2" type vlan id "$3" 2>&1); then return 0; fi
  if [ -r /proc/config.gz ] && zcat /proc/config.gz | grep -q '^# CONFIG_VLAN_8021Q is not set'; then
    cfg=" (CONFIG_VLAN_8021Q is not set in /proc/config.gz)"
  fi
  VLAN_SKIP="this kernel has no 802.1Q VLAN support$cfg: ip link add ... type vlan failed: $err"
  return 1
}

# macvlan_into NS PARENT: a bridge-mode macvlan on PARENT, moved into NS as pkm0 (kept if NS
# already has a pkm0). Made under a temporary name unique to NS, since two namespaces' macvlans
# are made on the host side one after the other.
macvlan_into() {
  local ns=$1 parent=$2 tmp
  ns_has_link "$ns" pkm0 && return 0
  tmp=pkmmv$(printf '%s' "$ns" | cksum | cut -c1-8)
  ip link add "$tmp" link "$parent" type macvlan mode bridge
  ip link set "$tmp" netns "$ns"
  ip -n "$ns" link set "$tmp" name pkm0
}

# --- Open vSwitch (the ovs set-ups of both engines) -------------------------------------------
# ovsdb-server and ovs-vswitchd are started if they are not running, and stopped on tear-down
# only if a pktmmap set-up started them (a marker file says so).
OVS_CTL=/usr/share/openvswitch/scripts/ovs-ctl
OVS_STARTED=/run/pktmmap/ovs-started-by-pktmmap

ovs_running() { [ -x $OVS_CTL ] && $OVS_CTL status >/dev/null 2>&1; }

# ovs_datapath: "system" where the openvswitch kernel module exists, else "netdev" (userspace).
ovs_datapath() {
  if [ -d /sys/module/openvswitch ] || modprobe -q openvswitch 2>/dev/null; then echo system; else echo netdev; fi
}

# ovs_start: make sure the daemons run (skip, exit 3, if Open vSwitch is not installed).
ovs_start() {
  command -v ovs-vsctl >/dev/null || skip "Open vSwitch is not installed (apt-get install openvswitch-switch)"
  if ! ovs_running; then
    [ -x $OVS_CTL ] || skip "ovs-ctl not found at $OVS_CTL"
    $OVS_CTL --system-id=random --no-mlockall --no-record-hostname start >/dev/null 2>&1 \
      || die "could not start ovsdb-server and ovs-vswitchd with ovs-ctl"
    mkdir -p "$(dirname $OVS_STARTED)"; touch $OVS_STARTED
  fi
}

# ovs_stop_if_ours: stop the daemons if a pktmmap set-up started them.
ovs_stop_if_ours() {
  if [ -e $OVS_STARTED ]; then
    $OVS_CTL stop >/dev/null 2>&1 || true
    rm -f $OVS_STARTED
  fi
}

# ovs_add_bridge BR DATAPATH: the bridge (idempotent). With the userspace datapath OVS copies
# frames between veths byte for byte, so attached veths need TX checksum offload off (ethtool).
ovs_add_bridge() {
  if [ "$2" = netdev ] && ! command -v ethtool >/dev/null; then
    die "the userspace datapath needs ethtool to turn off TX checksum offload (apt-get install ethtool)"
  fi
  ovs-vsctl --timeout=10 --may-exist add-br "$1" -- set bridge "$1" datapath_type="$2"
  ip link set "$1" up 2>/dev/null || true
}

# ovs_port BR DATAPATH HOST_IF NS NS_IF [ovs-vsctl ARGS...]: HOST_IF (the host end of a veth
# whose other end is NS_IF in namespace NS) becomes a port of BR; extra arguments follow the
# add-port (e.g. "-- set interface ... external_ids:..."). With the userspace datapath the
# namespace's end gets TX checksum offload off (see ovs_add_bridge).
ovs_port() {
  local br=$1 dp=$2 host=$3 ns=$4 nsif=$5; shift 5
  quiet_host_link "$host"
  ip link set "$host" up
  ovs-vsctl --timeout=10 --may-exist add-port "$br" "$host" "$@"
  if [ "$dp" = netdev ]; then ip netns exec "$ns" ethtool -K "$nsif" tx off >/dev/null; fi
}

# ovs_down BR HOST_IF...: the bridge and its veths gone (the daemons stopped if ours).
ovs_down() {
  local br=$1; shift
  if command -v ovs-vsctl >/dev/null && ovs_running; then
    ovs-vsctl --timeout=10 --if-exists del-br "$br"
  fi
  for l in "$@"; do link_del "$l"; done
}

# ovs_bridge_datapath BR: the bridge's datapath type, or "unknown".
ovs_bridge_datapath() {
  if command -v ovs-vsctl >/dev/null && ovs_running; then
    ovs-vsctl --timeout=5 get bridge "$1" datapath_type 2>/dev/null | tr -d '"' || echo unknown
  else
    echo unknown
  fi
}

# usage SETUP
usage() { echo "usage: $1.sh up|down|env" >&2; exit 2; }
