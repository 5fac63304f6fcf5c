#!/usr/bin/env bash
# Installs what is missing, builds sluice and runs it on conf.d/sluice.yaml in front of a demo
# upstream on 127.0.0.1:9001. Then, from another terminal: curl -i localhost:8080/
set -euo pipefail
cd "$(dirname "$0")/.."
packaging/install-deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSLUICE_TESTS=OFF >/dev/null
ninja -C build sluice
python3 packaging/demo_upstream.py 9001 &
demo=$!
trap 'kill $demo 2>/dev/null || true' EXIT
echo "sluice on http://localhost:8080/ (admin on 127.0.0.1:9901); Ctrl-C stops"
build/sluice -c conf.d/sluice.yaml
