#!/usr/bin/env bash
# shellcheck shell=bash
# Shared helpers for scripts/*.sh. Source it; do not run it.
#   . "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# Defines RUNCVM_ROOT (the repo root) and cds there.

RUNCVM_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export RUNCVM_ROOT
cd "$RUNCVM_ROOT" || exit 1

# Node >= this is required (package.json "engines"; the test scripts use
# --import and --test-concurrency, which Node 18 lacks).
export RUNCVM_NODE_MIN_MAJOR=20

log()  { printf 'runcvm-setup: %s\n' "$*"; }
warn() { printf 'runcvm-setup: WARNING: %s\n' "$*" >&2; }
die()  { printf 'runcvm-setup: ERROR: %s\n' "$*" >&2; exit 1; }

have_cmd() { command -v "$1" >/dev/null 2>&1; }

require_root() {
  [ "$(id -u)" -eq 0 ] || die "$(basename "$0") must be run as root (try: sudo bash $0)"
}

# True when /dev/kvm exists and can be opened read-write by us.
kvm_usable() {
  [ -c /dev/kvm ] || return 1
  ( exec 3<>/dev/kvm ) 2>/dev/null
}

# True when systemd is PID 1.
systemd_is_init() {
  [ "$(cat /proc/1/comm 2>/dev/null)" = systemd ] && [ -d /run/systemd/system ]
}

# Major version of `node` on PATH, or 0 when there is none.
node_major() {
  local v
  v="$(node --version 2>/dev/null || true)"   # e.g. v20.20.2
  v="${v#v}"; v="${v%%.*}"
  case "$v" in ''|*[!0-9]*) echo 0 ;; *) echo "$v" ;; esac
}

# Human-readable duration for a number of seconds.
fmt_secs() {
  local s=$1
  if [ "$s" -ge 60 ]; then printf '%dm%02ds' $((s / 60)) $((s % 60)); else printf '%ds' "$s"; fi
}
