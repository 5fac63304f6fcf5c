// Giving freed memory back to the OS once a worker's load has fallen: without it, a burst of
// connections (1,000 stalled readers) leaves the process at its peak RSS for good, because the
// allocator keeps freed pages for reuse.
#pragma once

#include <cstdint>
#include <memory>

namespace sluice::proxy {

// One per worker, fed by its periodic sweep with the worker's connection count. At the first
// sweep (loading the config freed a YAML tree several times the size of the snapshot), when the
// count, or the count of connections busy with requests, has fallen to half of its peak seen
// since the last release (and by at least kMinDrop: a burst of connections, or of requests over
// kept-alive connections, ended), or when a config snapshot a reload replaced has been freed since
// this worker's last release, the worker's allocator cache is flushed and free pages are returned
// to the OS: tcmalloc's MarkThreadIdle + ReleaseFreeMemory when sluice is linked with it, the
// sanitizer allocator's purge under ASan, glibc's malloc_trim otherwise. Rare by construction: a
// release costs a few milliseconds and page faults afterwards.
class MemoryReleaser {
 public:
  static constexpr int64_t kMinDrop = 64;

  MemoryReleaser();
  // Returns true when this call released memory. `busy`: connections holding a request's state.
  bool observe(int64_t connections, int64_t busy = 0);

 private:
  int64_t peak_ = 0;
  int64_t busy_peak_ = 0;
  bool started_ = false;
  uint64_t freed_seen_ = 0;  // retired snapshots known freed at this worker's last release
};

// Called when a reload replaces `old` (a config snapshot, tens of MB for a large config): once
// its last holder (a request still on it) lets it go, each worker's next sweep releases free
// memory, so repeated reloads do not leave the process at twice a config's size. Any thread.
void releaseWhenFreed(std::weak_ptr<const void> old);

// Flushes the calling thread's allocator cache and returns free pages to the OS.
void releaseFreeMemory();

}  // namespace sluice::proxy
