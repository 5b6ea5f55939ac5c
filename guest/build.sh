#!/usr/bin/env bash
# Builds the guest half of runcvm: for each guest kernel, the ELF vmlinux QEMU/Firecracker boot
# via PVH and the initramfs whose /init is the runcvm agent.
#   OUT/runcvm/  the runcvm kernel (guest/kernel/build.sh; everything built in): agent only
#   OUT/         Debian's generic kernel (linux-image-amd64) plus the modules it needs
# Idempotent: steps whose outputs are newer than their inputs are skipped.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$REPO"
OUT=$(realpath -m "${RUNCVM_GUEST_OUT:-build/guest}")
CACHE=$(realpath -m "${RUNCVM_GUEST_CACHE:-build/cache}")
AGENT_SRC="$REPO/guest/agent"

# Modules the initramfs must carry (with their dependencies). Builtin ones are fine.
# Firecracker needs virtio_mmio (it matches the ACPI id LNRO0005 Firecracker describes its devices
# with; this kernel has no virtio_mmio.device= parsing), virtio_blk, virtio_net and the vsock trio
# (the agent channel there); 8250 serial and the i8042 reset it also uses are built in.
MODULES=(virtio_mmio virtio_pci virtio_blk virtio_net virtio_console fuse virtiofs overlay
         vsock vmw_vsock_virtio_transport_common vmw_vsock_virtio_transport virtio_balloon 9p 9pnet_virtio 9pnet_fd ext4)
# Modules the initramfs carries but loads only when the kernel asks for them (the agent is the
# kernel's /sbin/modprobe; docs/system.md), so ordinary containers do not pay for them at boot.
# Docker-in-Docker: the bridge network and the iptables(-nft or legacy) rules dockerd sets up.
ONDEMAND_MODULES=(bridge br_netfilter veth nf_tables nft_compat nft_chain_nat nft_masq nft_ct
                  xt_conntrack xt_MASQUERADE xt_addrtype xt_nat xt_tcpudp xt_mark xt_comment
                  xt_multiport iptable_nat iptable_filter ip6table_nat ip6table_filter
                  nft_reject_inet ipt_REJECT)
# A bridge brings br_netfilter along, as dockerd's own `modprobe br_netfilter` does on a host
# (the guest has no modprobe it could run; without it bridged traffic bypasses iptables).
declare -A ONDEMAND_WITH=([bridge]=br_netfilter)

say() { printf 'guest-build: %s\n' "$*" >&2; }
die() { printf 'guest-build: error: %s\n' "$*" >&2; exit 1; }
# newer OUT IN...: true when OUT exists and is newer than every IN.
newer() {
  local out=$1; shift
  [[ -e $out ]] || return 1
  local f
  for f in "$@"; do [[ $f -nt $out ]] && return 1; done
  return 0
}

mkdir -p "$OUT" "$CACHE"

resolve_kernel_pkg() {
  local pkg
  pkg=$(apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/{print $2; exit}') || true
  if [[ -z ${pkg:-} ]]; then
    say "apt-cache knows no linux-image-amd64; running apt-get update"
    apt-get update -qq >&2
    pkg=$(apt-cache depends linux-image-amd64 | awk '/Depends: linux-image-[0-9]/{print $2; exit}')
  fi
  [[ -n ${pkg:-} ]] || die "cannot resolve linux-image-amd64 to a versioned kernel package"
  printf '%s\n' "$pkg"
}

download_kernel() {
  local pkg=$1 deb
  deb=$(ls "$CACHE"/"${pkg}"_*.deb 2>/dev/null | sort -V | tail -n1 || true)
  if [[ -n $deb ]]; then
    say "kernel package $(basename "$deb"): cached"
  else
    say "downloading $pkg with apt-get download"
    (cd "$CACHE" && apt-get download "$pkg" >&2) || die "apt-get download $pkg failed"
    deb=$(ls "$CACHE"/"${pkg}"_*.deb | sort -V | tail -n1)
  fi
  printf '%s\n' "$deb"
}

extract_deb() {
  local deb=$1 dir=$2
  if newer "$dir/.extracted" "$deb"; then
    say "extracting $(basename "$deb"): cached"
    return
  fi
  say "extracting $(basename "$deb") into $dir"
  rm -rf "$dir"; mkdir -p "$dir"
  dpkg-deb -x "$deb" "$dir"
  touch "$dir/.extracted"
}

# le32 FILE OFFSET / u8 FILE OFFSET: read little-endian integers from the bzImage header.
le32() { od -An -t u4 -j "$2" -N 4 --endian=little "$1" | tr -d ' '; }
u8() { od -An -t u1 -j "$2" -N 1 "$1" | tr -d ' '; }

# Names the compression of a payload by its magic bytes.
detect_compression() {
  local magic
  magic=$(od -An -t x1 -N 6 "$1" | tr -d ' \n')
  case $magic in
    fd377a585a00*) echo xz ;;
    02214c18*) echo lz4 ;;
    1f8b*) echo gzip ;;
    28b52ffd*) echo zstd ;;
    5d0000*) echo lzma ;;
    425a68*) echo bzip2 ;;
    *) echo "unknown:$magic" ;;
  esac
}

