#!/bin/sh
# runcvm-runtime: the OCI runtime binary Docker calls. containerd's shim runs it for every
# lifecycle step (create, start, kill, delete, state, ps, pause...). Only `create`, `update` and
# the delete of an image-root container create marked need Node; `exec` runs runcvm-exec-prep
# (static C, src/runtime/exec-prep), which rewrites the process and becomes runc; every other
# verb goes straight to runc. Node would cost ~0.15-0.3 s per call. Global flags are left
# untouched for runc.
# @GENERATED@ by `runcvm install` from src/runtime/dispatcher.sh.
RUNC='@RUNC@'
NODE='@NODE@'
LIB='@LIB@'
EXEC_PREP='@EXEC_PREP@'
VERSION='@VERSION@'
# Development installs only (`runcvm install --coverage-dir`): V8 coverage of every Node start.
COVERAGE='@COVERAGE@'
[ -z "$COVERAGE" ] || export NODE_V8_COVERAGE="$COVERAGE"

skip=
for arg in "$@"; do
  if [ -n "$skip" ]; then skip=; continue; fi
  case "$arg" in
    --root|--log|--log-format|--criu|--rootless) skip=1 ;;
    # runcvm's line, then runc's own lines: readers of `runc --version` (dockerd takes the last
    # "<name> version <v>" line and "commit:") keep seeing the runc they know.
    --version|-v) printf 'runcvm-runtime version %s\n' "$VERSION"; exec "$RUNC" --version ;;
    -*) ;;
    create|update) exec "$NODE" "$LIB" runtime "$@" ;;
    # An app container of a pod VM execs through Node (runtime/exec.ts); every other exec is static C.
    exec) eval "id=\${$#}"; [ -e "/run/runcvm/pod/$id" ] && exec "$NODE" "$LIB" runtime "$@"; exec "$EXEC_PREP" "$RUNC" "$@" ;;
    # An image-root container that may need its writable drive written back (runtime/writeback.ts),
    # or a pod VM's share or an app container's root in it to unmount (runtime/pod-vm.ts).
    # A VM other containers could join (runtime/join.ts): its share dirs, empty once its joiners
    # are deleted (never a mount point of their own, so no Node is needed to undo them).
    # From / : after a pod VM dies, containerd cleans the pod's containers up from the shim's cwd,
    # the sandbox's bundle, which is gone by then, and Node cannot start in a deleted cwd
    # (uv_cwd ENOENT: the delete failed, retried for ever, the containers stayed "running").
    # delete reads its markers, never the cwd.
    delete) eval "id=\${$#}"
      case "$id" in ''|.*|*[!A-Za-z0-9_.-]*) ;; *) j="/run/runcvm/join/$id"
        [ -d "$j" ] && { rm -f "$j/sock/exec.sock"; rmdir "$j/sock" "$j/root" "$j" 2>/dev/null; } ;; esac
      { [ -e "/run/runcvm/writeback/$id" ] || [ -e "/run/runcvm/pod/$id" ]; } && cd / && exec "$NODE" "$LIB" runtime "$@"; break ;;
    *) break ;;
  esac
done
exec "$RUNC" "$@"
