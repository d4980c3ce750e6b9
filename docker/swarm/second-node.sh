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
#                         (an engine that died is started once more first, to stop its containers)
#   second-node.sh up --ssh
#                         the same, but reached as a remote machine is: an sshd of its own in
#                         the namespace (10.77.70.2:22, a key made for it, DOCKER_HOST set for
#                         its sessions), the image loaded with `docker save | ssh ... docker
#                         load`, and the node listed as ssh://root@10.77.70.2; put
#                         $NODE2_SSH_PATH first in PATH so that `ssh` finds its key and config
#   second-node.sh env    NODE2_ID, NODE2_ENGINE (as listed), NODE2_PID (the engine's process)
#                         and, with --ssh, NODE2_SSH_PATH and NODE2_SSH_LOG
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

SSHDIR=/run/pktmmap-node2-ssh

n2() { docker -H "$ENGINE" "$@"; }

# ssh_up: an sshd in the namespace, on the test address only, that lets in the key it makes
# and gives every session DOCKER_HOST=the second engine; an `ssh` for PATH that uses that key.
ssh_up() {
  command -v sshd >/dev/null || die "sshd is missing (apt-get install openssh-server)"
  rm -rf "$SSHDIR"
  mkdir -p -m 700 "$SSHDIR" "$SSHDIR/bin"
  # sshd's privilege separation directory; removed by down if made here.
  [ -d /run/sshd ] || { mkdir -p /run/sshd && touch "$SSHDIR/made-run-sshd"; }
  ssh-keygen -q -t ed25519 -N '' -f "$SSHDIR/host_key"
  ssh-keygen -q -t ed25519 -N '' -f "$SSHDIR/client_key"
  cp "$SSHDIR/client_key.pub" "$SSHDIR/authorized_keys"
  cat > "$SSHDIR/sshd_config" <<EOF
ListenAddress $ADDR
HostKey $SSHDIR/host_key
AuthorizedKeysFile $SSHDIR/authorized_keys
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
PidFile $SSHDIR/sshd.pid
SetEnv DOCKER_HOST=$ENGINE
EOF
  cat > "$SSHDIR/config" <<EOF
Host $ADDR
  User root
  IdentityFile $SSHDIR/client_key
  IdentitiesOnly yes
  StrictHostKeyChecking no
  UserKnownHostsFile /dev/null
  LogLevel ERROR
EOF
  printf '#!/bin/sh\nexec %s -F %s "$@"\n' "$(command -v ssh)" "$SSHDIR/config" > "$SSHDIR/bin/ssh"
  chmod 755 "$SSHDIR/bin/ssh"
  nsenter --net="/run/netns/$NS" "$(command -v sshd)" -f "$SSHDIR/sshd_config" -E "$SSHDIR/sshd.log" \
    || die "sshd did not start: $(tail -n 3 "$SSHDIR/sshd.log")"
  for _ in $(seq 50); do
    "$SSHDIR/bin/ssh" "$ADDR" true 2>/dev/null && return 0
    sleep 0.1
  done
  die "cannot log in to $ADDR over ssh: $("$SSHDIR/bin/ssh" "$ADDR" true 2>&1 | tail -n 1)"
}

ssh_down() {
  [ -d "$SSHDIR" ] || return 0
  [ ! -f "$SSHDIR/sshd.pid" ] || kill "$(cat "$SSHDIR/sshd.pid")" 2>/dev/null || true
  [ ! -f "$SSHDIR/made-run-sshd" ] || rmdir /run/sshd 2>/dev/null || true
  rm -rf "$SSHDIR"
}

node2_id() { n2 info --format '{{.Swarm.NodeID}}' 2>/dev/null; }

start_engine() {
  echo '{}' > "$CONFIG"
  mkdir -p "$DATA" "$EXEC"
  nsenter --net="/run/netns/$NS" dockerd --data-root "$DATA" --exec-root "$EXEC" \
    -H "$ENGINE" --pidfile "$PIDFILE" --storage-driver=vfs --iptables=false --bridge=none \
    --config-file "$CONFIG" >>"$EXEC.log" 2>&1 &
  for _ in $(seq 100); do n2 info >/dev/null 2>&1 && return 0; sleep 0.2; done
  return 1
}

down() {
  # An engine that died (its node lost) is started once more first: without live-restore it
  # stops the containers it left running, which nothing else could reach or clean up.
  if [ -f "$PIDFILE" ] && ! kill -0 "$(cat "$PIDFILE")" 2>/dev/null && [ -d "$DATA" ] \
     && [ -e "/run/netns/$NS" ]; then
    start_engine || echo "second-node: the dead engine did not start again: $(tail -n 3 "$EXEC.log")" >&2
  fi
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
  ssh_down
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
    start_engine || die "the second dockerd did not start: $(tail -n 3 "$EXEC.log")"
    out=$(n2 swarm join --token "$(docker swarm join-token --quiet worker)" \
      --advertise-addr $ADDR --listen-addr "$ADDR:2377" --data-path-addr $ADDR \
      "$SWARM_ADDR:2377" 2>&1) || die "the second engine could not join the swarm: $out"
    listed=$ENGINE
    if [ "${2:-}" = --ssh ]; then
      # As between two machines (README): the image over ssh, the engine reached over ssh.
      ssh_up
      out=$(docker save "$PKTMMAP_IMAGE" | "$SSHDIR/bin/ssh" $ADDR docker load 2>&1) \
        || die "cannot load $PKTMMAP_IMAGE into the second engine over ssh: $out"
      listed=ssh://root@$ADDR
    else
      out=$(docker save "$PKTMMAP_IMAGE" | n2 load 2>&1) || die "cannot load $PKTMMAP_IMAGE into the second engine: $out"
    fi
    mkdir -p "$NODES_DIR"
    echo "$listed" > "$NODES_DIR/$(node2_id)"
    for _ in $(seq 50); do
      [ "$(docker node inspect --format '{{.Status.State}}' "$(node2_id)" 2>/dev/null)" = ready ] && break
      sleep 0.2
    done
    trap - EXIT
    ;;
  down) down ;;
  env)
    id=$(node2_id)
    echo "NODE2_ID=$id"
    echo "NODE2_ENGINE=$(cat "$NODES_DIR/$id" 2>/dev/null || echo "$ENGINE")"
    echo "NODE2_PID=$(cat "$PIDFILE" 2>/dev/null)"
    if [ -d "$SSHDIR" ]; then
      echo "NODE2_SSH_PATH=$SSHDIR/bin"
      echo "NODE2_SSH_LOG=$SSHDIR/sshd.log"
    fi
    ;;
  *) echo "usage: second-node.sh up [--ssh]|down|env" >&2; exit 2 ;;
esac