extract_vmlinux() {
  local vmlinuz=$1 out=$2
  if newer "$out" "$vmlinuz"; then say "vmlinux: cached"; return; fi
  local setup_sects off len start tmp comp
  setup_sects=$(u8 "$vmlinuz" $((0x1F1)))
  off=$(le32 "$vmlinuz" $((0x248)))
  len=$(le32 "$vmlinuz" $((0x24C)))
  # setup_sects 0 means 4 by the boot protocol.
  [[ $setup_sects -eq 0 ]] && setup_sects=4
  start=$(( (setup_sects + 1) * 512 + off ))
  tmp="$out.payload"
  dd if="$vmlinuz" of="$tmp" bs=1M iflag=skip_bytes,count_bytes skip="$start" count="$len" status=none
  comp=$(detect_compression "$tmp")
  say "vmlinux: payload at $start, $len bytes, $comp compressed"
  # The decompressors may complain about the 4 trailing size bytes; the ELF check below decides.
  case $comp in
    xz) xz -dc < "$tmp" > "$out.tmp" 2>/dev/null || true ;;
    lz4) lz4 -dc < "$tmp" > "$out.tmp" 2>/dev/null || true ;;
    gzip) gzip -dc < "$tmp" > "$out.tmp" 2>/dev/null || true ;;
    zstd) zstd -dc < "$tmp" > "$out.tmp" 2>/dev/null || true ;;
    lzma) xz --format=lzma -dc < "$tmp" > "$out.tmp" 2>/dev/null || true ;;
    bzip2) bzip2 -dc < "$tmp" > "$out.tmp" 2>/dev/null || true ;;
    *) rm -f "$tmp"; die "unknown kernel payload compression ($comp)" ;;
  esac
  rm -f "$tmp"
  [[ $(od -An -t x1 -N 4 "$out.tmp" | tr -d ' \n') == 7f454c46 ]] \
    || { rm -f "$out.tmp"; die "decompressed kernel payload is not an ELF file"; }
  mv "$out.tmp" "$out"
  say "vmlinux: $(stat -c %s "$out") bytes, ELF"
}

# resolve_modules TREE VER MODULE...: prints the module file paths (relative to the tree) in
# load order, deduplicated.
resolve_modules() {
  local tree=$1 ver=$2 mod line path
  shift 2
  declare -A seen=()
  for mod in "$@"; do
    local deps
    deps=$(modprobe -d "$tree" -S "$ver" --show-depends "$mod" 2>&1) \
      || die "module $mod not found in kernel $ver: $deps"
    while IFS= read -r line; do
      case $line in
        builtin\ *) continue ;;
        insmod\ *)
          path=${line#insmod }; path=${path%% *}
          path=${path#"$tree"/}
          [[ -n ${seen[$path]:-} ]] && continue
          seen[$path]=1
          printf '%s\n' "$path" ;;
        *) die "module $mod: unexpected modprobe output: $line" ;;
      esac
    done <<< "$deps"
  done
}

