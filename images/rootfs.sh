#!/usr/bin/env bash
# Lays out the root filesystem of a coffee-pipeline image in <out>: the binary, exactly the shared
# libraries it links (and the dynamic loader), CA certificates for TLS to Kafka, and passwd/group
# entries for the non-root user 65532. Nothing else: no shell, no package manager, nothing
# writable. Run by each Dockerfile's build stage, and by images/build to stand in for that stage
# when no base image can be pulled.
#
#   images/rootfs.sh <binary> <out>
set -euo pipefail
if [ $# -ne 2 ] || [ ! -x "$1" ]; then
  echo "usage: images/rootfs.sh <executable binary> <out dir>" >&2
  exit 2
fi
binary=$1
out=$2
name=$(basename "$binary")

mkdir -p "$out/usr/local/bin" "$out/etc/ssl/certs"
install -m 0755 "$binary" "$out/usr/local/bin/$name"
# Every library the loader resolves, and the loader itself, at the same paths as on the builder.
ldd "$binary" | awk '/=> \// { print $3 } /^[ \t]*\/.*ld-linux/ { print $1 }' | while read -r lib; do
  mkdir -p "$out$(dirname "$lib")"
  cp -L "$lib" "$out$lib"
done
cp -L /etc/ssl/certs/ca-certificates.crt "$out/etc/ssl/certs/ca-certificates.crt"
printf 'root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n' > "$out/etc/passwd"
printf 'root:x:0:\nnonroot:x:65532:\n' > "$out/etc/group"
