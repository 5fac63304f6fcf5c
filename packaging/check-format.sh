#!/usr/bin/env bash
# The formatting check (issue 13, item 7): every C++ source and header of the layers and tests
# is as `.clang-format` says (clang-format 14, Debian 12). Prints the offending files and exits 1
# otherwise. To fix: packaging/check-format.sh --fix [FILE...] (with files: only those, so a
# shared working tree's other edits are left alone)
set -euo pipefail
cd "$(dirname "$0")/.."
mapfile -t files < <(git ls-files 'config/*.cc' 'config/*.h' 'balancer/*.cc' 'balancer/*.h' \
  'ratelimit/*.cc' 'ratelimit/*.h' 'filters/*.cc' 'filters/*.h' 'proxy/*.cc' 'proxy/*.h' \
  'tests/*.cc' 'tests/*.h')
if [ "${1:-}" = "--fix" ]; then
  shift
  if [ $# -gt 0 ]; then
    clang-format -i "$@"
  else
    clang-format -i "${files[@]}"
  fi
  exit 0
fi
bad=()
for f in "${files[@]}"; do
  clang-format --dry-run --Werror "$f" >/dev/null 2>&1 || bad+=("$f")
done
if [ ${#bad[@]} -gt 0 ]; then
  printf 'Not formatted as .clang-format says (run packaging/check-format.sh --fix):\n' >&2
  printf '  %s\n' "${bad[@]}" >&2
  exit 1
fi
echo "format: ${#files[@]} files clean"
