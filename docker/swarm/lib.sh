# Shared by the Docker Swarm set-up scripts; sourced, not run. Same protocol as
# experiments/setups and docker/setups: "up | down | env", exit 0 done, 1 failed, 3 skipped
# (the reason after "SKIP: "); "env" prints the runner's KEY=VALUE lines with TX_CONTAINER,
# RX_CONTAINER, TX_NODE and RX_NODE.
#
# The swarm:
#   an active swarm is used as it is and left as found;
#   without one, `up` makes a single-node swarm bound to a test link of its own (veth pkmsw0,
#   10.77.70.1/24; never eth0), with address pools from 10.77.128.0/17 so that no network it
#   makes can shadow a real one, and marks that it did ($PKTMMAP_SWARM_MARK,
#   /run/pktmmap-swarm.made); `down` then leaves the swarm and removes the link.
# The tools:
#   services pktmmap-sw-<mode>-tx and -rx, one replica each, placed with a node.hostname
#   constraint ($PKTMMAP_TX_NODE, $PKTMMAP_RX_NODE; default this node), image $PKTMMAP_IMAGE
#   (local, never pulled: --no-resolve-image), CAP_NET_RAW only, read-only root file system,
#   never privileged; the task's container is reached with `docker exec` on this host's engine
#   and its network namespace named pktmmap-sw-<mode>-tx|rx for host-side tools.
# Nothing here ever touches eth0 or any other existing interface.
. "$(dirname "$0")/../setups/lib.sh"

SWARM_MARK=${PKTMMAP_SWARM_MARK:-/run/pktmmap-swarm.made}
SWARM_LINK=pkmsw0
SWARM_ADDR=10.77.70.1

swarm_state() { docker info --format '{{.Swarm.LocalNodeState}}' 2>/dev/null || echo unknown; }
this_node() { docker info --format '{{.Name}}'; }

# swarm_ready: an engine with the image; an active swarm (made here if there is none).
swarm_ready() {
  docker_ready
  case "$(swarm_state)" in
    active) ;;
    inactive)
      veth_parent $SWARM_LINK pkmsw1
      ip addr replace "$SWARM_ADDR/24" dev $SWARM_LINK
      local out
      out=$(docker swarm init --advertise-addr $SWARM_ADDR --listen-addr "$SWARM_ADDR:2377" \
        --data-path-addr $SWARM_ADDR --default-addr-pool 10.77.128.0/17 \
        --default-addr-pool-mask-length 24 2>&1) || { link_del $SWARM_LINK; die "docker swarm init failed: $out"; }
      echo "made a single-node swarm on $SWARM_LINK ($SWARM_ADDR)" > "$SWARM_MARK"
      ;;
    *) skip "this Docker engine's swarm is $(swarm_state): pktmmap uses an active swarm as it is or makes one from an inactive engine" ;;
  esac
}

# swarm_leave_if_made: leave the swarm and remove its link if `up` made it.
swarm_leave_if_made() {
  [ -f "$SWARM_MARK" ] || return 0
  docker swarm leave --force >/dev/null 2>&1 || true
  link_del $SWARM_LINK
  rm -f "$SWARM_MARK"
}

# node_of SIDE: the node a side's task goes to.
node_of() {
  local want
  if [ "$1" = tx ]; then want=${PKTMMAP_TX_NODE:-}; else want=${PKTMMAP_RX_NODE:-}; fi
  [ -n "$want" ] || want=$(this_node)
  docker node inspect "$want" >/dev/null 2>&1 \
    || die "no swarm node named $want (docker node ls lists them)"
  echo "$want"
}

