#!/bin/sh
# containerd first, dockerd once its socket answers: dockerd's own supervisor kills a containerd
# that has not answered within a few seconds, and under TCG its first start takes longer.
set -e
containerd &
while ! ctr version >/dev/null 2>&1; do sleep 0.2; done
exec dockerd --containerd=/run/containerd/containerd.sock "$@"
