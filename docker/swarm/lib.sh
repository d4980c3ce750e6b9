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
#   /run/pktmmap-swarm.made); `down` then leaves the swarm and removes the link (and the
#   docker_gwbridge network the swarm made, when there was none before).
# The nodes:
#   a node is given by its ID or its hostname ($PKTMMAP_TX_NODE, $PKTMMAP_RX_NODE); the sender
#   defaults to this node, the receiver to another node whose engine this host can reach
#   (docker/swarm/second-node.sh makes one), else this node. pktmmap reaches a task's container
#   through its node's engine: this host's, or one listed in $PKTMMAP_NODES_DIR/<node ID>
#   (/run/pktmmap-nodes; the file holds the engine's address for `docker -H`).
# The tools:
#   services pktmmap-sw-<mode>-tx and -rx, one replica each, placed with a node.id
#   constraint, image $PKTMMAP_IMAGE
#   (local, never pulled: --no-resolve-image), CAP_NET_RAW only, read-only root file system,
#   never privileged; the task's container is reached with `docker exec` on this host's engine
#   and its network namespace named pktmmap-sw-<mode>-tx|rx for host-side tools.
# Nothing here ever touches eth0 or any other existing interface.
. "$(dirname "$0")/../setups/lib.sh"

SWARM_MARK=${PKTMMAP_SWARM_MARK:-/run/pktmmap-swarm.made}
NODES_DIR=${PKTMMAP_NODES_DIR:-/run/pktmmap-nodes}
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
      # `swarm init` makes the docker_gwbridge network and leaving keeps it: noted, so that
      # `down` removes it when it was made here.
      local gwbridge=kept
      docker network inspect docker_gwbridge >/dev/null 2>&1 || gwbridge=made
      veth_parent $SWARM_LINK pkmsw1
      ip addr replace "$SWARM_ADDR/24" dev $SWARM_LINK
      local out
      out=$(docker swarm init --advertise-addr $SWARM_ADDR --listen-addr "$SWARM_ADDR:2377" \
        --data-path-addr $SWARM_ADDR --default-addr-pool 10.77.128.0/17 \
        --default-addr-pool-mask-length 24 2>&1) || { link_del $SWARM_LINK; die "docker swarm init failed: $out"; }
      printf 'made a single-node swarm on %s (%s)\ndocker_gwbridge=%s\n' \
        $SWARM_LINK $SWARM_ADDR $gwbridge > "$SWARM_MARK"
      ;;
    *) skip "this Docker engine's swarm is $(swarm_state): pktmmap uses an active swarm as it is or makes one from an inactive engine" ;;
  esac
}

# swarm_leave_if_made: leave the swarm and remove its link if `up` made it (not while a second
# node made here is still in it: second-node.sh down leaves then).
swarm_leave_if_made() {
  [ -f "$SWARM_MARK" ] || return 0
  [ -z "$(ls -A "$NODES_DIR" 2>/dev/null)" ] || return 0
  docker swarm leave --force >/dev/null 2>&1 || true
  if grep -qx 'docker_gwbridge=made' "$SWARM_MARK"; then
    docker network rm docker_gwbridge >/dev/null 2>&1 || true
  fi
  link_del $SWARM_LINK
  rm -f "$SWARM_MARK"
}

this_node_id() { docker info --format '{{.Swarm.NodeID}}'; }

# engine_of NODE_ID: the address of the node's engine for `docker -H` (empty: this host's).
engine_of() {
  if [ "$1" = "$(this_node_id)" ]; then echo ""; return; fi
  [ -f "$NODES_DIR/$1" ] \
    || die "the task would run on node $1, whose Docker engine this host cannot reach: pktmmap runs the tools with docker exec, so list the engine in $NODES_DIR/$1 (its docker -H address) or place both tasks here"
  cat "$NODES_DIR/$1"
}

# node_of SIDE: the ID of the node a side's task goes to.
node_of() {
  local want id
  if [ "$1" = tx ]; then want=${PKTMMAP_TX_NODE:-}; else want=${PKTMMAP_RX_NODE:-}; fi
  if [ -z "$want" ]; then
    want=$(this_node_id)
    if [ "$1" = rx ]; then
      # Another ready node whose engine is reachable, if there is one.
      for id in $(docker node ls --filter role=worker --format '{{.ID}} {{.Status}}' | awk '$2 == "Ready" {print $1}'); do
        if [ -f "$NODES_DIR/$id" ]; then want=$id; break; fi
      done
    fi
  fi
  if ! id=$(docker node inspect --format '{{.ID}}' "$want" 2>&1); then
    case "$id" in
      *ambiguous*) die "swarm node name $want is ambiguous (several nodes have that hostname): give the node's ID (docker node ls lists them)" ;;
      *) die "no swarm node named $want (docker node ls lists them)" ;;
    esac
  fi
  echo "$id"
}

# node_name ID: hostname/short ID, as the rows record it (two engines on one machine share
# the hostname).
node_name() { echo "$(docker node inspect --format '{{.Description.Hostname}}' "$1")/${1:0:12}"; }

# on_engine ENGINE ARGS...: docker on that engine.
on_engine() {
  local e=$1; shift
  if [ -n "$e" ]; then docker -H "$e" "$@"; else docker "$@"; fi
}

