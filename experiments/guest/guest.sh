#!/usr/bin/env bash
# The guest harness: runs pktmmap inside a QEMU guest booted with Debian's own kernel, where
# the modules this host lacks exist (8021q, openvswitch, dummy, ipvlan, netem, pktgen).
#
#   guest.sh image                 build the guest image, or reuse the cached one; prints its dir
#   guest.sh run OUT PROGRAM [ARG...]
#                                  boot a fresh copy of the image, run PROGRAM ARG... inside
#                                  (the tools and experiments/ are in PATH and cwd), shut down,
#                                  and bring back into OUT: output.log (what PROGRAM printed),
#                                  rc, accel, kernel (the guest's uname -r), boot-kernel (the
#                                  release of the image's vmlinuz), console.log and whatever PROGRAM wrote to
#                                  $PKTMMAP_GUEST_OUT. Exits with PROGRAM's exit code.
#
# The image (debootstrap, minbase, packages.txt) is cached under $PKTMMAP_GUEST_CACHE (default
# target/guest) and rebuilt when packages.txt, the suite or the mirror change. Every run boots
# a copy-on-write overlay of it, so runs never see each other's leftovers. The tools come from a
# statically linked build (the one docker/build.sh makes) and travel with experiments/ on a
# second virtio disk, which also brings the results back (read with debugfs; nothing mounted).
#
# Acceleration: KVM where /dev/kvm works, detected by the guest reaching its init within
# $PKTMMAP_GUEST_KVM_WAIT seconds (default 20; nested KVM often hangs at kernel entry);
# otherwise TCG emulation. PKTMMAP_GUEST_ACCEL=kvm|tcg forces one. Which one ran is in OUT/accel
# and, inside the guest, in PKTMMAP_EMULATED (tcg) that the runner records in every row: an
# emulated guest proves correctness, never speed.
#
# Network: the guest has no NIC at all (-nic none); its test traffic stays in namespaces inside
# the guest. Nothing it does reaches the host's network.
#
# Exit codes: PROGRAM's own; 70 the guest did not boot or the command hung (the console tail
# is printed); 71 the image could not be built; 2 usage.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
CACHE=${PKTMMAP_GUEST_CACHE:-$REPO/target/guest}
SUITE=${PKTMMAP_GUEST_SUITE:-bookworm}
MIRROR=${PKTMMAP_GUEST_MIRROR:-http://deb.debian.org/debian}
BOOT_WAIT=${PKTMMAP_GUEST_BOOT_WAIT:-240}
KVM_WAIT=${PKTMMAP_GUEST_KVM_WAIT:-20}
TIMEOUT=${PKTMMAP_GUEST_TIMEOUT:-1800}
# The tools the guest gets (statically linked: the guest's libc does not matter).
BINS=(pktmmap mmap-tx mmap-rx udp-tx udp-rx xdp-tx xdp-rx pktmmap-idle)

usage() { sed -n '5,12p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
note() { echo "guest: $*" >&2; }

# image_key: what the image is made of; a change makes a new image.
image_key() {
  { grep -v '^#' "$HERE/packages.txt"; echo "$SUITE $MIRROR"; cat "$HERE/image-init"; } \
    | sha256sum | cut -c1-16
}

packages() { grep -v '^#' "$HERE/packages.txt" | grep . | paste -sd, -; }

build_image() {
  local key dir tmp
  key=$(image_key); dir=$CACHE/image-$key
  if [ -s "$dir/rootfs.img" ] && [ -s "$dir/vmlinuz" ] && [ -s "$dir/initrd.img" ]; then
    echo "$dir"; return 0
  fi
  for tool in debootstrap mkfs.ext4 qemu-img; do
    command -v $tool >/dev/null || { note "$tool is not installed (apt-get install debootstrap e2fsprogs qemu-utils)"; exit 71; }
  done
  mkdir -p "$CACHE"
  tmp=$(mktemp -d "$CACHE/build.XXXXXX")
  trap 'rm -rf "$tmp"' RETURN
  note "building the $SUITE image (debootstrap, about two minutes): $(packages)"
  if ! debootstrap --variant=minbase --include="$(packages)" "$SUITE" "$tmp/rootfs" "$MIRROR" \
      > "$tmp/debootstrap.log" 2>&1; then
    tail -20 "$tmp/debootstrap.log" >&2; note "debootstrap failed"; exit 71
  fi
  install -m 0755 "$HERE/image-init" "$tmp/rootfs/pktmmap-init"
  echo pktmmap-guest > "$tmp/rootfs/etc/hostname"
  # The daemons are started by the set-up scripts when needed, never at boot.
  cp "$tmp"/rootfs/boot/vmlinuz-* "$tmp/vmlinuz"
  cp "$tmp"/rootfs/boot/initrd.img-* "$tmp/initrd.img"
  rm -rf "$tmp"/rootfs/var/cache/apt/archives/*.deb
  if ! mkfs.ext4 -q -F -L pktmmap-root -d "$tmp/rootfs" "$tmp/rootfs.img" 2G > "$tmp/mkfs.log" 2>&1; then
    cat "$tmp/mkfs.log" >&2; note "mkfs.ext4 failed"; exit 71
  fi
  rm -rf "$tmp/rootfs"
  mkdir -p "$dir"
  mv "$tmp/rootfs.img" "$tmp/vmlinuz" "$tmp/initrd.img" "$dir/"
  packages > "$dir/packages"
  note "image ready in $dir"
  echo "$dir"
}

# static_tools DIR: the statically linked tools, built as docker/build.sh builds them.
static_tools() {
  local target args=()
  target=$(rustc -vV | sed -n 's/^host: //p')
  for b in "${BINS[@]}"; do args+=(--bin "$b"); done
  (cd "$REPO" && RUSTFLAGS="${RUSTFLAGS:-} -C target-feature=+crt-static" \
    cargo build --quiet --release --locked --target "$target" "${args[@]}") >&2
  mkdir -p "$1"
  for b in "${BINS[@]}"; do
    local src=$REPO/target/$target/release/$b
    if readelf --dynamic "$src" | grep -q NEEDED; then
      note "$src needs shared libraries; the guest gets static tools only"; exit 71
    fi
    strip -o "$1/$b" "$src"
  done
}

# boot ACCEL WORK: boots the guest in the background; sets QEMU_PID.
boot() {
  local accel=$1 work=$2 cpu=max
  [ "$accel" = kvm ] && cpu=host
  rm -f "$work/root.qcow2" "$work/console.log"
  qemu-img create -q -f qcow2 -F raw -b "$IMAGE/rootfs.img" "$work/root.qcow2"
  cp --sparse=always "$work/io.clean.img" "$work/io.img"
  qemu-system-x86_64 -accel "$accel" -cpu "$cpu" -smp 2 -m 2048 \
    -display none -no-reboot -nic none -monitor none \
    -serial "file:$work/console.log" \
    -kernel "$IMAGE/vmlinuz" -initrd "$IMAGE/initrd.img" \
    -drive "file=$work/root.qcow2,format=qcow2,if=virtio" \
    -drive "file=$work/io.img,format=raw,if=virtio" \
    -append "root=/dev/vda rw console=ttyS0 init=/pktmmap-init panic=-1 pktmmap.accel=$accel" \
    > "$work/qemu.log" 2>&1 &
  QEMU_PID=$!
}

# wait_for WORK PATTERN SECONDS: 0 once the console shows PATTERN, 1 on timeout or exit.
wait_for() {
  local by=$((SECONDS + $3))
  while [ $SECONDS -lt "$by" ]; do
    grep -q "$2" "$1/console.log" 2>/dev/null && return 0
    kill -0 "$QEMU_PID" 2>/dev/null || { grep -q "$2" "$1/console.log" 2>/dev/null; return; }
    sleep 1
  done
  return 1
}

stop_qemu() {
  if [ -n "${QEMU_PID:-}" ] && kill -0 "$QEMU_PID" 2>/dev/null; then
    kill "$QEMU_PID" 2>/dev/null || true
    sleep 1
    kill -9 "$QEMU_PID" 2>/dev/null || true
  fi
  wait "${QEMU_PID:-0}" 2>/dev/null || true
  QEMU_PID=
}

fail() {
  note "$*"
  echo "--- the guest's console, last 40 lines ---" >&2
  if [ -s "$WORK/console.log" ]; then tail -40 "$WORK/console.log" | tr -d '\r' >&2; else echo "(empty)" >&2; fi
  [ -s "$WORK/qemu.log" ] && cat "$WORK/qemu.log" >&2
  exit 70
}

# bzimage_release FILE: the kernel release a bzImage carries (x86 boot protocol: the 16-bit
# offset at 0x20e, plus 0x200, points at the version string, whose first word it is).
bzimage_release() {
  local at version
  at=$(od -An -tu2 -j $((0x20e)) -N2 "$1" | tr -d ' ')
  # dd reads exactly the bytes wanted: no reader stops early, so pipefail sees no SIGPIPE.
  version=$(dd if="$1" bs=1 skip=$((at + 0x200)) count=256 status=none | tr '\0' '\n')
  version=${version%%$'\n'*}
  echo "${version%% *}"
}

run() {
  [ $# -ge 2 ] || usage
  local out=$1; shift
  command -v qemu-system-x86_64 >/dev/null || { note "qemu-system-x86_64 is not installed (apt-get install qemu-system-x86)"; exit 71; }
  command -v debugfs >/dev/null || { note "debugfs is not installed (apt-get install e2fsprogs)"; exit 71; }
  IMAGE=$(build_image)
  mkdir -p "$CACHE" "$out"
  WORK=$(mktemp -d "$CACHE/run.XXXXXX")
  trap 'stop_qemu; rm -rf "$WORK"' EXIT
  trap 'exit 130' INT TERM

  # The I/O disk: tools, experiments/, the command (NUL-separated arguments, never a shell
  # line), and out/ for what comes back.
  local io=$WORK/io
  mkdir -p "$io/out"
  static_tools "$io/bin"
  cp -r "$REPO/experiments" "$io/experiments"
  install -m 0755 "$HERE/guest-init" "$io/guest-init"
  printf '%s\0' "$@" > "$io/argv"
  git -C "$REPO" rev-parse --short=12 HEAD > "$io/git-commit" 2>/dev/null || echo unknown > "$io/git-commit"
  mkfs.ext4 -q -F -L pktmmap-io -d "$io" "$WORK/io.clean.img" 1G >/dev/null

  local accel=${PKTMMAP_GUEST_ACCEL:-auto}
  if [ "$accel" = auto ]; then
    accel=tcg
    if [ -w /dev/kvm ]; then
      boot kvm "$WORK"
      if wait_for "$WORK" 'pktmmap-guest: init' "$KVM_WAIT"; then
        accel=kvm
      else
        note "KVM did not reach the guest's init within ${KVM_WAIT}s (nested KVM hangs here): using TCG"
        stop_qemu
      fi
    fi
  fi
  if [ -z "${QEMU_PID:-}" ]; then
    boot "$accel" "$WORK"
    wait_for "$WORK" 'pktmmap-guest: init' "$BOOT_WAIT" \
      || { stop_qemu; fail "the guest ($accel) did not reach its init within ${BOOT_WAIT}s"; }
  fi
  note "guest up ($accel): $(grep -a -m1 'pktmmap-guest: init' "$WORK/console.log" | tr -d '\r')"
  wait_for "$WORK" 'pktmmap-guest: done' "$TIMEOUT" \
    || { stop_qemu; fail "the command did not finish within ${TIMEOUT}s"; }
  # The guest powers itself off after syncing the I/O disk.
  local by=$((SECONDS + 60))
  while kill -0 "$QEMU_PID" 2>/dev/null && [ $SECONDS -lt $by ]; do sleep 1; done
  stop_qemu

  debugfs -R "rdump /out $WORK" "$WORK/io.img" >/dev/null 2>"$WORK/debugfs.log" \
    || fail "cannot read the results off the I/O disk: $(cat "$WORK/debugfs.log")"
  [ -s "$WORK/out/rc" ] || fail "the guest left no exit code"
  cp -r "$WORK/out/." "$out/"
  echo "$accel" > "$out/accel"
  bzimage_release "$IMAGE/vmlinuz" > "$out/boot-kernel"
  tr -d '\r' < "$WORK/console.log" > "$out/console.log"
  cat "$out/output.log"
  return "$(cat "$out/rc")"
}

case "${1:-}" in
  image) build_image ;;
  run) shift; run "$@" ;;
  *) usage ;;
esac
