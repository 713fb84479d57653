#!/bin/sh
# Interception as istio-init / istio-iptables sets it up in a pod's network namespace: the rules,
# chain names and order Istio's own capture code (tools/istio-iptables) writes for the same flags.
# The lab runs Istio's code itself (lab/istio-iptables, built from the pinned Istio module); this
# script is its stand-in on a machine without Go, and test/unit/interception-rules.test.ts holds
# the two to the same rules. Run inside the pod's namespace (netns) or container (NET_ADMIN).
#
#   istio-iptables.sh [-p 15001] [-z 15006] [-u 1337] [-g 1337] [-i '*'] [-x CIDR[,CIDR...]] [-b '*' [-m REDIRECT|TPROXY]]
#     -p  Envoy's outbound capture port (virtualOutbound)
#     -z  Envoy's inbound capture port (virtualInbound)
#     -u  uid whose traffic is not captured (Envoy's own)
#     -g  gid whose traffic is not captured
#     -i  outbound ranges to capture: '*' (all, the default here; the only value supported)
#     -x  excludeOutboundIPRanges: destinations that bypass the sidecar
#         (traffic.sidecar.istio.io/excludeOutboundIPRanges)
#     -b  inbound ports to capture ('*' = all; empty = no inbound capture, the default here)
#     -m  inbound capture mode (sidecar.istio.io/interceptionMode): REDIRECT (nat, the app sees
#         connections from 127.0.0.6) or TPROXY (mangle + policy routing, the client's address kept)
set -eu
PORT=15001 INPORT=15006 UID_=1337 GID_=1337 EXCLUDE="" INBOUND="" MODE=REDIRECT
while getopts "p:z:u:g:i:x:b:m:" opt; do
  case "$opt" in
    p) PORT=$OPTARG ;; z) INPORT=$OPTARG ;; u) UID_=$OPTARG ;; g) GID_=$OPTARG ;; x) EXCLUDE=$OPTARG ;; b) INBOUND=$OPTARG ;; m) MODE=$OPTARG ;;
    i) [ "$OPTARG" = '*' ] || { echo "$0: -i supports '*' only, got $OPTARG" >&2; exit 2; } ;;
    *) echo "usage: $0 [-p port] [-z port] [-u uid] [-g gid] [-i '*'] [-x cidr,...] [-b '*' [-m REDIRECT|TPROXY]]" >&2; exit 2 ;;
  esac
done
case "$MODE" in REDIRECT|TPROXY) ;; *) echo "$0: -m must be REDIRECT or TPROXY, got $MODE" >&2; exit 2 ;; esac

ipt() { iptables -w -t nat "$@"; }
mangle() { iptables -w -t mangle "$@"; }

if [ -n "$INBOUND" ] && [ "$MODE" = TPROXY ]; then
  # TPROXY: no NAT for inbound. Inbound packets are marked 1337 and delivered to Envoy's
  # transparent socket on 15006 as they are (destination and source unchanged); Envoy's upstream
  # connection to the app keeps the client's address (original_src, mark 1337), and the app's
  # replies are routed back to Envoy by the connection mark and table 133.
  mangle -N ISTIO_DIVERT
  mangle -N ISTIO_TPROXY
  mangle -N ISTIO_INBOUND
  mangle -A ISTIO_DIVERT -j MARK --set-mark 1337
  mangle -A ISTIO_DIVERT -j ACCEPT
  mangle -A ISTIO_TPROXY ! -d 127.0.0.1/32 -p tcp -j TPROXY --tproxy-mark 1337/0xffffffff --on-port "$INPORT"
  mangle -A PREROUTING -p tcp -j ISTIO_INBOUND
  mangle -A ISTIO_INBOUND -p tcp -m conntrack --ctstate RELATED,ESTABLISHED -j ISTIO_DIVERT
  mangle -A ISTIO_INBOUND -p tcp -j ISTIO_TPROXY
  mangle -A PREROUTING -p tcp -m mark --mark 1337 -j CONNMARK --save-mark
  mangle -A OUTPUT -p tcp -o lo -m mark --mark 1337 -j RETURN
  mangle -A OUTPUT ! -d 127.0.0.1/32 -p tcp -o lo -m owner --uid-owner "$UID_" -j MARK --set-mark 1338
  mangle -A OUTPUT ! -d 127.0.0.1/32 -p tcp -o lo -m owner --gid-owner "$GID_" -j MARK --set-mark 1338
  mangle -A OUTPUT -p tcp -m connmark --mark 1337 -j CONNMARK --restore-mark
  mangle -I ISTIO_INBOUND 1 -p tcp -m mark --mark 1337 -j RETURN
  mangle -I ISTIO_INBOUND 2 -p tcp -s 127.0.0.6/32 -i lo -j RETURN
  mangle -I ISTIO_INBOUND 3 -p tcp -i lo -m mark ! --mark 1338 -j RETURN
