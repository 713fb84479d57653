#!/bin/sh
# The lab's base image without a registry: a Debian bookworm minbase root filesystem built from
# Debian's packages (mmdebstrap), imported into Docker. Everything the lab hosts need: iproute2
# and iptables (interception, faults), procps, util-linux (setpriv), the real upstream servers
# (redis-server, mariadb-server, memcached), openssl, curl for hand-poking, ca-certificates. The host's own apt sources are the mirror: no host name typed.
#   base-rootfs.sh <tag>
set -eu
tag=$1
sources=/etc/apt/sources.list.d/debian.sources
[ -f "$sources" ] || sources=/etc/apt/sources.list
mmdebstrap --variant=minbase --quiet \
  --include=iproute2,iptables,procps,util-linux,redis-server,mariadb-server,memcached,openssl,curl,ca-certificates,dnsutils \
  --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/doc/*' \
  --dpkgopt='path-exclude=/usr/share/locale/*' \
  bookworm - "$sources" | docker import -c 'CMD ["/bin/bash"]' - "$tag"