# service_up MODE SIDE NETWORK: the side's service on NETWORK, its task running, its
# namespace named.
service_up() {
  local name="$NS_PREFIX-sw-$1-$2" node engine out
  node=$(node_of "$2")
  engine=$(engine_of "$node")
  on_engine "$engine" image inspect "$PKTMMAP_IMAGE" >/dev/null 2>&1 \
    || die "image $PKTMMAP_IMAGE is not on node $(node_name "$node"): load it there (docker save $PKTMMAP_IMAGE | docker -H ${engine:-NODE} load)"
  docker service rm "$name" >/dev/null 2>&1 || true
  # AF_XDP runs (PKTMMAP_XDP=1): what docker/compose/xdp.yml gives the docker engine's
  # containers: the UMEM's locked pages, and for xdp-rx loading and attaching its program.
  local caps=(--cap-add NET_RAW)
  if [ "${PKTMMAP_XDP:-}" = 1 ]; then
    caps+=(--cap-add IPC_LOCK)
    [ "$2" = rx ] && caps+=(--cap-add NET_ADMIN --cap-add SYS_ADMIN)
  fi
  out=$(docker service create --detach --quiet --name "$name" --replicas 1 \
    --constraint "node.id==$node" --network "$3" \
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
  # Host-side tools (an nft ingress drop, RPS) reach the task's network namespace by name,
  # which exists only where the task runs on this machine: its PID from the engine is then a
  # process here in the container's cgroup. On another machine that PID means nothing here.
  local pid id
  pid=$(on_engine "$engine" inspect --format '{{.State.Pid}}' "$c")
  id=$(on_engine "$engine" inspect --format '{{.Id}}' "$c")
  ns_del "$NS_PREFIX-sw-$1-$2"
  local here=
  if grep -qs "$id" "/proc/$pid/cgroup"; then
    ip netns attach "$NS_PREFIX-sw-$1-$2" "$pid"
    here=1
  fi
  if [ "$2" = rx ] && [ -n "${PKTMMAP_RPS:-}" ]; then
    [ -n "$here" ] || die "receive packet steering (--rps) is set from this host, but the receiver's task runs on node $(node_name "$node"), another machine"
    local ifname
    read -r ifname _ <<<"$(task_if "$1" rx "$3")"
    [ -n "$ifname" ] || die "the receiver's task has no interface on network $3"
    rps_apply "$NS_PREFIX-sw-$1-$2" "$ifname"
  fi
}

# task_if MODE SIDE NETWORK: the interface and address of the side's task on NETWORK, asked
# through its node's engine (the address from the engine, the interface from inside the
# container), so that it holds for a node on another machine too.
task_if() {
  local engine c ip ifname
  engine=$(engine_of "$(node_of "$2")")
  c=$(task_container "$1" "$2")
  [ -n "$c" ] || return 0
  ip=$(on_engine "$engine" inspect --format "{{with index .NetworkSettings.Networks \"$3\"}}{{.IPAddress}}{{end}}" "$c")
  [ -n "$ip" ] || return 0
  ifname=$(on_engine "$engine" exec "$c" pktmmap-idle iface-of "$ip") || return 0
  echo "$ifname $ip"
}

# task_container MODE SIDE: the running container of the side's task, on its node's engine.
task_container() {
  on_engine "$(engine_of "$(node_of "$2")")" ps --quiet \
    --filter "label=com.docker.swarm.service.name=$NS_PREFIX-sw-$1-$2" \
    --filter status=running | head -1
}

# engines: this host's engine (an empty line) and every second engine listed in NODES_DIR.
engines() {
  echo ""
  cat "$NODES_DIR"/* 2>/dev/null || true
}

# swarm_down MODE: the services, the network and the namespace names.
swarm_down() {
  ns_del "$NS_PREFIX-sw-$1-tx"; ns_del "$NS_PREFIX-sw-$1-rx"
  if command -v docker >/dev/null && docker info >/dev/null 2>&1; then
    docker service rm "$NS_PREFIX-sw-$1-tx" "$NS_PREFIX-sw-$1-rx" >/dev/null 2>&1 || true
    # A service's containers go shortly after it; the network can go once they have (and
    # a container still there after 10 s is removed here, or leaving the swarm would orphan it).
    local left="" e
    while read -r e; do
      for _ in $(seq 50); do
        left=$(on_engine "$e" ps --all --quiet --filter "label=pktmmap.setup=$1" 2>/dev/null || true)
        [ -z "$left" ] && break
        sleep 0.2
      done
      [ -z "$left" ] || on_engine "$e" rm --force $left >/dev/null 2>&1 || true
    done < <(engines)
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

# swarm_env MODE NETWORK DATAPATH NOTE: the env lines for the runner.
swarm_env() {
  local tx rx
  read -r tx_if tx_ip <<<"$(task_if "$1" tx "$2")"
  read -r rx_if rx_ip <<<"$(task_if "$1" rx "$2")"
  [ -n "${tx_ip:-}" ] && [ -n "${rx_ip:-}" ] || die "the $1 tasks have no address on network $2: is the set-up up?"
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
TX_NODE=$(node_name "$(node_of tx)")
RX_NODE=$(node_name "$(node_of rx)")
TX_ENGINE=$(engine_of "$(node_of tx)")
RX_ENGINE=$(engine_of "$(node_of rx)")
EOF
}
