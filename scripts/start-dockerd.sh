#!/usr/bin/env bash
# Make sure the Docker daemon is running: no-op when `docker info` works;
# `systemctl start docker` under systemd; otherwise start dockerd detached.
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

LOG=/var/log/runcvm-dockerd.log
TIMEOUT=60

docker_ok() { docker info >/dev/null 2>&1; }

have_cmd docker || die "docker CLI not found (run scripts/install-deps.sh first)"
if docker_ok; then
  log "dockerd is already running"
  exit 0
fi

require_root
if systemd_is_init; then
  log "starting dockerd with systemctl start docker"
  systemctl start docker || die "systemctl start docker failed; see: journalctl -u docker"
else
  have_cmd dockerd || die "dockerd not found (run scripts/install-deps.sh first)"
  pid="$(cat /var/run/docker.pid 2>/dev/null || true)"
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    log "dockerd (pid $pid) is running but does not answer yet; waiting for it"
  else
    # A stale pid file from a dead dockerd would make it refuse to start.
    rm -f /var/run/docker.pid
    log "systemd is not PID 1; starting dockerd detached (log: $LOG)"
    setsid dockerd >>"$LOG" 2>&1 </dev/null &
  fi
fi

log "waiting up to ${TIMEOUT}s for docker info"
for _ in $(seq "$TIMEOUT"); do
  if docker_ok; then
    log "dockerd is up ($(docker version --format '{{.Server.Version}}' 2>/dev/null || echo '?'))"
    exit 0
  fi
  sleep 1
done
if [ -f "$LOG" ]; then
  echo "---- last 30 lines of $LOG ----" >&2
  tail -n 30 "$LOG" >&2
fi
die "dockerd did not come up within ${TIMEOUT}s"
