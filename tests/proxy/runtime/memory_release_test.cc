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

TEST(MemoryReleaser, ReleasesWhenABurstOfRequestsWentIdle) {
  MemoryReleaser r;
  EXPECT_TRUE(r.observe(5000, 0));
  EXPECT_FALSE(r.observe(5000, 4000));  // 4,000 of the connections busy
  EXPECT_FALSE(r.observe(5000, 2100));
  EXPECT_TRUE(r.observe(5000, 2000));  // half of them went idle, the connections stay
  EXPECT_FALSE(r.observe(5000, 2000));
  EXPECT_TRUE(r.observe(5000, 100));   // the rest went idle
  EXPECT_FALSE(r.observe(5000, 40));   // a steady load around a few busy connections:
  EXPECT_FALSE(r.observe(5000, 100));  // too few to be worth a release
  EXPECT_FALSE(r.observe(5000, 37));
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
