#include "proxy/runtime/memory_release.h"

#include <malloc.h>

// Present when the binary is linked with tcmalloc (gperftools' C API), or runs under a
// sanitizer; null otherwise.
extern "C" {
void MallocExtension_MarkThreadIdle(void) __attribute__((weak));
void MallocExtension_ReleaseFreeMemory(void) __attribute__((weak));
void __sanitizer_purge_allocator(void) __attribute__((weak));
}

namespace sluice::proxy {

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

bool MemoryReleaser::observe(int64_t connections) {
  if (connections > peak_) peak_ = connections;
  if (peak_ - connections < kMinDrop || connections * 2 > peak_) return false;
  peak_ = connections;
  releaseFreeMemory();
  return true;
}

}  // namespace sluice::proxy
