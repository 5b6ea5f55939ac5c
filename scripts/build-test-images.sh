#!/usr/bin/env bash
# Build the local test images (no Docker Hub needed) from test/images/:
#   runcvm-test/busybox  scratch + Debian's static busybox, users root/alice/nobody
#   runcvm-test/debian   mmdebstrap bookworm minbase + user bob
#   runcvm-test/postgres runcvm-test/debian + Debian's postgresql (storage tests)
# Usage: scripts/build-test-images.sh [busybox] [debian] [postgres]   (default: all)
# An image is reused when its label org.runcvm.test.hash equals the sha256
# of its build inputs. Set RUNCVM_FORCE_IMAGES=1 to rebuild anyway.
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

LABEL=org.runcvm.test.hash
IMAGES_DIR="$RUNCVM_ROOT/test/images"
CACHE_DIR="$RUNCVM_ROOT/build/cache"
DEBIAN_SUITE=bookworm
DEBIAN_VARIANT=minbase
DEBIAN_MIRROR="${RUNCVM_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
# Bump to force a rebuild when the recipe in this script changes.
RECIPE_VERSION=1

have_cmd docker || die "docker CLI not found (run scripts/install-deps.sh)"
docker info >/dev/null 2>&1 || die "dockerd is not reachable (run scripts/start-dockerd.sh)"

TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT

sha256() { sha256sum | cut -d' ' -f1; }

image_hash() {
  docker image inspect -f "{{ index .Config.Labels \"$LABEL\" }}" "$1" 2>/dev/null || true
}

# up_to_date IMAGE HASH
up_to_date() {
  [ "${RUNCVM_FORCE_IMAGES:-0}" != 1 ] && [ "$(image_hash "$1")" = "$2" ]
}

# docker_build IMAGE HASH CONTEXT — legacy builder, output kept in a log.
docker_build() {
  local image=$1 hash=$2 ctx=$3 blog="$TMP/build.log"
  if ! DOCKER_BUILDKIT=0 docker build --pull=false --label "$LABEL=$hash" -t "$image" "$ctx" >"$blog" 2>&1; then
    tail -n 40 "$blog" >&2
    die "docker build of $image failed"
  fi
}

build_busybox() {
  local image=runcvm-test/busybox src="$IMAGES_DIR/busybox" ctx="$TMP/busybox" bb hash
  bb="$(readlink -f /bin/busybox 2>/dev/null || true)"
  [ -x "$bb" ] || die "/bin/busybox not found (apt-get install busybox-static)"
  # The image needs a static busybox (FROM scratch has no libc).
  if have_cmd readelf && readelf -l "$bb" 2>/dev/null | grep -q 'INTERP'; then
    die "$bb is dynamically linked; install busybox-static (not busybox)"
  fi
  mkdir -p "$ctx"
  cp "$src/Dockerfile" "$src/passwd" "$src/group" "$ctx/"
  cp "$bb" "$ctx/busybox"
  hash="$( (echo "recipe=$RECIPE_VERSION"; cd "$ctx" && sha256sum Dockerfile passwd group busybox) | sha256)"
  if up_to_date "$image" "$hash"; then
    log "$image is up to date (hash ${hash:0:12}); reusing it"
    return
  fi
  log "building $image (hash ${hash:0:12}) from test/images/busybox + $bb"
  local t0=$SECONDS
  docker_build "$image" "$hash" "$ctx"
  log "built $image in $(fmt_secs $((SECONDS - t0)))"
}

build_debian() {
  local image=runcvm-test/debian base=runcvm-test/debian-base src="$IMAGES_DIR/debian"
  local base_hash hash tarball t0
  # Inputs of the rootfs: suite, variant, mirror, recipe. The tarball itself is
  # not hashed so that an up-to-date image needs no tarball at all.
  base_hash="$(printf 'recipe=%s\nsuite=%s\nvariant=%s\nmirror=%s\n' \
    "$RECIPE_VERSION" "$DEBIAN_SUITE" "$DEBIAN_VARIANT" "$DEBIAN_MIRROR" | sha256)"
  hash="$( (echo "base=$base_hash"; cd "$src" && sha256sum Dockerfile) | sha256)"
  if up_to_date "$image" "$hash"; then
    log "$image is up to date (hash ${hash:0:12}); reusing it"
    return
  fi

  if up_to_date "$base" "$base_hash"; then
    log "$base is up to date (hash ${base_hash:0:12}); reusing it"
  else
    tarball="$CACHE_DIR/debian-$DEBIAN_SUITE-$DEBIAN_VARIANT-${base_hash:0:12}.tar"
    if [ -s "$tarball" ]; then
      log "reusing cached rootfs $tarball"
    else
      have_cmd mmdebstrap || die "mmdebstrap not found (run scripts/install-deps.sh)"
      mkdir -p "$CACHE_DIR"
      log "creating Debian $DEBIAN_SUITE $DEBIAN_VARIANT rootfs with mmdebstrap from $DEBIAN_MIRROR (about a minute)"
      t0=$SECONDS
      if ! mmdebstrap --quiet --variant="$DEBIAN_VARIANT" --format=tar \
          "$DEBIAN_SUITE" "$tarball.part" "$DEBIAN_MIRROR" >"$TMP/mmdebstrap.log" 2>&1; then
        tail -n 40 "$TMP/mmdebstrap.log" >&2
        rm -f "$tarball.part"
        die "mmdebstrap failed"
      fi
      mv "$tarball.part" "$tarball"
      log "rootfs ready in $(fmt_secs $((SECONDS - t0))): $tarball ($(du -h "$tarball" | cut -f1))"
    fi
    log "importing $tarball as $base"
    docker import --change "LABEL $LABEL=$base_hash" --change 'CMD ["/bin/bash"]' \
      "$tarball" "$base" >/dev/null || die "docker import failed"
  fi

  log "building $image (hash ${hash:0:12}) from test/images/debian"
  t0=$SECONDS
  mkdir -p "$TMP/debian"
  cp "$src/Dockerfile" "$TMP/debian/"
  docker_build "$image" "$hash" "$TMP/debian"
  log "built $image in $(fmt_secs $((SECONDS - t0)))"
}

# build_postgres: on top of runcvm-test/debian, so its hash includes that image's.
build_postgres() {
  local image=runcvm-test/postgres src="$IMAGES_DIR/postgres" hash t0
  [ -n "$(image_hash runcvm-test/debian)" ] || build_debian
  hash="$( (echo "debian=$(image_hash runcvm-test/debian)"; cd "$src" && sha256sum Dockerfile) | sha256)"
  if up_to_date "$image" "$hash"; then
    log "$image is up to date (hash ${hash:0:12}); reusing it"
    return
  fi
  log "building $image (hash ${hash:0:12}) from test/images/postgres (apt-get install postgresql)"
  t0=$SECONDS
  mkdir -p "$TMP/postgres"
  cp "$src/Dockerfile" "$TMP/postgres/"
  docker_build "$image" "$hash" "$TMP/postgres"
  log "built $image in $(fmt_secs $((SECONDS - t0)))"
}

targets=("$@")
[ "${#targets[@]}" -gt 0 ] || targets=(busybox debian postgres)
for t in "${targets[@]}"; do
  case "$t" in
    busybox) build_busybox ;;
    debian)  build_debian ;;
    postgres) build_postgres ;;
    *) die "unknown test image '$t' (expected: busybox, debian, postgres)" ;;
  esac
done
log "test images ready: $(printf 'runcvm-test/%s ' "${targets[@]}")"
