#!/bin/sh
# Builds localhost/ionet-example-python-numpy with no registry: a Debian rootfs made by
# `debootstrap --variant=minbase` with python3-numpy, imported as an image with its command.
# Needs root, debootstrap (apt-get install debootstrap), the Debian mirror, and an engine CLI:
#   sudo ./build.sh                                  # podman if installed, else docker
#   sudo ENGINE="docker -H unix:///run/podman/podman.sock" ./build.sh
# Measured on 2 shared cores (Debian 12, deb.debian.org): see ../README.md.
set -eu
cd "$(dirname "$0")"
SUITE=${SUITE:-bookworm}
MIRROR=${MIRROR:-http://deb.debian.org/debian}
TAG=${TAG:-localhost/ionet-example-python-numpy:latest}
# Extra packages, e.g. PACKAGES=python3-numpy,python3-scipy for a larger image.
PACKAGES=${PACKAGES:-python3-numpy}
if [ -z "${ENGINE:-}" ]; then
  if command -v podman >/dev/null; then ENGINE=podman; else ENGINE=docker; fi
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
start=$(date +%s)
debootstrap --variant=minbase --include="$PACKAGES" "$SUITE" "$work/rootfs" "$MIRROR"
# What a job never reads: the package cache and lists, documentation, man pages, log files.
rm -rf "$work/rootfs/var/cache/apt/archives/"*.deb "$work/rootfs/var/lib/apt/lists/"* \
  "$work/rootfs/usr/share/doc" "$work/rootfs/usr/share/man" "$work/rootfs/usr/share/info" "$work/rootfs/var/log/"*
install -m 0644 matmul.py "$work/rootfs/matmul.py"
tar --numeric-owner -C "$work/rootfs" -cf "$work/rootfs.tar" .
size=$(du -h "$work/rootfs.tar" | cut -f1)
$ENGINE import \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'ENV PYTHONDONTWRITEBYTECODE=1' \
  --change 'CMD ["/usr/bin/python3", "/matmul.py", "/in/a.txt", "/in/b.txt"]' \
  "$work/rootfs.tar" "$TAG" >/dev/null
id=$($ENGINE image inspect --format '{{.Id}}' "$TAG")
case "$id" in sha256:*) ;; *) id="sha256:$id" ;; esac
echo "built $TAG in $(( $(date +%s) - start )) s, $size uncompressed: submit it as --image $id"
