#!/usr/bin/env bash
# Tests the Debian package (scripts/package.sh) in a clean Debian 12 root made by mmdebstrap:
# its file list and dependencies (dpkg-deb), its postinst (`runcvm install` from the package, no
# source tree: files under /opt/runcvm, the runtime registered in daemon.json, versions), a
# reinstall that changes nothing (an upgrade keeps running containers running), its prerm
# refusing removal while runcvm VMs run (the root sees the host's /proc) and removing everything
# when forced. Debian 12 has no nodejs >= 20, so the root gets the host's node binary as a
# stand-in nodejs package. Usage: scripts/test-package.sh DEB [ROOT]
#   ROOT: an existing mmdebstrap root to reuse (made, and removed at the end, when not given)
set -euo pipefail
DEB=$(realpath "${1:?usage: test-package.sh DEB [ROOT]}")
ROOT=${2:-}
fail() { echo "test-package: FAIL: $*" >&2; exit 1; }
ok() { echo "test-package: ok: $*"; }
VERSION=$(dpkg-deb -f "$DEB" Version)

# File list and dependencies.
files=$(dpkg-deb -c "$DEB" | awk '{print $6}')
for f in ./usr/bin/runcvm ./usr/lib/runcvm/runcvm.mjs ./usr/lib/runcvm/dispatcher.sh ./usr/lib/runcvm/runcvm-init \
         ./usr/lib/runcvm/runcvm-exec ./usr/lib/runcvm/runcvm-exec-prep ./usr/lib/runcvm/runcvm-supervisor ./usr/lib/runcvm/containerd-shim-runcvm-v2 ./usr/lib/runcvm/guest/vmlinux ./usr/lib/runcvm/guest/initramfs.cpio \
         ./usr/lib/runcvm/guest/runcvm/vmlinux ./usr/lib/runcvm/guest/runcvm/initramfs.cpio \
         ./usr/share/doc/runcvm/README.md ./usr/share/doc/runcvm/docs/troubleshooting.md; do
  grep -qx "$f" <<< "$files" || fail "$f not in the package"
done
depends=$(dpkg-deb -f "$DEB" Depends)
for d in 'nodejs (>= 20)' runc qemu-system-x86 qemu-system-common e2fsprogs; do
  grep -qF "$d" <<< "$depends" || fail "Depends lacks $d: $depends"
done
[ "$(dpkg-deb -f "$DEB" Architecture)" = amd64 ] || fail "architecture"
ok "file list and Depends ($depends)"

made=
if [ -z "$ROOT" ]; then
  ROOT=$(mktemp -d /tmp/runcvm-package-root-XXXXXX)
  made=1
  mmdebstrap --variant=apt --include=runc,qemu-system-x86,qemu-system-common,e2fsprogs,iproute2,iptables,libstdc++6 bookworm "$ROOT" >/dev/null
fi
cleanup() {
  umount "$ROOT/proc" 2>/dev/null || true
  [ -n "$made" ] && rm -rf "$ROOT"
  rm -rf "$STAND_IN"
}
STAND_IN=$(mktemp -d /tmp/runcvm-package-node-XXXXXX)
trap cleanup EXIT
mountpoint -q "$ROOT/proc" || mount -t proc proc "$ROOT/proc"
in_root() { chroot "$ROOT" "$@" 2> >(grep -v 'Ignoring extra certs' >&2); }

mkdir -p "$STAND_IN/p/usr/bin" "$STAND_IN/p/DEBIAN"
cp "$(command -v node)" "$STAND_IN/p/usr/bin/node"
printf 'Package: nodejs\nVersion: %s-1local\nArchitecture: amd64\nMaintainer: test <test@localhost>\nDepends: libstdc++6\nDescription: stand-in: the host node binary\n' \
  "$(node -p 'process.versions.node')" > "$STAND_IN/p/DEBIAN/control"
dpkg-deb --root-owner-group --build "$STAND_IN/p" "$ROOT/tmp/nodejs-stand-in.deb" >/dev/null
cp "$DEB" "$ROOT/tmp/runcvm.deb"
in_root dpkg -i /tmp/nodejs-stand-in.deb >/dev/null

out=$(in_root dpkg -i /tmp/runcvm.deb 2>&1) || fail "dpkg -i: $out"
grep -q 'runcvm installed in /opt/runcvm' <<< "$out" || fail "postinst did not install: $out"
for f in /opt/runcvm/bin/runcvm-runtime /opt/runcvm/lib/runcvm.mjs /opt/runcvm/kernels/debian/vmlinux /opt/runcvm/etc/host.json; do
  [ -e "$ROOT$f" ] || fail "$f missing after postinst"
done
grep -q '"path": "/opt/runcvm/bin/runcvm-runtime"' "$ROOT/etc/docker/daemon.json" || fail "daemon.json: $(cat "$ROOT/etc/docker/daemon.json")"
[ "$(in_root /opt/runcvm/bin/runcvm-runtime --version | head -1)" = "runcvm-runtime version $VERSION" ] || fail "runtime --version"
[ "$(in_root runcvm version | sed -n 2p)" = "runcvm-agent version $VERSION" ] || fail "agent version"
ok "postinst: installed under /opt/runcvm, registered in daemon.json, versions $VERSION"

out=$(in_root dpkg -i /tmp/runcvm.deb 2>&1) || fail "reinstall: $out"
grep -q 'already installed in /opt/runcvm: nothing changed' <<< "$out" || fail "reinstall changed something: $out"
ok "reinstall (upgrade path) changes nothing"

running=$(in_root runcvm ps --json | grep -c '"prefix": "/opt/runcvm"' || true)
if [ "$running" -gt 0 ]; then
  out=$(in_root dpkg -r runcvm 2>&1) && fail "removal allowed while $running VMs run"
  grep -q 'runcvm container(s) of /opt/runcvm still running' <<< "$out" || fail "no reason given: $out"
  ok "removal refused while $running runcvm VM(s) run on the host"
else
  echo "test-package: note: no VM of /opt/runcvm runs on this host: the refusal is exercised by scripts/test-package-upgrade.sh"
fi
out=$(in_root env RUNCVM_FORCE_REMOVE=1 dpkg -r runcvm 2>&1) || fail "forced removal: $out"
[ ! -e "$ROOT/opt/runcvm" ] || fail "/opt/runcvm left behind"
grep -q runcvm "$ROOT/etc/docker/daemon.json" && fail "daemon.json still names runcvm"
ok "forced removal unregistered runcvm and removed /opt/runcvm"
