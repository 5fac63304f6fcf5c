#include "filters/max_body.h"

#include <gtest/gtest.h>

#include "tests/filters/fake_callbacks.h"

namespace sluice::filters {
namespace {
using testing::FakeCallbacks;

std::unique_ptr<Filter> make(uint64_t bytes) {
  config::MaxBodyFilter cfg;
  cfg.bytes = bytes;
  return MaxBodyFactory(cfg).create();
}

TEST(MaxBody, ContentLengthOverTheLimitIsRefusedAtTheHead) {
  auto f = make(1000);
  FakeCallbacks cb;
  base::RequestHead head;
  head.headers.add("content-length", "1001");
  EXPECT_EQ(f->onRequestHeaders(head, cb), FilterStatus::Stop);
  ASSERT_EQ(cb.replies.size(), 1u);
  EXPECT_EQ(cb.replies[0].status, 413);
}

TEST(MaxBody, ExactlyTheLimitPasses) {
  auto f = make(1000);
  FakeCallbacks cb;
  base::RequestHead head;
  head.headers.add("content-length", "1000");
  EXPECT_EQ(f->onRequestHeaders(head, cb), FilterStatus::Continue);
  std::string chunk(600, 'a');
  EXPECT_EQ(f->onRequestBody(chunk, false, cb), FilterStatus::Continue);
  chunk.assign(400, 'b');
  EXPECT_EQ(f->onRequestBody(chunk, true, cb), FilterStatus::Continue);
  EXPECT_TRUE(cb.replies.empty());
  EXPECT_EQ(chunk, std::string(400, 'b'));  // inspected, not changed
}

TEST(MaxBody, StreamedBodyIsCountedChunkByChunk) {
  auto f = make(1000);
  FakeCallbacks cb;
  base::RequestHead head;  // chunked: no length known at the head
  EXPECT_EQ(f->onRequestHeaders(head, cb), FilterStatus::Continue);
  std::string chunk(500, 'a');
  EXPECT_EQ(f->onRequestBody(chunk, false, cb), FilterStatus::Continue);
  EXPECT_EQ(f->onRequestBody(chunk, false, cb), FilterStatus::Continue);
  chunk.assign(1, 'z');
  EXPECT_EQ(f->onRequestBody(chunk, false, cb), FilterStatus::Stop);
  ASSERT_EQ(cb.replies.size(), 1u);
  EXPECT_EQ(cb.replies[0].status, 413);
}

}  // namespace
}  // namespace sluice::filters
