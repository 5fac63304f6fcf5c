#!/usr/bin/env bash
# Installs what building, running and testing sluice needs on Debian 12 (as root, or via sudo).
# Idempotent: packages already present are skipped by apt.
set -euo pipefail
PKGS=(
  build-essential cmake ninja-build pkg-config clang-format
  libuv1-dev libssl-dev libyaml-cpp-dev zlib1g-dev libbrotli-dev libzstd-dev libhiredis-dev node-llhttp
  libgoogle-perftools-dev
  # basic_auth: libxcrypt (crypt_rn: bcrypt, SHA-crypt); its tests make htpasswd files
  libcrypt-dev apache2-utils python3-bcrypt
  # jwt: JSON (JWKS, token headers and claims); its tests make tokens and keys
  nlohmann-json3-dev python3-jwt python3-cryptography
  # tracing: the strict OpenMetrics parser the exemplar test checks /metrics with
  python3-prometheus-client
  libgtest-dev libgmock-dev libbenchmark-dev
  # HTTP/2 (nghttp2) and its test clients: curl, nghttp/h2load, python3-h2, python3-grpcio
  libnghttp2-dev nghttp2-client python3-h2 python3-grpcio
  # routing: RE2 (route regexes), c-ares (SRV records)
  libre2-dev libc-ares-dev
  # io: uring (the io_uring socket backend)
  liburing-dev
  prometheus redis-server redis-sentinel wrk nginx-light haproxy curl python3 openssl brotli zstd
  # discovery: a real etcd v3 member for the upstreams[].discovery.etcd tests
  etcd-server
  # operations: sd_notify/socket activation, the .deb (cpack + dpkg-shlibdeps), systemd-analyze,
  # logrotate -d, and headless Chromium for the /status test (large, ~300 MB installed)
  libsystemd-dev systemd dpkg-dev fakeroot logrotate chromium
)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