# stage_ko TREE REL STAGE: puts one module, decompressed, under STAGE/modules; prints its path
# in the initramfs.
stage_ko() {
  local tree=$1 rel=$2 stage=$3 name dst
  name=$(basename "$rel")
  case $name in
    *.ko.xz) dst="/modules/${name%.xz}"; [[ -e $stage$dst ]] || xz -dc "$tree/$rel" > "$stage$dst" ;;
    *.ko.zst) dst="/modules/${name%.zst}"; [[ -e $stage$dst ]] || zstd -qdc "$tree/$rel" > "$stage$dst" ;;
    *.ko.gz) dst="/modules/${name%.gz}"; [[ -e $stage$dst ]] || gzip -dc "$tree/$rel" > "$stage$dst" ;;
    *.ko) dst="/modules/$name"; cp "$tree/$rel" "$stage$dst" ;;
    *) die "unexpected module file $rel" ;;
  esac
  printf '%s\n' "$dst"
}

stage_modules() {
  local kroot=$1 ver=$2 stage=$3
  local tree="$CACHE/modtree-$ver"
  if ! newer "$tree/lib/modules/$ver/modules.dep" "$kroot/.extracted"; then
    say "modules: building depmod'ed tree for $ver"
    rm -rf "$tree"; mkdir -p "$tree/lib/modules"
    cp -a "$kroot/lib/modules/$ver" "$tree/lib/modules/"
    depmod -b "$tree" "$ver"
  else
    say "modules: depmod tree cached"
  fi
  mkdir -p "$stage/modules"
  : > "$stage/modules.list"
  local rel list
  declare -A boot=()
  # A plain assignment, so that a failed lookup (die in the subshell) stops the build.
  list=$(resolve_modules "$tree" "$ver" "${MODULES[@]}")
  while IFS= read -r rel; do
    boot[$rel]=1
    stage_ko "$tree" "$rel" "$stage" >> "$stage/modules.list"
  done <<< "$list"
  say "modules: $(wc -l < "$stage/modules.list") to load: $(xargs -n1 basename < "$stage/modules.list" | tr '\n' ' ')"
  stage_ondemand "$tree" "$ver" "$stage" boot
}

