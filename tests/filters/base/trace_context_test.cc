#include "filters/base/trace_context.h"

#include <gtest/gtest.h>

namespace sluice::base {
namespace {

// A counter as the random source: ids are predictable in the tests.
uint64_t counter(void* state) {
  return ++*static_cast<uint64_t*>(state);
}
uint64_t zeroThenCounter(void* state) {
  uint64_t& n = *static_cast<uint64_t*>(state);
  return n++ == 0 ? 0 : n;
}

constexpr std::string_view kParent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

TEST(TraceParent, AcceptsTheSpecExample) {
  TraceParent p;
  ASSERT_TRUE(parseTraceParent(kParent, &p));
  EXPECT_EQ(std::string_view(p.trace_id, 32), "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_EQ(std::string_view(p.parent_id, 16), "00f067aa0ba902b7");
  EXPECT_EQ(p.flags, 1);
}

TEST(TraceParent, RejectsWhatLevelOneRejects) {
  TraceParent p;
  for (std::string_view bad : {
           "",
           "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",    // upper case
           "00-00000000000000000000000000000000-00f067aa0ba902b7-01",    // zero trace id
           "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",    // zero parent id
           "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",    // version ff
           "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-x",  // 00 with more
           "00-4bf92f3577b34da6a3ce929d0e0e473-600f067aa0ba902b7-01",    // dash misplaced
           "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0g",    // bad flags
           "0-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",     // short version
           "cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01x",   // future, no dash
       }) {
    EXPECT_FALSE(parseTraceParent(bad, &p)) << bad;
  }
}

TEST(TraceParent, ReadsAFutureVersionByTheVersionZeroLayout) {
  TraceParent p;
  EXPECT_TRUE(
      parseTraceParent("cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-what-ever", &p));
  EXPECT_TRUE(parseTraceParent("cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", &p));
}

TEST(TraceState, ValidatesMembers) {
  EXPECT_TRUE(validTraceState("rojo=00f067aa0ba902b7,congo=t61rcWkgMzE"));
  EXPECT_TRUE(validTraceState("tenant@vendor=x, ,a=b"));
  EXPECT_FALSE(validTraceState("novalue"));
  EXPECT_FALSE(validTraceState("Upper=1"));
  EXPECT_FALSE(validTraceState("a=b=c"));
  std::string many;
  for (int i = 0; i < 33; ++i) many += "k" + std::to_string(i) + "=v,";
  EXPECT_FALSE(validTraceState(many));
}

TEST(TraceContext, ContinuesAValidParent) {
  HeaderMap h;
  h.add("traceparent", std::string(kParent));
  h.add("tracestate", "rojo=00f067aa0ba902b7");
  h.add("tracestate", "congo=t61rcWkgMzE");
  uint64_t n = 0;
  TraceContext t;
  t.begin(h, 0.0, counter, &n);
  EXPECT_TRUE(t.continued());
  EXPECT_TRUE(t.sampled());  // the parent's flag, whatever the sample rate
  EXPECT_EQ(t.traceId(), "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_EQ(t.parentSpanId(), "00f067aa0ba902b7");
  EXPECT_NE(t.spanId(), "00f067aa0ba902b7");
  EXPECT_EQ(t.traceState(), "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE");
  std::string up(t.upstreamTraceParent());
  EXPECT_EQ(up, "00-4bf92f3577b34da6a3ce929d0e0e4736-" + std::string(t.spanId()) + "-01");
  t.beginTry(counter, &n);
  EXPECT_NE(t.clientSpanId(), t.spanId());
  EXPECT_EQ(std::string(t.upstreamTraceParent()),
            "00-4bf92f3577b34da6a3ce929d0e0e4736-" + std::string(t.clientSpanId()) + "-01");
  TraceParent check;
  EXPECT_TRUE(parseTraceParent(t.upstreamTraceParent(), &check));
}

TEST(TraceContext, StartsANewTraceForAnInvalidOrConflictingParent) {
  uint64_t n = 0;
  for (int variant = 0; variant < 3; ++variant) {
    HeaderMap h;
    if (variant == 0) h.add("traceparent", "00-xyz");
    if (variant == 1) {
      h.add("traceparent", std::string(kParent));
      h.add("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4737-00f067aa0ba902b7-01");
    }
    h.add("tracestate", "rojo=1");
    TraceContext t;
    t.begin(h, 0.0, counter, &n);
    EXPECT_FALSE(t.continued()) << variant;
    EXPECT_FALSE(t.sampled());
    EXPECT_NE(t.traceId(), "4bf92f3577b34da6a3ce929d0e0e4736");
    EXPECT_EQ(t.traceState(), "");  // only kept beside a valid parent
    TraceParent check;
    EXPECT_TRUE(parseTraceParent(t.upstreamTraceParent(), &check));
    EXPECT_EQ(t.upstreamTraceParent().substr(53), "00");
  }
}

TEST(TraceContext, IdenticalDuplicatesCountAsOne) {
  HeaderMap h;
  h.add("traceparent", std::string(kParent));
  h.add("traceparent", std::string(kParent));
  uint64_t n = 0;
  TraceContext t;
  t.begin(h, 0.0, counter, &n);
  EXPECT_TRUE(t.continued());
}

TEST(TraceContext, NewTracesFollowTheSampleRateAndIdsAreNeverZero) {
  HeaderMap none;
  uint64_t n = 0;
  TraceContext t;
  t.begin(none, 1.0, zeroThenCounter, &n);
  EXPECT_TRUE(t.sampled());
  EXPECT_NE(t.traceId().find_first_not_of('0'), std::string_view::npos);
  EXPECT_NE(t.spanId(), "0000000000000000");
  int sampled = 0;
  uint64_t seed = 0x9E3779B97F4A7C15ull;
  auto mix = [](void* s) {
    uint64_t& x = *static_cast<uint64_t*>(s);
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return x;
  };
  for (int i = 0; i < 10000; ++i) {
    t.begin(none, 0.25, mix, &seed);
    sampled += t.sampled() ? 1 : 0;
  }
  EXPECT_GT(sampled, 2200);
  EXPECT_LT(sampled, 2800);
}

}  // namespace
}  // namespace sluice::base
