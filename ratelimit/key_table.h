// A bounded, sharded table of per-key limiter state, shared by every worker thread of a process.
// Each shard has its own mutex, hash index and LRU list, so two workers only contend when their
// keys hash to the same shard, and a decision is exact per process (not per worker). When a
// shard is full, its least recently used key is evicted (its memory reused for the new key): a
// flood of distinct keys costs at most `max_keys` entries and only pushes out idle keys, while a
// key that keeps sending stays at the front of its shard's list.
#pragma once

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

  explicit KeyTable(uint64_t max_keys) {
    uint64_t keys = max_keys == 0 ? 1 : max_keys;
    shard_count_ = static_cast<size_t>(std::min<uint64_t>(kMaxShards, keys));
    shards_ = std::make_unique<Shard[]>(shard_count_);
    for (size_t i = 0; i < shard_count_; ++i) {
      shards_[i].capacity = keys / shard_count_ + (i < keys % shard_count_ ? 1 : 0);
    }
  }

  // Runs fn(State&) on the state of `key` (fresh when the key is new) under its shard's lock and
  // returns what fn returns. Any thread. fn must be short: it holds the shard lock.
  template <class Fn>
  auto with(std::string_view key, Fn&& fn) {
    size_t h = std::hash<std::string_view>{}(key);
    Shard& s = shards_[(h >> 7) % shard_count_];
    std::lock_guard lock(s.mu);
    auto it = s.index.find(key);
    if (it != s.index.end()) {
      if (it->second != s.lru.begin()) s.lru.splice(s.lru.begin(), s.lru, it->second);
      return fn(it->second->state);
    }
    if (s.lru.size() >= s.capacity) {  // reuse the least recently used entry
      auto last = std::prev(s.lru.end());
      s.index.erase(std::string_view(last->key));
      last->key.assign(key);
      last->state = State{};
      s.lru.splice(s.lru.begin(), s.lru, last);
      evictions_.fetch_add(1, std::memory_order_relaxed);
    } else {
      s.lru.emplace_front(Entry{std::string(key), State{}});
      size_.fetch_add(1, std::memory_order_relaxed);
    }
    s.index.emplace(std::string_view(s.lru.front().key), s.lru.begin());
    return fn(s.lru.front().state);
  }

  uint64_t size() const { return size_.load(std::memory_order_relaxed); }
  uint64_t evictions() const { return evictions_.load(std::memory_order_relaxed); }
  uint64_t capacity() const {
    uint64_t c = 0;
    for (size_t i = 0; i < shard_count_; ++i) c += shards_[i].capacity;
    return c;
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

  size_t shard_count_ = 1;
  std::unique_ptr<Shard[]> shards_;
  std::atomic<uint64_t> size_{0};
  std::atomic<uint64_t> evictions_{0};
};

}  // namespace sluice::ratelimit