# /modules.ondemand, one line per name the kernel may request: the module's name or one of its
# aliases (a shell pattern, as modprobe matches them), then the files to load in order. Modules
# loaded at boot are left out of the chains: they are in, and their files are gone by then.
stage_ondemand() {
  local tree=$1 ver=$2 stage=$3
  local -n loaded=$4
  local all rel dep dst mod chain key n=0
  all=$(resolve_modules "$tree" "$ver" "${ONDEMAND_MODULES[@]}")
  : > "$stage/modules.ondemand"
  while IFS= read -r rel; do
    [[ -n ${loaded[$rel]:-} ]] && continue
    mod=$(basename "$rel"); mod=${mod%%.ko*}; mod=${mod//-/_}
    chain=$(resolve_modules "$tree" "$ver" "${ONDEMAND_WITH[$mod]:-$mod}")
    local files=()
    while IFS= read -r dep; do
      [[ -n ${loaded[$dep]:-} ]] && continue
      dst=$(stage_ko "$tree" "$dep" "$stage") # plain assignment: a die stops the build
      files+=("$dst")
    done <<< "$chain"
    local keys=("$mod")
    mapfile -t -O 1 keys < <(modinfo -b "$tree" -k "$ver" -F alias "$mod")
    for key in "${keys[@]}"; do
      printf '%s %s\n' "$key" "${files[*]}" >> "$stage/modules.ondemand"
    done
    n=$((n + 1))
  done <<< "$all"
  say "modules: $n on demand ($(wc -l < "$stage/modules.ondemand") names)"
}

build_agent() {
  if make -q -C "$AGENT_SRC" OUT="$OUT" >/dev/null 2>&1; then
    say "agent: cached"
  else
    say "agent: building with make"
    make -C "$AGENT_SRC" OUT="$OUT" >&2
  fi
}

build_initramfs() {
  local kroot=$1 ver=$2 deb=$3
  local img="$OUT/initramfs.cpio"
  if newer "$img" "$deb" "$OUT/runcvm-agent" "$REPO/guest/build.sh"; then
    say "initramfs: cached"; return
  fi
  # Under OUT, not the shared download cache: two trees building at once must not share it.
  local stage="$OUT/initramfs.d"
  stage_base "$stage"
  stage_modules "$kroot" "$ver" "$stage"
  write_cpio "$stage" "$img"
}

# stage_base STAGE: the agent as /init, and the directories it mounts on.
stage_base() {
  local stage=$1
  rm -rf "$stage"; mkdir -p "$stage"/{dev,proc,sys,newroot,sbin}
  install -m 0755 "$OUT/runcvm-agent" "$stage/init"
  # The agent is also the kernel's module helper (modprobe.c). A hard link: the helper is reached
  # through /proc/1/fd/N/, from which a relative symlink does not resolve.
  ln "$stage/init" "$stage/sbin/modprobe"
}

# write_cpio STAGE IMG
write_cpio() {
  local stage=$1 img=$2
  # The cpio needs dev/console before /init runs (the kernel opens it for init's stdio), but
  # mknod needs root; gen_init_cpio-style specs are not available, so build the list by hand.
  say "initramfs: writing $img"
  (
    cd "$stage"
    {
      find . -mindepth 1 | LC_ALL=C sort | sed 's|^\./||'
    } | cpio --quiet -o -H newc -R 0:0 --reproducible > "$img.tmp"
  )
  append_console "$img.tmp"
  mv "$img.tmp" "$img"
  say "initramfs: $(stat -c %s "$img") bytes"
}

# The runcvm kernel (guest/kernel/build.sh) has everything built in: its initramfs is the agent
# plus /modules.missing, which lets the modprobe helper name the CONFIG_* option behind a
# feature this kernel lacks when the kernel asks for it.
build_runcvm() {
  local dir="$OUT/runcvm"
  bash "$REPO/guest/kernel/build.sh" "$dir"
  local img="$dir/initramfs.cpio"
  if newer "$img" "$OUT/runcvm-agent" "$REPO/guest/build.sh" "$dir/modules.missing"; then
    say "runcvm initramfs: cached"; return
  fi
  local stage="$dir/initramfs.d"
  stage_base "$stage"
  cp "$dir/modules.missing" "$stage/modules.missing"
  write_cpio "$stage" "$img"
}

# newc_entry NAME MODE RDEVMAJOR RDEVMINOR: prints one empty-bodied newc record. Used for
# dev/console so that building the image needs no mknod privilege.
newc_entry() {
  local name=$1 mode=$2 maj=$3 min=$4 namesize pad
  namesize=$(( ${#name} + 1 ))
  printf '070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X' \
    1 "$mode" 0 0 1 0 0 0 0 "$maj" "$min" "$namesize" 0
  printf '%s\0' "$name"
  pad=$(( (4 - (110 + namesize) % 4) % 4 ))
  head -c "$pad" /dev/zero
}

# Appends a second archive holding dev/console (char 5,1): the kernel opens it for init's
# stdio before /init runs, and it unpacks concatenated newc archives.
append_console() {
  { newc_entry dev/console $((0020600)) 5 1; newc_entry TRAILER!!! 0 0 0; } >> "$1"
}

main() {
  local pkg deb kroot ver
  say "output $OUT, cache $CACHE"
  pkg=$(resolve_kernel_pkg)
  say "kernel package: $pkg"
  deb=$(download_kernel "$pkg")
  kroot="$CACHE/${pkg}"
  extract_deb "$deb" "$kroot"
  ver=$(ls "$kroot/lib/modules" | head -n1)
  [[ -n $ver ]] || die "no /lib/modules in $deb"
  say "kernel release $ver"
  if ! newer "$OUT/vmlinuz" "$kroot/.extracted"; then
    cp "$kroot/boot/vmlinuz-$ver" "$OUT/vmlinuz"
    say "vmlinuz: copied"
  else
    say "vmlinuz: cached"
  fi
  extract_vmlinux "$OUT/vmlinuz" "$OUT/vmlinux"
  printf '%s\n' "$ver" > "$OUT/kernel.release.tmp"
  if cmp -s "$OUT/kernel.release.tmp" "$OUT/kernel.release" 2>/dev/null; then
    rm "$OUT/kernel.release.tmp"
  else
    mv "$OUT/kernel.release.tmp" "$OUT/kernel.release"
  fi
  build_agent
  build_initramfs "$kroot" "$ver" "$deb"
  build_runcvm
  say "done: $OUT/{vmlinux,vmlinuz,initramfs.cpio,kernel.release} (debian), $OUT/runcvm/{vmlinux,initramfs.cpio,kernel.release,config} (runcvm)"
}

main "$@"
