#include "proxy/runtime/memory_release.h"

#include <gtest/gtest.h>

#include <memory>

namespace sluice::proxy {
namespace {

TEST(MemoryReleaser, ReleasesAtTheFirstSweep) {
  // What loading the config freed (its YAML tree) goes back once the workers run.
  MemoryReleaser r;
  EXPECT_TRUE(r.observe(0));
  EXPECT_FALSE(r.observe(0));
}

TEST(MemoryReleaser, ReleasesWhenConnectionsFallToHalfThePeak) {
  MemoryReleaser r;
  EXPECT_TRUE(r.observe(0));
  EXPECT_FALSE(r.observe(200));
  EXPECT_FALSE(r.observe(150));
  EXPECT_TRUE(r.observe(100));
  EXPECT_FALSE(r.observe(100));
}

// A large config's snapshot is tens of MB; eight reloads left the process at twice its size
// because the allocator kept what the replaced snapshots had freed.
TEST(MemoryReleaser, ReleasesOnceAReplacedSnapshotIsFreed) {
  MemoryReleaser worker1;
  MemoryReleaser worker2;
  worker1.observe(0);  // the first sweep's release
  worker2.observe(0);
  auto old = std::make_shared<const int>(7);
  releaseWhenFreed(old);
  releaseWhenFreed(old);             // every worker registers the snapshot it leaves
  EXPECT_FALSE(worker1.observe(0));  // a request still holds it
  EXPECT_FALSE(worker2.observe(0));
  old.reset();
  EXPECT_TRUE(worker1.observe(0));
  EXPECT_TRUE(worker2.observe(0));   // each worker flushes its own allocator cache
  EXPECT_FALSE(worker1.observe(0));  // once
  EXPECT_FALSE(worker2.observe(0));
  MemoryReleaser later;  // a releaser made after the fact has only its first sweep's release
  EXPECT_TRUE(later.observe(0));
  EXPECT_FALSE(later.observe(0));
}

TEST(MemoryReleaser, ReleasesWhenABurstWentIdleAtMostOncePerTwentySweeps) {
  MemoryReleaser r;
  EXPECT_TRUE(r.observe(100));
  EXPECT_FALSE(r.observe(100, MemoryReleaser::kMinIdled));  // too soon after the last release
  for (uint64_t i = 2; i < MemoryReleaser::kIdledEverySweeps; ++i) EXPECT_FALSE(r.observe(100));
  EXPECT_TRUE(r.observe(100));  // the 20th sweep: the idled states add up
  for (uint64_t i = 1; i < MemoryReleaser::kIdledEverySweeps; ++i) {
    EXPECT_FALSE(r.observe(100, MemoryReleaser::kMinIdled / 40));  // a trickle: not enough
  }
  EXPECT_FALSE(r.observe(100));
  EXPECT_TRUE(r.observe(100, MemoryReleaser::kMinIdled));
}

TEST(MemoryReleaser, AnAlreadyFreedSnapshotIsIgnored) {
  MemoryReleaser r;
  r.observe(0);
  std::weak_ptr<const int> gone;
  {
    auto s = std::make_shared<const int>(1);
    gone = s;
  }
  releaseWhenFreed(gone);
  EXPECT_FALSE(r.observe(0));
}

}  // namespace
}  // namespace sluice::proxy
