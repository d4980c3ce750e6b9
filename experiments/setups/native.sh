#!/usr/bin/env bash
# native: sender and receiver namespaces joined by one veth pair
# (the thesis's "native app to app on the same host").
#
#   [pktmmap-native-tx] pkm0 10.77.1.1 <--veth--> pkm0 10.77.1.2 [pktmmap-native-rx]
#                            fd00:77:1::1               fd00:77:1::2
#
# PKTMMAP_QUEUES=N gives both ends N transmit and N receive queues (default 1): a sender's
# flows then spread over the receiving end's queues by hash (xdp-rx --queues N takes them all).
. "$(dirname "$0")/lib.sh"

S=native; TX=$NS_PREFIX-$S-tx; RX=$NS_PREFIX-$S-rx; NET=1; IP6=1

case "${1:-}" in
  up)
    ns_add "$TX"; ns_add "$RX"
    Q=${PKTMMAP_QUEUES:-1}
    case "$Q" in
      ''|*[!0-9]*|0) die "PKTMMAP_QUEUES must be a number of queues, 1 or more (got '$Q')" ;;
    esac
    if ! ns_has_link "$TX" pkm0; then
      ip link add pkm0 netns "$TX" numtxqueues "$Q" numrxqueues "$Q" \
        type veth peer name pkm0 netns "$RX" numtxqueues "$Q" numrxqueues "$Q"
    fi
    dual_stack_up "$TX" "$RX" $NET
    rps_apply "$RX" pkm0
    ;;
  down) ns_del "$TX"; ns_del "$RX" ;;
  env) print_env $S "$TX" "$RX" pkm0 pkm0 $NET veth ;;
  *) usage $S ;;
esac
