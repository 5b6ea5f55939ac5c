#!/usr/bin/env bash
# Tests a package upgrade on this host, with real Docker and real VMs: installs OLD_DEB, starts a
# container on it, installs NEW_DEB (a newer version) over it, then checks that the container kept
# running (same launcher process), can still be exec'd, and stops with its status; that removal
# is refused while a VM of the install runs; and that removal then unregisters and deletes it.
# The package goes to a private dpkg database (--admindir: the host's own is not touched; its
# Depends are checked by scripts/test-package.sh in a clean root) and installs under
# RUNCVM_PREFIX=/opt/runcvm-pkgtest as runtime runcvm-pkgtest, so no other install is disturbed.
# Build the two packages with: scripts/package.sh --out DIR [--version V]
# Usage: scripts/test-package-upgrade.sh OLD_DEB NEW_DEB
set -euo pipefail
OLD=$(realpath "${1:?usage: test-package-upgrade.sh OLD_DEB NEW_DEB}")
NEW=$(realpath "${2:?usage: test-package-upgrade.sh OLD_DEB NEW_DEB}")
fail() { echo "test-package-upgrade: FAIL: $*" >&2; exit 1; }
ok() { echo "test-package-upgrade: ok: $*"; }
OLD_V=$(dpkg-deb -f "$OLD" Version)
NEW_V=$(dpkg-deb -f "$NEW" Version)
dpkg --compare-versions "$NEW_V" gt "$OLD_V" || fail "$NEW_V is not newer than $OLD_V"
[ -e /usr/bin/runcvm ] || [ -e /usr/lib/runcvm ] && fail "/usr/bin/runcvm or /usr/lib/runcvm exists: another runcvm package is installed here"

export RUNCVM_PREFIX=/opt/runcvm-pkgtest RUNCVM_NAME=runcvm-pkgtest RUNCVM_INSTALL_ARGS=--allow-tcg-if-no-kvm
RUNCVM=$RUNCVM_PREFIX/bin/runcvm
ADMIN=$(mktemp -d /tmp/runcvm-pkgtest-dpkg-XXXXXX)
mkdir -p "$ADMIN/info" "$ADMIN/updates" "$ADMIN/triggers"
touch "$ADMIN/status" "$ADMIN/available"
# The private database lists none of the host's packages: dependencies cannot be checked here.
pkg() { dpkg --admindir="$ADMIN" --force-depends "$@"; }
CTR=runcvm-pkgtest-$$
cleanup() {
  docker rm -f "$CTR" "$CTR-2" >/dev/null 2>&1 || true
  RUNCVM_FORCE_REMOVE=1 pkg -r runcvm >/dev/null 2>&1 || true
  rm -rf "$ADMIN"
}
trap cleanup EXIT

out=$(pkg -i "$OLD" 2>&1) || fail "dpkg -i $OLD_V: $out"
[ "$($RUNCVM --version)" = "runcvm version $OLD_V" ] || fail "installed version: $($RUNCVM --version)"
docker info --format '{{json .Runtimes}}' | grep -q '"runcvm-pkgtest"' || fail "dockerd does not list runcvm-pkgtest"
ok "installed $OLD_V under $RUNCVM_PREFIX, registered with dockerd"

# The workload ends with 42 on docker stop's SIGTERM: its status must come back after the upgrade.
docker run -d --name "$CTR" --runtime=runcvm-pkgtest runcvm-test/busybox \
  sh -c 'trap "exit 42" TERM; while :; do sleep 1; done' >/dev/null
for _ in $(seq 300); do
  docker exec "$CTR" true 2>/dev/null && break
  sleep 1
done
docker exec "$CTR" true || fail "docker exec before the upgrade"
launcher=$($RUNCVM ps --json | node -e "
  const v = JSON.parse(require('fs').readFileSync(0, 'utf8')).find((x) => x.name === '$CTR');
  process.stdout.write(String(v ? v.launcherPid : ''))")
[ -n "$launcher" ] || fail "runcvm ps does not list $CTR"
ok "container $CTR running on $OLD_V (launcher pid $launcher)"

out=$(pkg -i "$NEW" 2>&1) || fail "dpkg -i $NEW_V (upgrade): $out"
[ "$($RUNCVM --version)" = "runcvm version $NEW_V" ] || fail "upgraded version: $($RUNCVM --version)"
[ "$(docker inspect -f '{{.State.Running}}' "$CTR")" = true ] || fail "the container stopped during the upgrade"
kill -0 "$launcher" 2>/dev/null || fail "the launcher (pid $launcher) ended during the upgrade"
[ "$(docker exec "$CTR" sh -c 'echo exec-after-upgrade')" = exec-after-upgrade ] || fail "docker exec after the upgrade"
ok "upgraded to $NEW_V: $CTR still running (same launcher), docker exec works"

# Removal is refused while a VM of this install runs, and names the reason.
docker run -d --name "$CTR-2" --runtime=runcvm-pkgtest runcvm-test/busybox sleep 600 >/dev/null
for _ in $(seq 300); do
  $RUNCVM ps --json | grep -q "\"name\": \"$CTR-2\"" && break
  sleep 1
done
out=$(pkg -r runcvm 2>&1) && fail "removal allowed while VMs run"
grep -q "runcvm container(s) of $RUNCVM_PREFIX still running" <<< "$out" || fail "no reason given: $out"
[ -x "$RUNCVM" ] || fail "a refused removal deleted files"
ok "removal refused while VMs of $RUNCVM_PREFIX run"

docker stop -t 30 "$CTR" >/dev/null
[ "$(docker inspect -f '{{.State.ExitCode}}' "$CTR")" = 42 ] || fail "exit status after the upgrade: $(docker inspect -f '{{.State.ExitCode}}' "$CTR")"
docker rm -f "$CTR" "$CTR-2" >/dev/null
ok "docker stop: the workload's status 42 came back through the upgraded runtime"

out=$(pkg -r runcvm 2>&1) || fail "removal with nothing running: $out"
[ ! -e "$RUNCVM_PREFIX" ] || fail "$RUNCVM_PREFIX left behind"
[ ! -e /usr/bin/runcvm ] || fail "/usr/bin/runcvm left behind"
grep -q runcvm-pkgtest /etc/docker/daemon.json && fail "daemon.json still names runcvm-pkgtest"
ok "removed: unregistered and $RUNCVM_PREFIX deleted"