fi

ipt -N ISTIO_INBOUND
ipt -N ISTIO_REDIRECT
ipt -N ISTIO_IN_REDIRECT
ipt -N ISTIO_OUTPUT
ipt -A ISTIO_INBOUND -p tcp --dport 15008 -j RETURN
ipt -A ISTIO_REDIRECT -p tcp -j REDIRECT --to-ports "$PORT"
ipt -A ISTIO_IN_REDIRECT -p tcp -j REDIRECT --to-ports "$INPORT"
if [ -n "$INBOUND" ] && [ "$MODE" = REDIRECT ]; then
  # Every inbound TCP connection is NATed to Envoy's 15006 (virtualInbound); SO_ORIGINAL_DST
  # tells Envoy where it was going.
  ipt -A PREROUTING -p tcp -j ISTIO_INBOUND
  ipt -A ISTIO_INBOUND -p tcp -j ISTIO_IN_REDIRECT
fi
ipt -A OUTPUT -j ISTIO_OUTPUT
# Envoy's inbound passthrough source address.
ipt -A ISTIO_OUTPUT -o lo -s 127.0.0.6/32 -j RETURN
# Envoy calling an address of its own pod over lo goes through the inbound path (hairpin).
# In TPROXY mode the lab leaves this pair out, as it does after Istio's own code: Envoy's
# original_src connection to the app (from the caller's address, over lo) would match it and be
# NATed back to 15006 (measured on Envoy 1.40: its SYNs counted in ISTIO_IN_REDIRECT, every call
# 503 UF connection_timeout; istio#23369).
[ "$MODE" = TPROXY ] && [ -n "$INBOUND" ] || ipt -A ISTIO_OUTPUT -o lo ! -d 127.0.0.1/32 -p tcp ! --dport 15008 -m owner --uid-owner "$UID_" -j ISTIO_IN_REDIRECT
# Loopback traffic of other users is left alone; Envoy's own traffic (uid/gid) is never captured.
ipt -A ISTIO_OUTPUT -o lo -m owner ! --uid-owner "$UID_" -j RETURN
ipt -A ISTIO_OUTPUT -m owner --uid-owner "$UID_" -j RETURN
[ "$MODE" = TPROXY ] && [ -n "$INBOUND" ] || ipt -A ISTIO_OUTPUT -o lo ! -d 127.0.0.1/32 -p tcp ! --dport 15008 -m owner --gid-owner "$GID_" -j ISTIO_IN_REDIRECT
ipt -A ISTIO_OUTPUT -o lo -m owner ! --gid-owner "$GID_" -j RETURN
ipt -A ISTIO_OUTPUT -m owner --gid-owner "$GID_" -j RETURN
ipt -A ISTIO_OUTPUT -d 127.0.0.1/32 -j RETURN
# excludeOutboundIPRanges: RETURN before the catch-all redirect.
if [ -n "$EXCLUDE" ]; then
  for cidr in $(echo "$EXCLUDE" | tr ',' ' '); do
    ipt -A ISTIO_OUTPUT -d "$cidr" -j RETURN
  done
fi
ipt -A ISTIO_OUTPUT -j ISTIO_REDIRECT

if [ -n "$INBOUND" ] && [ "$MODE" = TPROXY ]; then
  # Policy routing for the marked packets (Istio's tproxy.ConfigureRoutes).
  ip -4 rule add fwmark 1337 lookup 133
  ip -4 route add local default dev lo table 133
fi
