// Giving freed memory back to the OS once a worker's load has fallen: without it, a burst of
// connections (1,000 stalled readers) leaves the process at its peak RSS for good, because the
// allocator keeps freed pages for reuse.
#pragma once

#include <cstdint>

namespace sluice::proxy {

// One per worker, fed by its periodic sweep with the worker's connection count. When the count
// has fallen to half of the peak seen since the last release (and by at least kMinDrop), the
// worker's allocator cache is flushed and free pages are returned to the OS: tcmalloc's
// MarkThreadIdle + ReleaseFreeMemory when sluice is linked with it, the sanitizer allocator's
// purge under ASan, glibc's malloc_trim otherwise. Rare by construction: a release costs a
// few milliseconds and page faults afterwards.
class MemoryReleaser {
 public:
  static constexpr int64_t kMinDrop = 64;

  // Returns true when this call released memory.
  bool observe(int64_t connections);

 private:
  int64_t peak_ = 0;
};

// Flushes the calling thread's allocator cache and returns free pages to the OS.
void releaseFreeMemory();

}  // namespace sluice::proxy
