# Shared by the Docker set-up scripts; sourced, not run. They follow the protocol of
# experiments/setups (whose lib.sh this sources): "up | down | env", exit 0 done, 1 failed,
# 3 skipped on this machine (the reason printed after "SKIP: "), and "env" prints the KEY=VALUE
# lines the runner reads, plus TX_CONTAINER and RX_CONTAINER.
#
# Conventions:
#   compose      project pktmmap-<mode>, file docker/compose/<mode>.yml
#   containers   pktmmap-<mode>-tx and pktmmap-<mode>-rx, image $PKTMMAP_IMAGE (pktmmap:latest)
#   namespaces   each container's network namespace is also named pktmmap-dk-<mode>-tx|rx
#                (ip netns attach) so that host-side tools (nft, ethtool, sysfs) can reach it;
#                deleting the name leaves the container alone
#   links        host-side links and Docker bridges start with "pkmd"
#   addresses    10.77.<n>.1 (sender), 10.77.<n>.2 (receiver), gateway .254; they exist only
#                inside these networks, and the bridge network is internal (no route out)
# Nothing here ever touches eth0 or any other existing interface.
. "$(dirname "$0")/../../experiments/setups/lib.sh"

DOCKER_DIR=$(cd "$(dirname "$0")/.." && pwd)
export PKTMMAP_IMAGE=${PKTMMAP_IMAGE:-pktmmap:latest}

# compose MODE ARGS...: docker compose (v2) or docker-compose (v1) on the mode's file.
compose() {
  local mode=$1; shift
  local files=(-f "$DOCKER_DIR/compose/$mode.yml")
  # AF_XDP runs: the capabilities xdp-tx and xdp-rx need (docker/compose/xdp.yml).
  if [ "${PKTMMAP_XDP:-}" = 1 ]; then files+=(-f "$DOCKER_DIR/compose/xdp.yml"); fi
  if docker compose version >/dev/null 2>&1; then
    docker compose -p "pktmmap-$mode" "${files[@]}" "$@"
  elif command -v docker-compose >/dev/null; then
    docker-compose -p "pktmmap-$mode" "${files[@]}" "$@"
  else
    die "neither 'docker compose' nor docker-compose is installed (apt-get install docker-compose)"
  fi
}

# docker_ready: skip (exit 3) without a Docker engine; fail without the image.
docker_ready() {
  command -v docker >/dev/null || skip "Docker is not installed"
  docker info >/dev/null 2>&1 || skip "the Docker engine is not running (docker info failed)"
  docker image inspect "$PKTMMAP_IMAGE" >/dev/null 2>&1 \
    || die "image $PKTMMAP_IMAGE not found: build it with docker/build.sh"
}

# container_pid NAME: the PID (in the host's PID namespace) of a running container's init.
container_pid() {
  local pid
  pid=$(docker inspect --format '{{.State.Pid}}' "$1" 2>/dev/null) || die "container $1 does not exist"
  [ -n "$pid" ] && [ "$pid" != 0 ] || die "container $1 is not running"
  echo "$pid"
}

# attach_ns NAME CONTAINER: name the container's network namespace (idempotent).
attach_ns() {
  ns_del "$1"
  ip netns attach "$1" "$(container_pid "$2")"
}

# compose_up MODE: start the mode's tx and rx containers and name their namespaces.
compose_up() {
  local out
  out=$(compose "$1" up --detach --no-build 2>&1) || die "docker compose up ($1) failed: $out"
  attach_ns "$NS_PREFIX-dk-$1-tx" "pktmmap-$1-tx"
  attach_ns "$NS_PREFIX-dk-$1-rx" "pktmmap-$1-rx"
  [ "$1" = ovs ] || rps_apply "$NS_PREFIX-dk-$1-rx" eth0
}

# compose_down MODE: remove the containers and the network, also when the compose file's
# variables or the project are half made.
compose_down() {
  ns_del "$NS_PREFIX-dk-$1-tx"; ns_del "$NS_PREFIX-dk-$1-rx"
  if command -v docker >/dev/null && docker info >/dev/null 2>&1; then
    compose "$1" down --remove-orphans --timeout 3 >/dev/null 2>&1 || true
    docker rm --force "pktmmap-$1-tx" "pktmmap-$1-rx" >/dev/null 2>&1 || true
    docker network rm "pktmmap-$1" >/dev/null 2>&1 || true
  fi
}

# docker_env MODE NET DATAPATH NOTE: the env lines for the runner.
docker_env() {
  print_env "$1" "$NS_PREFIX-dk-$1-tx" "$NS_PREFIX-dk-$1-rx" eth0 eth0 "$2" "$3" "$4"
  echo "TX_CONTAINER=pktmmap-$1-tx"
  echo "RX_CONTAINER=pktmmap-$1-rx"
}
