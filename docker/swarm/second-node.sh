#!/usr/bin/env bash
# second-node (swarm engine): a second Docker engine on this machine, in a network namespace of
# its own, joined to the swarm as a worker, so that the tools run on two different swarm nodes
# and overlay traffic really crosses VXLAN between two engines.
#
#   host netns: dockerd (manager) on pkmsw0 10.77.70.1 ==veth== pkmsw1 10.77.70.2 in netns
#   pktmmap-node2: dockerd (worker) with its own data root, exec root, socket and pid file
#
#   second-node.sh up     start it (making a single-node swarm first if none is active), join,
#                         load $PKTMMAP_IMAGE into it, list it in $PKTMMAP_NODES_DIR
#   second-node.sh down   leave the swarm from it, stop it, remove its files, its namespace and,
#                         if a set-up made the swarm, leave that too
#   second-node.sh env    NODE2_ID and NODE2_ENGINE
#
# The engine is started with `nsenter --net` (not `ip netns exec`, which remounts /sys and
# hides the cgroup mounts it needs), storage driver vfs, no iptables and no default bridge, and
# an empty configuration file (the host's /etc/docker/daemon.json may set a data root or a
# storage driver that would clash with these flags). Needs root and dockerd.
. "$(dirname "$0")/lib.sh"

NS=$NS_PREFIX-node2
ADDR=10.77.70.2
SOCK=/run/pktmmap-node2.sock
ENGINE=unix://$SOCK
PIDFILE=/run/pktmmap-node2.pid
DATA=/var/lib/pktmmap-node2
EXEC=/run/pktmmap-node2
CONFIG=/run/pktmmap-node2.json

n2() { docker -H "$ENGINE" "$@"; }

node2_id() { n2 info --format '{{.Swarm.NodeID}}' 2>/dev/null; }

down() {
  if [ -S "$SOCK" ]; then
    local id; id=$(node2_id)
    n2 swarm leave --force >/dev/null 2>&1 || true
    [ -z "$id" ] || { docker node rm --force "$id" >/dev/null 2>&1 || true; rm -f "$NODES_DIR/$id"; }
  fi
  if [ -f "$PIDFILE" ]; then
    local pid; pid=$(cat "$PIDFILE")
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
  fi
  # Its containers' mounts and namespaces go with it; then its files.
  local m
  for m in $(awk -v e="$EXEC" -v d="$DATA" 'index($2, e) == 1 || index($2, d) == 1 {print $2}' /proc/mounts | sort -r); do
    umount -l "$m" 2>/dev/null || true
  done
  rm -rf "$DATA" "$EXEC" "$EXEC.log" "$SOCK" "$PIDFILE" "$CONFIG"
  ns_del "$NS"
  rm -rf "$NODES_DIR"
  swarm_leave_if_made
}

case "${1:-}" in
  up)
    command -v dockerd >/dev/null || skip "dockerd is not installed"
    command -v nsenter >/dev/null || die "nsenter is missing (apt-get install util-linux)"
    swarm_ready
    [ "$(docker info --format '{{.Swarm.ControlAvailable}}')" = true ] \
      || die "this engine is not a swarm manager: a worker cannot admit a second node"
    trap down EXIT
    ns_add "$NS"
    ip link show $SWARM_LINK >/dev/null 2>&1 || die "the swarm is not on $SWARM_LINK: a second node joins only a swarm that a set-up made here"
    if ! ns_has_link "$NS" pkmsw1; then ip link set pkmsw1 netns "$NS"; fi
    addr_up "$NS" pkmsw1 "$ADDR/24"
    echo '{}' > "$CONFIG"
    mkdir -p "$DATA" "$EXEC"
    nsenter --net="/run/netns/$NS" dockerd --data-root "$DATA" --exec-root "$EXEC" \
      -H "$ENGINE" --pidfile "$PIDFILE" --storage-driver=vfs --iptables=false --bridge=none \
      --config-file "$CONFIG" >"$EXEC.log" 2>&1 &
    for _ in $(seq 100); do n2 info >/dev/null 2>&1 && break; sleep 0.2; done
    n2 info >/dev/null 2>&1 || die "the second dockerd did not start: $(tail -n 3 "$EXEC.log")"
    out=$(n2 swarm join --token "$(docker swarm join-token --quiet worker)" \
      --advertise-addr $ADDR --listen-addr "$ADDR:2377" --data-path-addr $ADDR \
      "$SWARM_ADDR:2377" 2>&1) || die "the second engine could not join the swarm: $out"
    out=$(docker save "$PKTMMAP_IMAGE" | n2 load 2>&1) || die "cannot load $PKTMMAP_IMAGE into the second engine: $out"
    mkdir -p "$NODES_DIR"
    echo "$ENGINE" > "$NODES_DIR/$(node2_id)"
    for _ in $(seq 50); do
      [ "$(docker node inspect --format '{{.Status.State}}' "$(node2_id)" 2>/dev/null)" = ready ] && break
      sleep 0.2
    done
    trap - EXIT
    ;;
  down) down ;;
  env)
    echo "NODE2_ID=$(node2_id)"
    echo "NODE2_ENGINE=$ENGINE"
    ;;
  *) echo "usage: second-node.sh up|down|env" >&2; exit 2 ;;
esac
