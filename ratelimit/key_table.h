// A bounded, sharded table of per-key limiter state, shared by every worker thread of a process.
// Each shard has its own mutex, hash index and LRU list, so two workers only contend when their
// keys hash to the same shard, and a decision is exact per process (not per worker).
//
// A full shard evicts one of its kEvictionSample least recently used keys (its memory reused for
// the new key): the one whose state is worth least, by the caller's `cost` (what forgetting the
// key would give back to its client, e.g. a token bucket's debt), the least recent on a tie. So a
// flood of distinct keys costs at most `max_keys` entries and, however fast it comes, pushes out
// one-shot keys rather than a client that is being limited, whose debt is larger.
//
// Shards are allocated when their first key arrives: a policy that sees few keys (or none, as on
// most routes of a large config) costs one array of pointers, not 64 locked shards (8 KiB).
#pragma once

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>

namespace sluice::ratelimit {

template <class State>
class KeyTable {
 public:
  static constexpr size_t kMaxShards = 64;

  explicit KeyTable(uint64_t max_keys, size_t max_shards = kMaxShards)
      : keys_(max_keys == 0 ? 1 : max_keys),
        shard_count_(static_cast<size_t>(
            std::min<uint64_t>(std::max<size_t>(1, std::min(max_shards, kMaxShards)), keys_))) {}
  ~KeyTable() {
    for (auto& s : shards_) delete s.load(std::memory_order_relaxed);
  }
  KeyTable(const KeyTable&) = delete;
  KeyTable& operator=(const KeyTable&) = delete;

  static constexpr int kEvictionSample = 8;

  // Runs fn(State&) on the state of `key` (fresh when the key is new) under its shard's lock and
  // returns what fn returns. Any thread. fn and cost must be short: they hold the shard lock.
  // cost(const State&) -> uint64_t ranks eviction candidates (lowest goes first).
  template <class Fn, class Cost>
  auto with(std::string_view key, Fn&& fn, Cost&& cost) {
    size_t h = std::hash<std::string_view>{}(key);
    Shard& s = shard((h >> 7) % shard_count_);
    std::lock_guard lock(s.mu);
    auto it = s.index.find(key);
    if (it != s.index.end()) {
      if (it->second != s.lru.begin()) s.lru.splice(s.lru.begin(), s.lru, it->second);
      return fn(it->second->state);
    }
    if (s.lru.size() >= s.capacity) {  // reuse the cheapest of the least recently used entries
      auto victim = std::prev(s.lru.end());
      uint64_t best = cost(std::as_const(victim->state));
      auto at = victim;
      for (int n = 1; n < kEvictionSample && best > 0 && at != s.lru.begin(); ++n) {
        --at;
        uint64_t c = cost(std::as_const(at->state));
        if (c < best) {
          best = c;
          victim = at;
        }
      }
      s.index.erase(std::string_view(victim->key));
      victim->key.assign(key);
      victim->state = State{};
      s.lru.splice(s.lru.begin(), s.lru, victim);
      evictions_.fetch_add(1, std::memory_order_relaxed);
    } else {
      s.lru.emplace_front(Entry{std::string(key), State{}});
      size_.fetch_add(1, std::memory_order_relaxed);
    }
    s.index.emplace(std::string_view(s.lru.front().key), s.lru.begin());
    return fn(s.lru.front().state);
  }

  // Plain LRU eviction: every state is as cheap to forget, so the least recent goes.
  template <class Fn>
  auto with(std::string_view key, Fn&& fn) {
    return with(key, std::forward<Fn>(fn), [](const State&) { return uint64_t{0}; });
  }

  uint64_t size() const { return size_.load(std::memory_order_relaxed); }
  uint64_t evictions() const { return evictions_.load(std::memory_order_relaxed); }
  uint64_t capacity() const { return keys_; }
  // Shards allocated so far (each on its first key).
  size_t shardsInUse() const {
    size_t n = 0;
    for (size_t i = 0; i < shard_count_; ++i)
      n += shards_[i].load(std::memory_order_relaxed) ? 1 : 0;
    return n;
  }

 private:
  struct Entry {
    std::string key;
    State state;
  };
  using List = std::list<Entry>;
  struct alignas(64) Shard {
    std::mutex mu;
    List lru;  // most recently used first
    std::unordered_map<std::string_view, typename List::iterator> index;  // views into lru keys
    uint64_t capacity = 1;
  };

  // Shard i, allocated by the first thread that needs it (a racing second one frees its copy).
  Shard& shard(size_t i) {
    Shard* s = shards_[i].load(std::memory_order_acquire);
    if (s != nullptr) return *s;
    auto fresh = std::make_unique<Shard>();
    fresh->capacity = keys_ / shard_count_ + (i < keys_ % shard_count_ ? 1 : 0);
    if (shards_[i].compare_exchange_strong(s, fresh.get(), std::memory_order_acq_rel,
                                           std::memory_order_acquire)) {
      return *fresh.release();
    }
    return *s;  // another thread installed it first
  }

  const uint64_t keys_;
  const size_t shard_count_;
  std::atomic<Shard*> shards_[kMaxShards] = {};
  std::atomic<uint64_t> size_{0};
  std::atomic<uint64_t> evictions_{0};
};

}  // namespace sluice::ratelimit
