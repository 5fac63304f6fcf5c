// Process-wide state that must outlive config snapshots (limiter buckets, caches, breaker state):
// filters look it up by a key that names the policy and its settings, so a reload that keeps a
// policy unchanged keeps its state, and one that changes it starts afresh (STYLE.md §2).
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>

namespace sluice::base {

class StateStore {
 public:
  // The object stored under `key`, created with `make()` on first use. Thread-safe; called when
  // a snapshot is built (main thread), never per request.
  template <class T, class Make>
  std::shared_ptr<T> getOrCreate(const std::string& key, Make&& make) {
    std::lock_guard lock(mu_);
    auto it = items_.find(key);
    if (it != items_.end()) {
      if (auto typed = std::static_pointer_cast<T>(it->second.object); typed) {
        it->second.generation = generation_;
        return typed;
      }
    }
    std::shared_ptr<T> created = make();
    items_[key] = Item{created, generation_};
    return created;
  }

  // Starts a new generation (before building a snapshot) ...
  void beginGeneration() {
    std::lock_guard lock(mu_);
    ++generation_;
  }
  // ... and, once the snapshot is in use, drops what it did not ask for. Objects still held by
  // in-flight requests of the old snapshot live on through their shared_ptr.
  void dropUnused() {
    std::lock_guard lock(mu_);
    for (auto it = items_.begin(); it != items_.end();) {
      it = it->second.generation == generation_ ? std::next(it) : items_.erase(it);
    }
  }

  size_t size() const {
    std::lock_guard lock(mu_);
    return items_.size();
  }

 private:
  struct Item {
    std::shared_ptr<void> object;
    uint64_t generation = 0;
  };
  mutable std::mutex mu_;
  std::map<std::string, Item> items_;
  uint64_t generation_ = 0;
};

}  // namespace sluice::base