# service_up MODE SIDE NETWORK: the side's service on NETWORK, its task running, its
# namespace named.
service_up() {
  local name="$NS_PREFIX-sw-$1-$2" node out
  node=$(node_of "$2")
  [ "$node" = "$(this_node)" ] \
    || die "the $2 task would run on node $node: pktmmap reaches a task through this host's engine (docker exec), so run it on that node or place both here"
  docker service rm "$name" >/dev/null 2>&1 || true
  # AF_XDP runs (PKTMMAP_XDP=1): what docker/compose/xdp.yml gives the docker engine's
  # containers: the UMEM's locked pages, and for xdp-rx loading and attaching its program.
  local caps=(--cap-add NET_RAW)
  if [ "${PKTMMAP_XDP:-}" = 1 ]; then
    caps+=(--cap-add IPC_LOCK)
    [ "$2" = rx ] && caps+=(--cap-add NET_ADMIN --cap-add SYS_ADMIN)
  fi
  out=$(docker service create --detach --quiet --name "$name" --replicas 1 \
    --constraint "node.hostname==$node" --network "$3" \
    --cap-drop ALL "${caps[@]}" --read-only --no-resolve-image \
    --restart-condition none --stop-grace-period 3s \
    --container-label pktmmap.setup="$1" "$PKTMMAP_IMAGE" pktmmap-idle 2>&1) \
    || die "docker service create $name failed: $out"
  local c=""
  for _ in $(seq 100); do
    c=$(task_container "$1" "$2")
    [ -n "$c" ] && break
    sleep 0.2
  done
  [ -n "$c" ] || die "the task of $name did not start within 20 s: $(docker service ps --no-trunc --format '{{.Error}}' "$name" | head -1)"
  attach_ns "$NS_PREFIX-sw-$1-$2" "$c"
}

# task_container MODE SIDE: the running container of the side's task on this node.
task_container() {
  docker ps --quiet --filter "label=com.docker.swarm.service.name=$NS_PREFIX-sw-$1-$2" \
    --filter status=running | head -1
}

# swarm_down MODE: the services, the network and the namespace names.
swarm_down() {
  ns_del "$NS_PREFIX-sw-$1-tx"; ns_del "$NS_PREFIX-sw-$1-rx"
  if command -v docker >/dev/null && docker info >/dev/null 2>&1; then
    docker service rm "$NS_PREFIX-sw-$1-tx" "$NS_PREFIX-sw-$1-rx" >/dev/null 2>&1 || true
    # A service's containers go shortly after it; the network can go once they have (and
    # a container still there after 10 s is removed here, or leaving the swarm would orphan it).
    local left=""
    for _ in $(seq 50); do
      left=$(docker ps --all --quiet --filter "label=pktmmap.setup=$1")
      [ -z "$left" ] && break
      sleep 0.2
    done
    [ -z "$left" ] || docker rm --force $left >/dev/null 2>&1 || true
    docker network rm "$NS_PREFIX-sw-$1" >/dev/null 2>&1 || true
    # A config-only network can go once the swarm network built from it has gone, which the
    # engine finishes a moment after `network rm` returns.
    for _ in $(seq 50); do
      docker network inspect "$NS_PREFIX-sw-$1-config" >/dev/null 2>&1 || break
      docker network rm "$NS_PREFIX-sw-$1-config" >/dev/null 2>&1 && break
      sleep 0.2
    done
  fi
}

# if_of NS PREFIX: the interface in NS with an address in PREFIX (e.g. 10.77.72.), and that
# address.
if_of() {
  ip -n "$1" -o -4 addr show | awk -v p="$2" 'index($4, p) == 1 { split($4, a, "/"); print $2, a[1]; exit }'
}

# swarm_env MODE PREFIX DATAPATH NOTE: the env lines for the runner.
swarm_env() {
  local tx rx
  read -r tx_if tx_ip <<<"$(if_of "$NS_PREFIX-sw-$1-tx" "$2")"
  read -r rx_if rx_ip <<<"$(if_of "$NS_PREFIX-sw-$1-rx" "$2")"
  [ -n "${tx_ip:-}" ] && [ -n "${rx_ip:-}" ] || die "the $1 tasks have no address in $2*: is the set-up up?"
  tx=$(task_container "$1" tx); rx=$(task_container "$1" rx)
  cat <<EOF
SETUP=$1
TX_NS=$NS_PREFIX-sw-$1-tx
RX_NS=$NS_PREFIX-sw-$1-rx
TX_IF=$tx_if
RX_IF=$rx_if
TX_IP=$tx_ip
RX_IP=$rx_ip
DATAPATH=$3
NOTE="$4"
RPS=${PKTMMAP_RPS:-}
TX_CONTAINER=$tx
RX_CONTAINER=$rx
TX_NODE=$(node_of tx)
RX_NODE=$(node_of rx)
EOF
}
