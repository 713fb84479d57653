#!/bin/sh
# Playground fault, run inside an upstream container (docker compose exec old sh /lab/playground/blackhole.sh):
# the IP stops answering new connections (SYNs dropped: dialers sit in SYN-SENT) and the service
# behind it goes away, closing the connections it had. The lab's `blackhole` fault does the same.
set -eu
iptables -I INPUT -p tcp --syn -j DROP
kill -USR2 "$(pidof node)"
echo "blackholed $(hostname -i): SYNs dropped, open connections closed"
