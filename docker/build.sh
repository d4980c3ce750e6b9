#!/usr/bin/env bash
# Builds the pktmmap image (default tag pktmmap:latest, or $PKTMMAP_IMAGE) with no registry:
# the four tools and pktmmap-idle are linked statically against glibc (crt-static) and copied
# into an image FROM scratch.
#
#   docker/build.sh            # build and tag
#   docker/build.sh --print    # also print the image's size and each tool's size in it
set -euo pipefail
cd "$(dirname "$0")/.."
print=0
for a in "$@"; do
  case $a in
    --print) print=1 ;;
    *) echo "error: unknown argument '$a' (usage: docker/build.sh [--print])" >&2; exit 2 ;;
  esac
done
IMAGE=${PKTMMAP_IMAGE:-pktmmap:latest}
TARGET=$(rustc -vV | sed -n 's/^host: //p')
BINS=(mmap-tx mmap-rx udp-tx udp-rx xdp-tx xdp-rx pktmmap-idle)

command -v docker >/dev/null || { echo "error: docker is not installed" >&2; exit 1; }
args=()
for b in "${BINS[@]}"; do args+=(--bin "$b"); done
# --target keeps these static artifacts apart from the ordinary (dynamic) build, and keeps
# crt-static away from build scripts and proc macros.
RUSTFLAGS="${RUSTFLAGS:-} -C target-feature=+crt-static" \
  cargo build --release --locked --target "$TARGET" "${args[@]}"

ctx=$(mktemp -d)
trap 'rm -rf "$ctx"' EXIT
mkdir "$ctx/bin"
for b in "${BINS[@]}"; do
  src=target/$TARGET/release/$b
  if readelf --dynamic "$src" | grep -q NEEDED; then
    echo "error: $src needs shared libraries; the image has no libc" >&2; exit 1
  fi
  strip -o "$ctx/bin/$b" "$src"
done
cp docker/Dockerfile "$ctx/"
if ! out=$(docker build --tag "$IMAGE" "$ctx" 2>&1); then
  echo "$out" >&2; echo "error: docker build failed" >&2; exit 1
fi
echo "built $IMAGE"
if [[ $print == 1 ]]; then
  echo "image size: $(docker image inspect --format '{{.Size}}' "$IMAGE") bytes"
  for b in "${BINS[@]}"; do
    echo "  /bin/$b: $(stat -c %s "$ctx/bin/$b") bytes"
  done
fi
