#!/usr/bin/env bash
# down-all: remove every leftover of any set-up, found by name prefix, also after a run that
# was killed: namespaces pktmmap-*, host links pkm*, OVS bridges pkm*, and OVS daemons that a
# set-up started. Prints what it removed.
. "$(dirname "$0")/lib.sh"

for ns in $(ip netns list | awk '{print $1}' | grep "^$NS_PREFIX-" || true); do
  ip netns del "$ns" && echo "removed namespace $ns"
done
if command -v ovs-vsctl >/dev/null && ovs-vsctl --timeout=3 list-br >/dev/null 2>&1; then
  for br in $(ovs-vsctl --timeout=5 list-br | grep "^$IF_PREFIX" || true); do
    ovs-vsctl --timeout=10 del-br "$br" && echo "removed OVS bridge $br"
  done
fi
# Sub-interfaces (name.vid) first, then the rest; a veth's peer goes with it.
for l in $(ip -o link show | awk -F': ' '{print $2}' | cut -d@ -f1 | grep "^$IF_PREFIX" | sort -r || true); do
  if ip link show "$l" >/dev/null 2>&1; then ip link del "$l" && echo "removed link $l"; fi
done
if [ -e "$OVS_STARTED" ]; then
  ovs_stop_if_ours && echo "stopped the OVS daemons pktmmap started"
fi
exit 0
