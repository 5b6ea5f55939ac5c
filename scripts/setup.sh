#!/usr/bin/env bash
# One-command setup of runcvm on a fresh Debian 12 machine (run as root):
#   install packages -> npm ci -> npm run build -> build guest kernel/initramfs
#   -> start dockerd -> install runcvm as Docker runtime `runcvm`
#   -> build runcvm-test/busybox and run a demo container in a VM.
# Usage: scripts/setup.sh [--no-demo] [--coverage-dir DIR] [--install-only]
#   --no-demo           skip the test image and the demo run
#   --coverage-dir DIR  install so that every runcvm Node process writes V8 coverage to DIR (scripts/test.sh)
#   --install-only      only the install step (with the options above), from the existing build
# Safe to re-run: every step reuses what is already there.
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

DEMO=1
INSTALL_ONLY=0
COVERAGE_DIR=
while [ $# -gt 0 ]; do
  case "$1" in
    --no-demo) DEMO=0 ;;
    --install-only) INSTALL_ONLY=1 DEMO=0 ;;
    --coverage-dir) [ $# -ge 2 ] || die "--coverage-dir needs a directory"; COVERAGE_DIR=$2; shift ;;
    -h|--help) sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown option '$1' (try --help)" ;;
  esac
  shift
done

require_root
T_START=$SECONDS
STEP=0
step() { STEP=$((STEP + 1)); log "[$STEP] $*"; }

if [ "$INSTALL_ONLY" = 0 ]; then
  step "installing system packages (scripts/install-deps.sh)"
  bash scripts/install-deps.sh

  step "installing npm dependencies (npm ci)"
  # npm ci wipes node_modules; skip it when the lockfile and node are unchanged.
  lock_hash="$( (node --version; cat package.json package-lock.json) | sha256sum | cut -d' ' -f1)"
  stamp=node_modules/.runcvm-npm-ci
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$lock_hash" ]; then
    log "node_modules is up to date with package-lock.json; skipping npm ci"
  else
    npm ci --no-audit --no-fund
    mkdir -p node_modules && echo "$lock_hash" >"$stamp"
  fi

  step "building the host runtime (npm run build -> dist/runcvm.mjs)"
  npm run build
  [ -f dist/runcvm.mjs ] || die "npm run build did not produce dist/runcvm.mjs"

  step "building the guest kernels and initramfs (guest/build.sh -> build/guest; the runcvm kernel compiles once, ~10 min cold on 2 idle cores (up to an hour on a busy host), then comes from /var/cache/runcvm/kernel)"
  bash guest/build.sh

  step "making sure dockerd is running (scripts/start-dockerd.sh)"
  bash scripts/start-dockerd.sh
fi

# The installer boots a tiny VM under KVM to see whether KVM really works here (a /dev/kvm
# that opens can still be unusable, e.g. under some nested hypervisors) and, because of
# --allow-tcg-if-no-kvm, enables the TCG software-emulation fallback only when it does not.
install_args=(--allow-tcg-if-no-kvm)
# RUNCVM_FORCE_TCG=1 enables the fallback unconditionally (to exercise the TCG path).
if [ "${RUNCVM_FORCE_TCG:-0}" = 1 ]; then
  install_args=(--allow-tcg)
fi
if [ -n "$COVERAGE_DIR" ]; then
  install_args+=(--coverage-dir "$COVERAGE_DIR")
fi
step "installing runcvm to /opt/runcvm and registering the Docker runtime 'runcvm'"
node dist/runcvm.mjs install ${install_args[@]+"${install_args[@]}"}

if [ "$DEMO" = 1 ]; then
  step "building the busybox test image"
  bash scripts/build-test-images.sh busybox

  step "demo: docker run --rm --runtime=runcvm runcvm-test/busybox uname -a"
  docker run --rm --runtime=runcvm runcvm-test/busybox uname -a \
    || die "the demo container failed to run under runcvm"
  log "^ that kernel is the VM's guest kernel, not this host's ($(uname -r)): the container ran inside its own QEMU microVM."
fi

log "setup done in $(fmt_secs $((SECONDS - T_START)))"
if [ "$DEMO" = 1 ]; then
  log "try: docker run --rm -it --runtime=runcvm runcvm-test/busybox sh"
fi
