#!/bin/sh
# Outbound interception as istio-init / istio-iptables sets it up in a pod's network namespace
# (nat table; rule order and chain names as in istio's tools/istio-iptables golden files).
# Used by every backend: run inside the pod's namespace (netns) or container (NET_ADMIN).
#
#   istio-iptables.sh [-p 15001] [-u 1337] [-g 1337] [-x CIDR[,CIDR...]]
#     -p  Envoy's outbound capture port (virtualOutbound)
#     -u  uid whose traffic is not captured (Envoy's own)
#     -g  gid whose traffic is not captured
#     -x  excludeOutboundIPRanges: destinations that bypass the sidecar
#         (traffic.sidecar.istio.io/excludeOutboundIPRanges)
set -eu
PORT=15001 UID_=1337 GID_=1337 EXCLUDE=""
while getopts "p:u:g:x:" opt; do
  case "$opt" in
    p) PORT=$OPTARG ;; u) UID_=$OPTARG ;; g) GID_=$OPTARG ;; x) EXCLUDE=$OPTARG ;;
    *) echo "usage: $0 [-p port] [-u uid] [-g gid] [-x cidr,...]" >&2; exit 2 ;;
  esac
done

ipt() { iptables -w -t nat "$@"; }

ipt -N ISTIO_REDIRECT
ipt -N ISTIO_OUTPUT
ipt -A ISTIO_REDIRECT -p tcp -j REDIRECT --to-ports "$PORT"
ipt -A OUTPUT -p tcp -j ISTIO_OUTPUT
# Envoy's inbound passthrough source address.
ipt -A ISTIO_OUTPUT -o lo -s 127.0.0.6/32 -j RETURN
# Loopback traffic of other users is left alone; Envoy's own traffic (uid/gid) is never captured.
ipt -A ISTIO_OUTPUT -o lo -m owner ! --uid-owner "$UID_" -j RETURN
ipt -A ISTIO_OUTPUT -m owner --uid-owner "$UID_" -j RETURN
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
