#!/usr/bin/env bash
# Builds the Debian package dist/runcvm_<version>_amd64.deb (dpkg-deb): the bundled runtime, the
# C programs, the dispatcher template, the guest kernel + initramfs and the docs, under
# /usr/lib/runcvm, /usr/bin/runcvm and /usr/share/doc/runcvm. Installing it runs `runcvm install`
# (deploy/debian/postinst); removing it refuses while runcvm containers run (deploy/debian/prerm).
# Usage: scripts/package.sh [--guest DIR] [--out DIR] [--version V]
#   (default guest: build/guest, out: dist, version: package.json's; --version also goes into the bundle)
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$REPO"
GUEST=build/guest
OUT=dist
VERSION=
while [ $# -gt 0 ]; do
  case "$1" in
    --guest) GUEST=${2:?--guest needs a directory}; shift 2 ;;
    --out) OUT=${2:?--out needs a directory}; shift 2 ;;
    --version) VERSION=${2:?--version needs a version}; shift 2 ;;
    -h|--help) sed -n '2,7p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "package.sh: unknown option '$1' (allowed: --guest DIR, --out DIR, --version V)" >&2; exit 2 ;;
  esac
done
die() { echo "package.sh: $*" >&2; exit 1; }
[ -n "$VERSION" ] || VERSION=$(node -p "require('./package.json').version")
[[ $VERSION =~ ^[0-9][0-9A-Za-z.+~-]*$ ]] || die "package.json version \"$VERSION\" is not a Debian version"
# Both guest kernels (runcvm install wants every one): Debian's at the top, runcvm's own in runcvm/.
GUEST_FILES="vmlinux vmlinuz initramfs.cpio kernel.release runcvm/vmlinux runcvm/initramfs.cpio runcvm/kernel.release runcvm/config"
for f in $GUEST_FILES; do
  [ -s "$GUEST/$f" ] || die "guest file $GUEST/$f is missing: run guest/build.sh or pass --guest DIR"
done
RUNCVM_BUILD_VERSION=$VERSION npm run -s build

STAGE=$(mktemp -d "${TMPDIR:-/tmp}/runcvm-package-XXXXXX")
trap 'rm -rf "$STAGE"' EXIT
ROOT="$STAGE/runcvm_${VERSION}_amd64"
LIB="$ROOT/usr/lib/runcvm"
DOC="$ROOT/usr/share/doc/runcvm"
install -d "$LIB/guest/runcvm" "$ROOT/usr/bin" "$DOC/docs" "$ROOT/DEBIAN"
install -m 0644 dist/runcvm.mjs dist/dispatcher.sh "$LIB/"
install -m 0755 dist/runcvm-init dist/runcvm-exec dist/runcvm-exec-prep dist/runcvm-supervisor dist/containerd-shim-runcvm-v2 "$LIB/"
for f in $GUEST_FILES; do install -m 0644 "$GUEST/$f" "$LIB/guest/$f"; done
printf '#!/bin/sh\nexec /usr/bin/node /usr/lib/runcvm/runcvm.mjs "$@"\n' > "$ROOT/usr/bin/runcvm"
chmod 0755 "$ROOT/usr/bin/runcvm"
install -m 0644 README.md "$DOC/"
install -m 0644 docs/*.md "$DOC/docs/"
printf 'runcvm %s\nLicense: Apache-2.0\n' "$VERSION" > "$DOC/copyright"
install -m 0755 deploy/debian/postinst deploy/debian/prerm "$ROOT/DEBIAN/"
SIZE=$(du -sk --exclude=DEBIAN "$ROOT" | cut -f1)
cat > "$ROOT/DEBIAN/control" <<CONTROL
Package: runcvm
Version: $VERSION
Architecture: amd64
Maintainer: runcvm developers <runcvm@localhost>
Installed-Size: $SIZE
Depends: nodejs (>= 20), runc, qemu-system-x86, qemu-system-common, e2fsprogs, iproute2, iptables
Recommends: docker.io | docker-ce, diod, busybox-static
Suggests: podman, containerd
Section: admin
Priority: optional
Description: Docker runtime that runs every container in its own lightweight VM
 runcvm is an OCI runtime for Docker (docker run --runtime=runcvm), containerd and
 Podman. Each container runs in a QEMU (or Firecracker) virtual machine with its own
 Linux kernel, while behaving like a runc container: same image, stdio, exit codes,
 exec, volumes and networking. The package holds the runtime, the guest kernel and
 initramfs; installing it registers the runtime with Docker (runcvm doctor checks a host).
CONTROL
mkdir -p "$OUT"
dpkg-deb --root-owner-group -Zxz --build "$ROOT" "$OUT/runcvm_${VERSION}_amd64.deb" >/dev/null
echo "$OUT/runcvm_${VERSION}_amd64.deb"
