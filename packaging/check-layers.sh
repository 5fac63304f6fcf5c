#!/usr/bin/env bash
# The layer order check (issue 13, item 7): no include points upward.
#   config <- balancer, ratelimit <- filters/base <- filters <- proxy
# A layer includes only itself and the layers below it; sources never include tests/; the pure
# layers (config, balancer, ratelimit, filters/base) never include libuv, llhttp or OpenSSL.
# Prints every offending include as file:line and exits 1; exits 0 when the tree is clean.
# Usage: packaging/check-layers.sh [source root, default: the repository of this script]
set -euo pipefail
root=${1:-"$(cd "$(dirname "$0")/.." && pwd)"}
cd "$root"

# The layer a repository path belongs to (filters/base before filters), or nothing.
layer_of() {
  case "$1" in
    config/*) echo config ;;
    balancer/*) echo balancer ;;
    ratelimit/*) echo ratelimit ;;
    filters/base/*) echo filters/base ;;
    filters/*) echo filters ;;
    proxy/*) echo proxy ;;
    tests/*) echo tests ;;
  esac
}

# The layers each layer may include (itself included).
allowed() {
  case "$1" in
    config) echo "config" ;;
    balancer) echo "config balancer" ;;
    ratelimit) echo "config ratelimit" ;;
    filters/base) echo "config filters/base" ;;
    filters) echo "config balancer ratelimit filters/base filters" ;;
    proxy) echo "config balancer ratelimit filters/base filters proxy" ;;
  esac
}

pure() { [[ $1 == config || $1 == balancer || $1 == ratelimit || $1 == filters/base ]]; }

offenders=0
while IFS= read -r file; do
  from=$(layer_of "$file")
  [[ -n $from ]] || continue
  while IFS=: read -r line text; do
    target=$(sed -E 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*[<"]([^">]+)[">].*/\1/' <<<"$text")
    why=""
    to=$(layer_of "$target")
    if [[ $to == tests ]]; then
      why="sources never include tests/"
    elif [[ -n $to && " $(allowed "$from") " != *" $to "* ]]; then
      why="$from may include only: $(allowed "$from")"
    elif pure "$from" && [[ $target == uv.h || $target == llhttp.h || $target == openssl/* ]]; then
      why="$from is pure logic: no libuv, llhttp or OpenSSL"
    fi
    if [[ -n $why ]]; then
      echo "$file:$line: #include ${target} -- $why"
      offenders=$((offenders + 1))
    fi
  done < <(grep -nE '^[[:space:]]*#[[:space:]]*include[[:space:]]*[<"]' "$file" || true)
done < <(find config balancer ratelimit filters proxy -type f \( -name '*.h' -o -name '*.cc' \) | sort)

if ((offenders > 0)); then
  echo "check-layers: $offenders include(s) point upward or out of a pure layer" >&2
  exit 1
fi
echo "check-layers: the layer order holds"
