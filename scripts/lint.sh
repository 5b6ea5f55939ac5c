#!/usr/bin/env bash
# Format and lint checks of the whole tree: Biome (format + lint) for TypeScript and JavaScript,
# clang-format (.clang-format) for C, the TypeScript type check. Exits non-zero on any finding.
#   scripts/lint.sh         check only (what CI runs)
#   scripts/lint.sh --fix   rewrite files: Biome's safe fixes and format, clang-format -i
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

FIX=0
case "${1:-}" in
  --fix) FIX=1 ;;
  '') ;;
  *) die "scripts/lint.sh: unknown option '$1' (allowed: --fix)" ;;
esac

CLANG_FORMAT=$(command -v clang-format || command -v clang-format-14 || true)
[ -n "$CLANG_FORMAT" ] || die "clang-format not found: run scripts/install-deps.sh"
mapfile -t C_FILES < <(git ls-files '*.c' '*.h')

rc=0
if [ "$FIX" = 1 ]; then
  npx --no-install biome check --write . || rc=1
  "$CLANG_FORMAT" -i "${C_FILES[@]}"
else
  npx --no-install biome check . || rc=1
  "$CLANG_FORMAT" --dry-run --Werror "${C_FILES[@]}" || rc=1
fi
npx --no-install tsc -p tsconfig.json --noEmit || rc=1
[ "$rc" = 0 ] && log "lint: clean" || log "lint: findings above (scripts/lint.sh --fix rewrites what can be fixed)"
exit "$rc"
