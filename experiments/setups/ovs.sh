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

S=ovs; TX=$NS_PREFIX-$S-tx; RX=$NS_PREFIX-$S-rx; NET=3; BR=pkmovs0
STATE=/run/pktmmap; STARTED=$STATE/ovs-started-by-pktmmap
OVS_CTL=/usr/share/openvswitch/scripts/ovs-ctl

datapath() {
  if [ -d /sys/module/openvswitch ] || modprobe -q openvswitch 2>/dev/null; then echo system; else echo netdev; fi
}

ovs_running() { [ -x $OVS_CTL ] && $OVS_CTL status >/dev/null 2>&1; }

case "${1:-}" in
  up)
    command -v ovs-vsctl >/dev/null || skip "Open vSwitch is not installed (apt-get install openvswitch-switch)"
    if ! ovs_running; then
      [ -x $OVS_CTL ] || skip "ovs-ctl not found at $OVS_CTL"
      $OVS_CTL --system-id=random --no-mlockall --no-record-hostname start >/dev/null 2>&1 \
        || die "could not start ovsdb-server and ovs-vswitchd with ovs-ctl"
      mkdir -p $STATE; touch $STARTED
    fi
    DP=$(datapath)
    if [ "$DP" = netdev ] && ! command -v ethtool >/dev/null; then
      die "the userspace datapath needs ethtool to turn off TX checksum offload (apt-get install ethtool)"
    fi
    ovs-vsctl --timeout=10 --may-exist add-br $BR -- set bridge $BR datapath_type=$DP
    ip link set $BR up 2>/dev/null || true
    ns_add "$TX"; ns_add "$RX"
    for side in tx rx; do
      ns=$TX; [ $side = rx ] && ns=$RX
      if ! ip link show pkmovs$side >/dev/null 2>&1; then
        ip link add pkm0 netns "$ns" type veth peer name pkmovs$side
      fi
      quiet_host_link pkmovs$side
      ip link set pkmovs$side up
      ovs-vsctl --timeout=10 --may-exist add-port $BR pkmovs$side
      if [ "$DP" = netdev ]; then ip netns exec "$ns" ethtool -K pkm0 tx off >/dev/null; fi
    done
    addr_up "$TX" pkm0 10.77.$NET.1/24
    addr_up "$RX" pkm0 10.77.$NET.2/24
    ;;
  down)
    if command -v ovs-vsctl >/dev/null && ovs_running; then
      ovs-vsctl --timeout=10 --if-exists del-br $BR
    fi
    link_del pkmovstx; link_del pkmovsrx
    ns_del "$TX"; ns_del "$RX"
    if [ -e $STARTED ]; then
      $OVS_CTL stop >/dev/null 2>&1 || true
      rm -f $STARTED
    fi
    ;;
  env)
    DP=unknown
    if command -v ovs-vsctl >/dev/null && ovs_running; then
      DP=$(ovs-vsctl --timeout=5 get bridge $BR datapath_type 2>/dev/null | tr -d '"' || echo unknown)
    fi
    print_env $S "$TX" "$RX" pkm0 pkm0 $NET "ovs-$DP" "Open vSwitch $DP datapath"
    ;;
  *) usage $S ;;
esac
