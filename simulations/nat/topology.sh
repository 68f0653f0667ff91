# shellcheck shell=bash
# The NAT testbed's network: sourced by run.sh (and by anyone who wants the topology alone).
#
#   internet segment 11.100.0.0/24 (a bridge in namespace $P-inet)
#     ├── relay/bootstrap node: 11.100.0.10, in $P-inet itself
#     ├── router A ($P-ra): WAN 11.100.0.2, LAN 10.1.0.1  ── provider ($P-a): 10.1.0.2
#     └── router B ($P-rb): WAN 11.100.0.3, LAN 10.2.0.1  ── renter   ($P-b): 10.2.0.2
#
# Routers masquerade their LAN behind their WAN address with nftables. "cone" is Linux's plain
# masquerade: it keeps the source port where it can and reuses one mapping for every destination
# (endpoint-independent mapping; filtering is address-and-port-dependent, through conntrack).
# "symmetric" adds `fully-random`: each new destination gets a new random source port.
# Nothing on the internet segment has a route to either LAN, exactly as on the internet.
#
# Every address lives inside namespaces made here; nothing is routed to the host or beyond (no
# namespace has a link out). The internet segment uses addresses outside the private ranges on
# purpose: libp2p and ionet-p2p treat 10/8, 172.16/12, 192.168/16, 100.64/10 and the
# documentation ranges as private, and the point is to look like the internet to them.

NAT_PREFIX=${NAT_PREFIX:-ionat$$}
NS_INET="$NAT_PREFIX-inet"
NS_RA="$NAT_PREFIX-ra"
NS_RB="$NAT_PREFIX-rb"
NS_A="$NAT_PREFIX-a"
NS_B="$NAT_PREFIX-b"
RELAY_IP=11.100.0.10
ROUTER_A_WAN=11.100.0.2
ROUTER_B_WAN=11.100.0.3
PROVIDER_IP=10.1.0.2
RENTER_IP=10.2.0.2

nat_ns() { ip netns exec "$1" "${@:2}"; }

# topology_up CONE_OR_SYMMETRIC_B DELAY_MS
topology_up() {
  local mode_b=$1 delay_ms=${2:-0}
  for ns in "$NS_INET" "$NS_RA" "$NS_RB" "$NS_A" "$NS_B"; do
    ip netns add "$ns"
    nat_ns "$ns" ip link set lo up
  done
  nat_ns "$NS_INET" ip link add br0 type bridge
  nat_ns "$NS_INET" ip link set br0 up
  nat_ns "$NS_INET" ip addr add "$RELAY_IP/24" dev br0

  # veth names are per namespace once moved; create each pair with short temporary names.
  _wan_link "$NS_RA" "$ROUTER_A_WAN"
  _wan_link "$NS_RB" "$ROUTER_B_WAN"
  _lan_link "$NS_RA" "$NS_A" 10.1.0.1 "$PROVIDER_IP"
  _lan_link "$NS_RB" "$NS_B" 10.2.0.1 "$RENTER_IP"

  _router_nat "$NS_RA" 10.1.0.0/24 cone
  _router_nat "$NS_RB" 10.2.0.0/24 "$mode_b"

  if [ "$delay_ms" -gt 0 ]; then
    # Half the delay on each side of each router: a LAN host to the internet is DELAY_MS one way.
    local half=$((delay_ms / 2))
    for r in "$NS_RA" "$NS_RB"; do
      nat_ns "$r" tc qdisc add dev wan root netem delay "${half}ms"
      nat_ns "$r" tc qdisc add dev lan root netem delay "${half}ms"
    done
  fi
}

_wan_link() {
  local router=$1 addr=$2 tmp="v$RANDOM$RANDOM"
  ip link add "${tmp}w" type veth peer name "${tmp}b"
  ip link set "${tmp}w" netns "$router"
  ip link set "${tmp}b" netns "$NS_INET"
  nat_ns "$router" ip link set "${tmp}w" name wan
  nat_ns "$router" ip addr add "$addr/24" dev wan
  nat_ns "$router" ip link set wan up
  nat_ns "$NS_INET" ip link set "${tmp}b" master br0
  nat_ns "$NS_INET" ip link set "${tmp}b" up
}

_lan_link() {
  local router=$1 host=$2 gw=$3 addr=$4 tmp="v$RANDOM$RANDOM"
  ip link add "${tmp}l" type veth peer name "${tmp}h"
  ip link set "${tmp}l" netns "$router"
  ip link set "${tmp}h" netns "$host"
  nat_ns "$router" ip link set "${tmp}l" name lan
  nat_ns "$router" ip addr add "$gw/24" dev lan
  nat_ns "$router" ip link set lan up
  nat_ns "$host" ip link set "${tmp}h" name eth0
  nat_ns "$host" ip addr add "$addr/24" dev eth0
  nat_ns "$host" ip link set eth0 up
  nat_ns "$host" ip route add default via "$gw"
}

_router_nat() {
  local router=$1 lan=$2 mode=$3 flags=""
  [ "$mode" = symmetric ] && flags="fully-random"
  nat_ns "$router" sysctl -qw net.ipv4.ip_forward=1
  nat_ns "$router" nft add table ip nat
  nat_ns "$router" nft add chain ip nat postrouting '{ type nat hook postrouting priority srcnat; policy accept; }'
  nat_ns "$router" nft add rule ip nat postrouting ip saddr "$lan" oifname wan masquerade $flags
  # Like a home router: nothing from the WAN reaches the LAN unless conntrack knows the flow.
  nat_ns "$router" nft add table ip filter
  nat_ns "$router" nft add chain ip filter forward '{ type filter hook forward priority filter; policy drop; }'
  nat_ns "$router" nft add rule ip filter forward iifname lan oifname wan accept
  nat_ns "$router" nft add rule ip filter forward ct state established,related accept
  # Unsolicited packets to the router itself are dropped before conntrack confirms them. Were
  # they let through (to be refused with an ICMP error), each would leave a conntrack entry that
  # clashes with the LAN host's own mapping when it then sends to that peer, and masquerade would
  # move the host to another port: exactly what a simultaneous open (hole punching) sends first.
  nat_ns "$router" nft add chain ip filter input '{ type filter hook input priority filter; policy accept; }'
  nat_ns "$router" nft add rule ip filter input iifname wan ct state new drop
}

# Whether the kernel has netem (some, such as Firecracker guests, are built without it).
netem_available() {
  local probe="$NAT_PREFIX-probe" ok=1
  ip netns add "$probe" || return 1
  if nat_ns "$probe" tc qdisc add dev lo root netem delay 1ms 2>/dev/null; then ok=0; fi
  ip netns del "$probe"
  return $ok
}

topology_down() {
  for ns in "$NS_A" "$NS_B" "$NS_RA" "$NS_RB" "$NS_INET"; do
    if ip netns pids "$ns" >/dev/null 2>&1; then
      for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$pid" 2>/dev/null || true; done
      ip netns del "$ns" 2>/dev/null || true
    fi
  done
}
