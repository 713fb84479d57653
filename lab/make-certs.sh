#!/bin/sh
# Lab TLS material (openssl): a lab CA and one leaf certificate per name, each with its SAN and
# the key usages modern TLS stacks check. Used by the catch-all-cert scenario (DNS names) and the
# mesh's workload identities (spiffe://… names: a URI SAN, usable as client and server, as
# Istio's CA issues them; file spiffe-<namespace>-<service account>).
#   make-certs.sh <out-dir> <name> [<name> ...]     e.g. known.test '*.example.com' spiffe://cluster.local/ns/default/sa/app
set -eu
out=$1; shift
mkdir -p "$out"; cd "$out"
openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=envoy-fault-lab CA" \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
  -keyout ca.key -out ca.crt 2>/dev/null
for name in "$@"; do
  case "$name" in
    spiffe://*)
      file=$(echo "$name" | sed -E 's#^spiffe://[^/]+/ns/([^/]+)/sa/(.+)$#spiffe-\1-\2#')
      san="URI:$name"; usage="serverAuth,clientAuth"; subj="/O=cluster.local" ;;
    *)
      file=$(echo "$name" | sed 's/\*/wildcard/')
      san="DNS:$name"; usage="serverAuth"; subj="/CN=$name" ;;
  esac
  openssl req -newkey rsa:2048 -nodes -subj "$subj" -keyout "$file.key" -out "$file.csr" 2>/dev/null
  printf 'subjectAltName=%s\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=%s\nbasicConstraints=CA:FALSE\n' "$san" "$usage" > "$file.ext"
  openssl x509 -req -in "$file.csr" -CA ca.crt -CAkey ca.key -CAcreateserial -days 3650 -extfile "$file.ext" -out "$file.crt" 2>/dev/null
  rm -f "$file.csr" "$file.ext"
done
chmod 644 ./*
