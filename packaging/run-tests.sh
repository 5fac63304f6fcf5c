#!/usr/bin/env bash
# Installs what is missing, builds everything under AddressSanitizer and
# UndefinedBehaviorSanitizer, and runs every test (unit and integration) with ctest.
set -euo pipefail
cd "$(dirname "$0")/.."
packaging/check-layers.sh  # no include points upward (config <- ... <- proxy)
packaging/install-deps.sh
packaging/check-format.sh  # every C++ file as .clang-format says (clang-format 14)
cmake -S . -B build-ci -G Ninja -DCMAKE_BUILD_TYPE=Debug -DSLUICE_SANITIZE=ON >/dev/null
ninja -C build-ci -j2
# A small quarantine: the memory-bound tests (100 MiB streamed under 64 MiB of RSS) measure
# sluice, not ASan's pool of freed blocks.
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:quarantine_size_mb=4
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
ctest --test-dir build-ci --output-on-failure -j2 --timeout 900
