#!/usr/bin/env bash
# Run the whole runcvm test suite on this machine (as root):
#   scripts/setup.sh --no-demo -> scripts/build-test-images.sh
#   -> npm run test:unit -> npm run test:e2e
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
stage unit npm run test:unit || true
stage e2e npm run test:e2e || true

summary
if [ "$FAILED" -ne 0 ]; then
  die "some stages failed"
fi
log "all stages passed"
