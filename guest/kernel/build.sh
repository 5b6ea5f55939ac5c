#!/usr/bin/env bash
# Builds the runcvm guest kernel: Debian's linux-source-6.1 (apt, no other download) with the
# repo's patches (guest/kernel/patches/*.patch, applied in order), `make
# tinyconfig`, the repo's fragment (guest/kernel/runcvm.config) merged on top, olddefconfig, and
# a check that every option of the fragment landed (olddefconfig silently drops an option whose
# dependencies are missing). Only the ELF vmlinux is built: QEMU and Firecracker boot it via PVH.
#
# Cached outside the clone by hash(fragment + patches + source package version + this script), so reruns
# and other clones are instant: $RUNCVM_KERNEL_CACHE (default /var/cache/runcvm/kernel)/<hash>/
# holds vmlinux, config, kernel.release and modules.missing (missing.pl: the options this kernel
# lacks, by the module names the kernel requests them by). Reproducible: build timestamp, user
# and host fixed.
#
# Usage: guest/kernel/build.sh OUTDIR   (copies those four files into OUTDIR)
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
FRAGMENT="$HERE/runcvm.config"
SELF="$HERE/build.sh"
MISSING="$HERE/missing.pl"
PATCHES=("$HERE"/patches/*.patch)
SRC_PKG=linux-source-6.1
CACHE_ROOT=$(realpath -m "${RUNCVM_KERNEL_CACHE:-/var/cache/runcvm/kernel}")

say() { printf 'kernel-build: %s\n' "$*" >&2; }
die() { printf 'kernel-build: error: %s\n' "$*" >&2; exit 1; }

[[ $# -eq 1 ]] || die "usage: $0 OUTDIR"
OUT=$(realpath -m "$1")

# The packages a kernel build needs beyond build-essential (scripts/install-deps.sh installs
# them; checked here so a missing one is named instead of failing deep inside make).
need_tools() {
  local missing=() t
  for t in make gcc flex bison bc perl xz strip flock patch; do command -v "$t" >/dev/null || missing+=("$t"); done
  [[ -e /usr/include/libelf.h ]] || missing+=("libelf-dev")
  [[ ${#missing[@]} -eq 0 ]] || die "missing build tools: ${missing[*]} (run scripts/install-deps.sh)"
}

source_version() {
  dpkg-query -W -f '${Status} ${Version}\n' "$SRC_PKG" 2>/dev/null | awk '$3 == "installed" {print $4}'
}

# check_config FRAGMENT CONFIG: every CONFIG_X=v of the fragment must be in the final .config
# (=n: absent or "is not set"). Prints the ones that are not and fails.
check_config() {
  local fragment=$1 config=$2 line key want got bad=()
  while IFS= read -r line; do
    [[ $line =~ ^(CONFIG_[A-Za-z0-9_]+)=(.*)$ ]] || continue
    key=${BASH_REMATCH[1]} want=${BASH_REMATCH[2]}
    got=$(grep -E "^$key=" "$config" | head -n1 | cut -d= -f2- || true)
    if [[ $want == n ]]; then
      [[ -z $got ]] || bad+=("$key=n (is $got)")
    elif [[ $got != "$want" ]]; then
      bad+=("$key=$want (is ${got:-not set})")
    fi
  done < "$fragment"
  if [[ ${#bad[@]} -gt 0 ]]; then
    printf 'kernel-build: error: the final .config lacks %d option(s) of %s (a dependency is missing; add it to the fragment):\n' "${#bad[@]}" "$fragment" >&2
    printf '  %s\n' "${bad[@]}" >&2
    return 1
  fi
}

# extract_source VERSION DIR: the package's tarball unpacked once per version, with the patches.
# DIR/.patches lists the hashes of those applied, in order. When it is a prefix of this checkout's
# list, only the rest is applied, so kbuild recompiles the files they touch and nothing else;
# any other difference (a patch changed or dropped) extracts afresh.
extract_source() {
  local ver=$1 dir=$2 tarball="/usr/src/$SRC_PKG.tar.xz" want have p
  want=$(patch_hashes)
  if [[ -e $dir/.extracted ]]; then
    have=$(cat "$dir/.patches" 2>/dev/null || true)
    [[ $have == "$want" ]] && return
    if [[ -z $have || $want == "$have"$'\n'* ]]; then
      apply_patches "$dir" "$(printf '%s\n' "$have" | grep -c . || true)"
      return
    fi
    say "$dir has other patches applied: extracting afresh"
  fi
  [[ -e $tarball ]] || die "$tarball is missing (apt-get install $SRC_PKG)"
  say "extracting $tarball ($ver)"
  rm -rf "$dir" "$dir.tmp"; mkdir -p "$dir.tmp"
  tar -xJf "$tarball" -C "$dir.tmp" --strip-components=1
  apply_patches "$dir.tmp" 0
  mv "$dir.tmp" "$dir"
  touch "$dir/.extracted"
}

patch_hashes() {
  local p
  for p in "${PATCHES[@]}"; do [[ -e $p ]] && sha256sum "$p" | cut -c1-16; done
  return 0
}

# apply_patches DIR SKIP: the patches after the first SKIP, recorded in DIR/.patches as applied.
apply_patches() {
  local dir=$1 skip=$2 i=0 p
  for p in "${PATCHES[@]}"; do
    [[ -e $p ]] || continue
    i=$((i + 1))
    [[ $i -le $skip ]] && continue
    say "applying $(basename "$p")"
    patch -s -p1 -N -d "$dir" < "$p" || die "$(basename "$p") does not apply to $dir"
    sha256sum "$p" | cut -c1-16 >> "$dir/.patches"
  done
}

build() {
  local ver=$1 dest=$2
  local src="$CACHE_ROOT/src-$ver"
  # One build tree for all hashes: a changed fragment rebuilds incrementally (kbuild tracks
  # each object's config dependencies), where a fresh tree would take the full cold build.
  local tree="$CACHE_ROOT/tree"
  extract_source "$ver" "$src"
  mkdir -p "$tree"
  # Reproducible: the same inputs give the same vmlinux on any machine.
  export KBUILD_BUILD_TIMESTAMP='Thu Jan  1 00:00:00 UTC 1970' KBUILD_BUILD_USER=runcvm KBUILD_BUILD_HOST=runcvm KBUILD_BUILD_VERSION=1
  local mk=(make -s -C "$src" O="$tree" ARCH=x86_64)
  "${mk[@]}" tinyconfig >&2
  "$src/scripts/kconfig/merge_config.sh" -m -O "$tree" "$tree/.config" "$FRAGMENT" >/dev/null
  "${mk[@]}" olddefconfig >&2
  check_config "$FRAGMENT" "$tree/.config" || die "config check failed"
  # One job more than CPUs keeps them busy while a job waits for the disk.
  local jobs=$(( $(nproc) + 1 ))
  say "make -j$jobs vmlinux (a cold build takes ~30 min on 2 idle cores)"
  local t0=$SECONDS
  "${mk[@]}" -j"$jobs" vmlinux >&2 || die "make vmlinux failed (tree $tree)"
  say "compiled in $((SECONDS - t0)) s"
  local tmp="$dest.tmp"
  rm -rf "$tmp"; mkdir -p "$tmp"
  # No debug info is built; stripping drops the symbol table (KALLSYMS keeps /proc/kallsyms).
  strip -o "$tmp/vmlinux" "$tree/vmlinux"
  cp "$tree/.config" "$tmp/config"
  perl "$MISSING" "$src" "$tree/.config" > "$tmp/modules.missing"
  "${mk[@]}" kernelrelease > "$tmp/kernel.release"
  printf '%s\n' "$((SECONDS - t0))" > "$tmp/build-seconds"
  rm -rf "$dest"; mv "$tmp" "$dest"
}

main() {
  need_tools
  local ver hash dest
  ver=$(source_version)
  [[ -n $ver ]] || die "$SRC_PKG is not installed (apt-get install $SRC_PKG)"
  hash=$( { cat "$FRAGMENT" "$SELF" "$MISSING"; patch_hashes; printf '%s %s\n' "$SRC_PKG" "$ver"; } | sha256sum | cut -c1-16)
  dest="$CACHE_ROOT/$hash"
  mkdir -p "$CACHE_ROOT"
  # Two clones building at once share the tree: one builds, the other waits for its result.
  exec 9> "$CACHE_ROOT/.lock"
  flock 9
  if [[ -e $dest/vmlinux ]]; then
    say "$SRC_PKG $ver, config $hash: cached in $dest"
  else
    say "$SRC_PKG $ver, config $hash: building into $dest"
    build "$ver" "$dest"
  fi
  flock -u 9
  mkdir -p "$OUT"
  local f
  for f in vmlinux config kernel.release modules.missing; do
    cmp -s "$dest/$f" "$OUT/$f" 2>/dev/null || cp "$dest/$f" "$OUT/$f"
  done
  say "$OUT/vmlinux: $(cat "$OUT/kernel.release"), $(stat -c %s "$OUT/vmlinux") bytes"
}

main "$@"
