#!/usr/bin/env bash
# Run the whole runcvm test suite on this machine (as root):
#   scripts/setup.sh --no-demo -> scripts/build-test-images.sh
#   -> scripts/lint.sh -> npm run test:unit -> make -C guest/agent coverage -> npm run test:e2e (runcvm kernel)
#   -> run/exec/lifecycle on the Debian kernel -> the same e2e suites on Firecracker where it can run
# Both test stages always run; exits non-zero if any stage failed.
# Prints the elapsed time of each stage and a summary.
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

T_START=$SECONDS
SUMMARY=()
FAILED=0

# stage NAME CMD... — run a stage, record its status and time; never exits.
stage() {
  local name=$1 t0=$SECONDS rc=0
  shift
  log "==== stage '$name': $* ===="
  "$@" || rc=$?
  local took; took="$(fmt_secs $((SECONDS - t0)))"
  if [ "$rc" -eq 0 ]; then
    log "==== stage '$name' passed in $took ===="
    SUMMARY+=("$(printf '%-8s %-7s %s' "$name" PASS "$took")")
  else
    log "==== stage '$name' FAILED (exit $rc) in $took ===="
    SUMMARY+=("$(printf '%-8s %-7s %s (exit %s)' "$name" FAIL "$took" "$rc")")
    FAILED=1
  fi
  return "$rc"
}

summary() {
  log "summary (total $(fmt_secs $((SECONDS - T_START)))):"
  local line
  for line in "${SUMMARY[@]}"; do log "  $line"; done
}

if ! stage setup bash scripts/setup.sh --no-demo; then
  summary
  die "setup failed; not running the tests"
fi
stage images bash scripts/build-test-images.sh || true
stage lint bash scripts/lint.sh || true
stage unit npm run test:unit || true
# The guest agent's line coverage by its host-side tests (gcov; docs/testing.md).
stage agent-coverage make -s -C guest/agent OUT="$RUNCVM_ROOT/build/agent-coverage" coverage || true
stage e2e npm run test:e2e || true
# The whole suite boots the default guest kernel (runcvm); the Debian kernel stays selectable
# (RUNCVM_KERNEL=debian), so the core Docker behaviour is checked on it too (docs/testing.md).
stage e2e-debian env RUNCVM_E2E_KERNEL=debian node --import tsx --test --test-concurrency=1 \
  test/e2e/run.test.ts test/e2e/exec.test.ts test/e2e/lifecycle.test.ts || true
# The storage suite again with the image root and the 9P volume server forced: Firecracker's
# storage path, exercised on QEMU (docs/storage.md).
stage e2e-image env RUNCVM_E2E_ROOTFS=image RUNCVM_E2E_VOLUMES=9p node --import tsx --test --test-concurrency=1 test/e2e/storage.test.ts || true

# The Docker-facing suites again on Firecracker, wherever it can run (docs/firecracker.md).
fc_skip_reason() {
  command -v firecracker >/dev/null 2>&1 || { echo "no firecracker binary in PATH"; return; }
  [ -r /dev/kvm ] && [ -w /dev/kvm ] || { echo "no /dev/kvm"; return; }
  grep -q '"usable": true' /opt/runcvm/etc/host.json 2>/dev/null || { echo "the install's KVM probe found KVM unusable"; return; }
}
fc_reason=$(fc_skip_reason)
if [ -z "$fc_reason" ]; then
  stage e2e-fc env RUNCVM_E2E_HYPERVISOR=firecracker node --import tsx --test --test-concurrency=1 \
    test/e2e/run.test.ts test/e2e/exec.test.ts test/e2e/lifecycle.test.ts test/e2e/network.test.ts \
    test/e2e/storage.test.ts test/e2e/firecracker.test.ts || true
else
  log "==== stage 'e2e-fc' SKIPPED: $fc_reason; the suite did not run on Firecracker here ===="
  SUMMARY+=("$(printf '%-8s %-7s %s' e2e-fc SKIPPED "$fc_reason")")
fi

summary
if [ "$FAILED" -ne 0 ]; then
  die "some stages failed"
fi
log "all stages passed"
