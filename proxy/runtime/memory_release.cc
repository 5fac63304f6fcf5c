#include "proxy/runtime/memory_release.h"

#include <malloc.h>

#include <algorithm>
#include <atomic>
#include <mutex>
#include <vector>

// Present when the binary is linked with tcmalloc (gperftools' C API), or runs under a
// sanitizer; null otherwise.
extern "C" {
void MallocExtension_MarkThreadIdle(void) __attribute__((weak));
void MallocExtension_ReleaseFreeMemory(void) __attribute__((weak));
void __sanitizer_purge_allocator(void) __attribute__((weak));
}

namespace sluice::proxy {
namespace {

// Snapshots replaced by reloads and not yet freed, and how many have been freed so far.
std::mutex retired_mu;
std::vector<std::weak_ptr<const void>> retired;
std::atomic<uint64_t> retired_freed{0};

// Counts the retired snapshots freed since the last call; returns the count so far.
uint64_t pollRetired() {
  std::lock_guard lock(retired_mu);
  auto freed = std::remove_if(retired.begin(), retired.end(),
                              [](const std::weak_ptr<const void>& w) { return w.expired(); });
  retired_freed.fetch_add(static_cast<uint64_t>(retired.end() - freed), std::memory_order_relaxed);
  retired.erase(freed, retired.end());
  return retired_freed.load(std::memory_order_relaxed);
}

}  // namespace

void releaseWhenFreed(std::weak_ptr<const void> old) {
  if (old.expired()) return;
  std::lock_guard lock(retired_mu);
  retired.push_back(std::move(old));
}

void releaseFreeMemory() {
  if (MallocExtension_ReleaseFreeMemory != nullptr) {
    if (MallocExtension_MarkThreadIdle != nullptr) MallocExtension_MarkThreadIdle();
    MallocExtension_ReleaseFreeMemory();
  } else if (__sanitizer_purge_allocator != nullptr) {
    __sanitizer_purge_allocator();
  } else {
    malloc_trim(0);
  }
}

MemoryReleaser::MemoryReleaser() : freed_seen_(pollRetired()) {}

bool MemoryReleaser::observe(int64_t connections, int64_t busy) {
  peak_ = std::max(peak_, connections);
  busy_peak_ = std::max(busy_peak_, busy);
  uint64_t freed = pollRetired();
  auto fell = [](int64_t peak, int64_t now) { return peak - now >= kMinDrop && now * 2 <= peak; };
  bool dropped = fell(peak_, connections) || fell(busy_peak_, busy);
  if (started_ && !dropped && freed == freed_seen_) return false;
  started_ = true;
  peak_ = connections;
  busy_peak_ = busy;
  freed_seen_ = freed;
  releaseFreeMemory();
  return true;
}

}  // namespace sluice::proxy
