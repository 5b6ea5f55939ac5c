#!/usr/bin/env bash
# Run the whole runcvm test suite on this machine (as root):
#   scripts/setup.sh --no-demo -> scripts/build-test-images.sh
#   -> scripts/lint.sh -> npm run test:unit -> make -C guest/agent coverage -> the supervisor's C tests
#   -> npm run test:e2e (runcvm kernel, C supervisor) -> run/exec/network/netjoin on the Node data plane
#   -> run/exec/lifecycle on the Debian kernel -> storage with the image root
#   -> the same e2e suites on Firecracker where it can run
#   -> the coverage of src/ by all of it (the install writes V8 coverage during the run, then is put back as it was)
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

# Every Node process of the run (unit tests, and the runtime, launcher and CLI that the e2e tests
# start through the install) writes raw V8 coverage here; scripts/coverage-report.mjs merges it.
COVERAGE="$RUNCVM_ROOT/build/coverage"
rm -rf "$COVERAGE" && mkdir -p "$COVERAGE/v8"
# The install stays coverage-free outside this run (each Node start writes ~1 MB with it on).
trap 'bash scripts/setup.sh --install-only >/dev/null 2>&1 || log "could not reinstall runcvm without coverage: run scripts/setup.sh --install-only"' EXIT

if ! stage setup bash scripts/setup.sh --no-demo --coverage-dir "$COVERAGE/v8"; then
  summary
  die "setup failed; not running the tests"
fi
stage images bash scripts/build-test-images.sh || true
stage lint bash scripts/lint.sh || true
stage unit env NODE_V8_COVERAGE="$COVERAGE/v8" npm run test:unit || true
# The guest agent's line coverage by its host-side tests (gcov; docs/testing.md).
stage agent-coverage make -s -C guest/agent OUT="$RUNCVM_ROOT/build/agent-coverage" coverage || true
# The host supervisor's pure parts (queues, windows, handover state, DNS, LOG bounds).
stage supervisor-unit make -s -C src/launcher/supervisor OUT="$RUNCVM_ROOT/build/supervisor-test" test || true
# The CRI shim's pure parts (protobuf, ttrpc frames, the StatsResponse, its marker reader).
stage shim-unit make -s -C src/shim OUT="$RUNCVM_ROOT/build/shim-test" test || true
stage e2e env NODE_V8_COVERAGE="$COVERAGE/v8" npm run test:e2e || true
# The Node launcher as the data plane (RUNCVM_DATA_PLANE=node; the default is the C supervisor):
# the suites it serves, joined containers included. flood.test.ts stays on the default: its bounds are the supervisor's.
stage e2e-node env NODE_V8_COVERAGE="$COVERAGE/v8" RUNCVM_E2E_DATA_PLANE=node node --import tsx --test --test-concurrency=1 \
  test/e2e/run.test.ts test/e2e/exec.test.ts test/e2e/network.test.ts test/e2e/netjoin.test.ts || true
# The whole suite boots the default guest kernel (runcvm); the Debian kernel stays selectable
# (RUNCVM_KERNEL=debian), so the core Docker behaviour is checked on it too (docs/testing.md).
stage e2e-debian env NODE_V8_COVERAGE="$COVERAGE/v8" RUNCVM_E2E_KERNEL=debian node --import tsx --test --test-concurrency=1 \
  test/e2e/run.test.ts test/e2e/exec.test.ts test/e2e/lifecycle.test.ts || true
# The storage suite again with the image root and the 9P volume server forced: Firecracker's
# storage path, exercised on QEMU (docs/storage.md).
stage e2e-image env NODE_V8_COVERAGE="$COVERAGE/v8" RUNCVM_E2E_ROOTFS=image RUNCVM_E2E_VOLUMES=9p node --import tsx --test --test-concurrency=1 test/e2e/storage.test.ts || true

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

stage coverage node scripts/coverage-report.mjs "$COVERAGE/v8" "$COVERAGE/report" || true

summary
if [ "$FAILED" -ne 0 ]; then
  die "some stages failed"
fi
log "all stages passed"
