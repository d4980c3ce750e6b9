#!/usr/bin/env bash
# bridge-conntrack: the bridge set-up (bridge.sh) with connection tracking in its path:
# br_netfilter hands every bridged frame to the switch namespace's netfilter, where an nft
# table matches `ct state` (accepting everything), so each packet is looked up in conntrack
# and each new flow (a new source port) makes an entry. What stateful filtering of container
# traffic costs, per packet and per flow (run it with a profile that varies `flows`).
#
#   [pktmmap-bridge-conntrack-tx] pkm0 10.77.7.1 --veth-- pkmtx \
#                                                  pkmbr0 + conntrack [pktmmap-bridge-conntrack-sw]
#   [pktmmap-bridge-conntrack-rx] pkm0 10.77.7.2 --veth-- pkmrx /
SETUP_VARIANT=bridge-conntrack exec "$(dirname "$0")/bridge.sh" "$@"
