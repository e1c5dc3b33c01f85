#!/bin/sh
# busybox udhcpc's event script for a WAN link on a gateway without systemd-networkd (the lab).
# It sets the leased address and a default route with the link's metric
# (PROVISION_ROUTE_METRIC, from the role; the primary's is lowest). Failover does not touch
# these routes: provision-failover adds a lower-metric route of its own.
set -eu
metric="${PROVISION_ROUTE_METRIC:?PROVISION_ROUTE_METRIC is not set}"
case "$1" in
    deconfig)
        ip -4 address flush dev "$interface"
        ip link set dev "$interface" up
        ;;
    bound)
        ip -4 address flush dev "$interface"
        ip address add "$ip/$mask" dev "$interface"
        for router in ${router:-}; do
            ip route replace default via "$router" dev "$interface" metric "$metric"
            break
        done
        ;;
    renew)
        ip address replace "$ip/$mask" dev "$interface"
        for router in ${router:-}; do
            ip route replace default via "$router" dev "$interface" metric "$metric"
            break
        done
        ;;
esac
