// The verified-token cache of a jwt filter: SHA-256 of a token -> its claims, until the token's
// exp, so a repeated token costs a hash and a lookup instead of a signature check. Bounded (LRU,
// split into shards each behind its own mutex, so workers seldom meet on one). Lives in the
// filter's factory: one per config snapshot, so a reload (new keys) starts empty.
#pragma once

#include <array>
#include <cstdint>
#include <cstring>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "filters/auth/sha256.h"
#include "filters/filter.h"

namespace sluice::filters::auth {

// A token's SHA-256: a fixed array, so a lookup allocates nothing.
using TokenDigest = Sha256Digest;

class TokenCache {
 public:
  explicit TokenCache(size_t capacity) : per_shard_(capacity / kShards + 1) {}

  // The claims cached for `digest` if still valid at `now` (unix seconds). Any thread.
  std::shared_ptr<const JwtClaims> find(const TokenDigest& digest, int64_t now) {
    Shard& s = shard(digest);
    std::lock_guard lock(s.mu);
    auto it = s.map.find(digest);
    if (it == s.map.end()) return nullptr;
    if (it->second->until <= now) {
      s.lru.erase(it->second);
      s.map.erase(it);
      return nullptr;
    }
    s.lru.splice(s.lru.begin(), s.lru, it->second);
    return it->second->claims;
  }

  // Remembers `claims` for `digest` until `until` (unix seconds); the least recently used entry
  // of the shard goes when it is full. Any thread.
  void insert(const TokenDigest& digest, std::shared_ptr<const JwtClaims> claims, int64_t until) {
    Shard& s = shard(digest);
    std::lock_guard lock(s.mu);
    if (s.map.count(digest) != 0) return;
    if (s.map.size() >= per_shard_) {
      s.map.erase(s.lru.back().digest);
      s.lru.pop_back();
    }
    s.lru.push_front(Entry{digest, std::move(claims), until});
    s.map.emplace(digest, s.lru.begin());
  }

 private:
  static constexpr size_t kShards = 16;
  struct Entry {
    TokenDigest digest;
    std::shared_ptr<const JwtClaims> claims;
    int64_t until;
  };
  struct DigestHash {
    size_t operator()(const TokenDigest& d) const {
      size_t h;  // the digest is uniformly distributed already
      std::memcpy(&h, d.data() + 8, sizeof h);
      return h;
    }
  };
  struct Shard {
    std::mutex mu;
    std::list<Entry> lru;  // most recent first
    std::unordered_map<TokenDigest, std::list<Entry>::iterator, DigestHash> map;
  };
  Shard& shard(const TokenDigest& digest) {
    return shards_[static_cast<unsigned char>(digest[0]) % kShards];
  }

  size_t per_shard_;
  std::array<Shard, kShards> shards_;
};

}  // namespace sluice::filters::auth
