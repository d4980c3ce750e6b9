#!/usr/bin/env bash
# native: sender and receiver namespaces joined by one veth pair
# (the thesis's "native app to app on the same host").
#
#   [pktmmap-native-tx] pkm0 10.77.1.1 <--veth--> pkm0 10.77.1.2 [pktmmap-native-rx]
#                            fd00:77:1::1               fd00:77:1::2
. "$(dirname "$0")/lib.sh"

S=native; TX=$NS_PREFIX-$S-tx; RX=$NS_PREFIX-$S-rx; NET=1; IP6=1

case "${1:-}" in
  up)
    ns_add "$TX"; ns_add "$RX"
    if ! ns_has_link "$TX" pkm0; then
      ip link add pkm0 netns "$TX" type veth peer name pkm0 netns "$RX"
    fi
    dual_stack_up "$TX" "$RX" $NET
    rps_apply "$RX" pkm0
    ;;
  down) ns_del "$TX"; ns_del "$RX" ;;
  env) print_env $S "$TX" "$RX" pkm0 pkm0 $NET veth ;;
  *) usage $S ;;
esac
