#!/usr/bin/env bash
# ovs (docker engine): the tool containers, started with no network, attached to an Open
# vSwitch bridge the way `ovs-docker add-port BRIDGE eth0 CONTAINER` does it: a veth pair, one
# end moved into the container's namespace as eth0, the other a port of the bridge carrying
# external_ids container_id and container_iface.
#
# Datapath: the kernel one where the openvswitch module exists, otherwise OVS's userspace
# datapath (netdev), with TX checksum offload off on the containers' veths; `env` says which.
#
#   [pktmmap-ovs-tx] eth0 10.77.13.1, fd00:77:13::1 --veth-- pkmdovstx \
#                                                      pkmdovs0 (OVS, host namespace)
#   [pktmmap-ovs-rx] eth0 10.77.13.2, fd00:77:13::2 --veth-- pkmdovsrx /
. "$(dirname "$0")/lib.sh"

M=ovs; NET=13; IP6=1; BR=pkmdovs0

case "${1:-}" in
  up)
    docker_ready
    ovs_start
    DP=$(ovs_datapath)
    ovs_add_bridge $BR "$DP"
    compose_up $M
    for side in tx rx; do
      ns=$NS_PREFIX-dk-$M-$side; host=pkmdovs$side; n=1; [ $side = rx ] && n=2
      if ! ns_has_link "$ns" eth0; then
        link_del $host
        ip link add $host type veth peer name ${host}c
        ip link set ${host}c netns "$ns"
        ip -n "$ns" link set ${host}c name eth0
      fi
      ovs_port $BR "$DP" $host "$ns" eth0 \
        -- set interface $host external_ids:container_id=pktmmap-$M-$side external_ids:container_iface=eth0
      addr_up "$ns" eth0 10.77.$NET.$n/24
      # A container without a Docker network has IPv6 off in its namespace; this one gets it,
      # on the test subnet only.
      ip netns exec "$ns" sysctl -qw net.ipv6.conf.eth0.disable_ipv6=0
      addr6_up "$ns" eth0 fd00:77:$NET::$n/64
    done
    rps_apply "$NS_PREFIX-dk-$M-rx" eth0
    ;;
  down)
    ovs_down $BR pkmdovstx pkmdovsrx
    compose_down $M
    ovs_stop_if_ours
    ;;
  env)
    DP=$(ovs_bridge_datapath $BR)
    docker_env $M $NET "ovs-$DP" "containers on Open vSwitch, $DP datapath (ovs-docker style)"
    echo "OVS_BRIDGE=$BR"
    ;;
  *) usage $M ;;
esac
