#!/bin/sh
# Lab TLS material (openssl): a lab CA and one leaf certificate per name, each with its SAN and
# the key usages modern TLS stacks check. Used by the catch-all-cert scenario.
#   make-certs.sh <out-dir> <name> [<name> ...]     e.g. known.test unknown.test '*.example.com'
set -eu
out=$1; shift
mkdir -p "$out"; cd "$out"
openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=envoy-fault-lab CA" \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
  -keyout ca.key -out ca.crt 2>/dev/null
for name in "$@"; do
  file=$(echo "$name" | sed 's/\*/wildcard/')
  openssl req -newkey rsa:2048 -nodes -subj "/CN=$name" -keyout "$file.key" -out "$file.csr" 2>/dev/null
  printf 'subjectAltName=DNS:%s\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n' "$name" > "$file.ext"
  openssl x509 -req -in "$file.csr" -CA ca.crt -CAkey ca.key -CAcreateserial -days 3650 -extfile "$file.ext" -out "$file.crt" 2>/dev/null
  rm -f "$file.csr" "$file.ext"
done
chmod 644 ./*
