#!/usr/bin/env bash
# ovs: each namespace attached to an Open vSwitch bridge, the way `ovs-docker add-port` does it
# (veth: one end in the namespace, the other a port of the bridge).
#
# Datapath: the kernel one where the openvswitch module exists, otherwise OVS's userspace
# datapath (datapath_type=netdev); `env` says which ran. With the userspace datapath, OVS
# copies frames between the veths byte for byte, so the namespaces' veths get TX checksum
# offload off (ethtool -K pkm0 tx off): otherwise a UDP socket's partially-checksummed
# packets would arrive with a checksum nobody completed.
#
# ovsdb-server and ovs-vswitchd are started if they are not running, and stopped by "down"
# only if this script started them.
#
#   [pktmmap-ovs-tx] pkm0 10.77.3.1 --veth-- pkmovstx \
#                                                    pkmovs0 (OVS, host namespace)
#   [pktmmap-ovs-rx] pkm0 10.77.3.2 --veth-- pkmovsrx /
. "$(dirname "$0")/lib.sh"

S=ovs; TX=$NS_PREFIX-$S-tx; RX=$NS_PREFIX-$S-rx; NET=3; IP6=1; BR=pkmovs0

case "${1:-}" in
  up)
    ovs_start
    DP=$(ovs_datapath)
    ovs_add_bridge $BR "$DP"
    ns_add "$TX"; ns_add "$RX"
    for side in tx rx; do
      ns=$TX; [ $side = rx ] && ns=$RX
      if ! ip link show pkmovs$side >/dev/null 2>&1; then
        ip link add pkm0 netns "$ns" type veth peer name pkmovs$side
      fi
      ovs_port $BR "$DP" pkmovs$side "$ns" pkm0
    done
    dual_stack_up "$TX" "$RX" $NET
    rps_apply "$RX" pkm0
    ;;
  down)
    ovs_down $BR pkmovstx pkmovsrx
    ns_del "$TX"; ns_del "$RX"
    ovs_stop_if_ours
    ;;
  env)
    DP=$(ovs_bridge_datapath $BR)
    print_env $S "$TX" "$RX" pkm0 pkm0 $NET "ovs-$DP" "Open vSwitch $DP datapath"
    echo "OVS_BRIDGE=$BR"
    ;;
  *) usage $S ;;
esac
