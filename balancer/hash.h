// Hashing and cheap randomness for the balancers: a 64-bit string hash for request keys and ring
// positions, a 64-bit mixer, and a tiny seedable generator (randomness is injected as a seed so
// tests are exact).
#pragma once

#include <cstdint>
#include <string_view>

namespace sluice::balancer {

// XXH64 (seed 0) of `key`. The proxy calls it on any thread with the request's hash-key string
// (ip, path, header value, ...) and passes the result as PickRequest::hash; the proxy also uses
// it on a target's address to give TargetWeight::id. Stable across processes and versions.
uint64_t hashKey(std::string_view key);

// The splitmix64 finaliser: a bijective avalanche of a 64-bit value.
constexpr uint64_t mix64(uint64_t x) {
  x ^= x >> 30;
  x *= 0xBF58476D1CE4E5B9ull;
  x ^= x >> 27;
  x *= 0x94D049BB133111EBull;
  x ^= x >> 31;
  return x;
}

// splitmix64: a 64-bit generator with one word of state. Not thread-safe; each balancer (one
// worker) owns its own.
class SplitMix64 {
 public:
  explicit SplitMix64(uint64_t seed) : state_(seed) {}
  uint64_t next() {
    state_ += 0x9E3779B97F4A7C15ull;
    return mix64(state_);
  }

 private:
  uint64_t state_;
};

// A uniform index in [0, n) from 32 random bits (Lemire's multiply-shift; bias < n / 2^32).
constexpr uint32_t scaleToRange(uint32_t random32, uint32_t n) {
  return static_cast<uint32_t>((static_cast<uint64_t>(random32) * n) >> 32);
}

}  // namespace sluice::balancer
