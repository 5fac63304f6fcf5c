// Tests for proxy/upstream/discovery/etcd_watch_parser.cc: the watch stream's messages as etcd
// 3.4's gateway sends them (captured from a real etcd), split across chunks at any byte.
#include "proxy/upstream/discovery/etcd_watch_parser.h"

#include <gtest/gtest.h>

namespace sluice::proxy::discovery {
namespace {

const char* kCreated =
    R"({"result":{"header":{"cluster_id":"1","member_id":"2","revision":"2","raft_term":"2"},)"
    R"("created":true}})"
    "\n";
const char* kPut =
    R"({"result":{"header":{"revision":"3"},"events":[{"kv":{"key":"L3NlcnZpY2VzL2FwaS9i",)"
    R"("create_revision":"3","mod_revision":"3","version":"1",)"
    R"("value":"eyJhZGRyZXNzIjoiMTI3LjAuMC4xOjkwMDIiLCJ3ZWlnaHQiOjN9"}}]}})"
    "\n";
const char* kDelete = R"({"result":{"header":{"revision":"4"},"events":[{"type":"DELETE","kv":)"
                      R"({"key":"L3NlcnZpY2VzL2FwaS9h","mod_revision":"4"}}]}})"
                      "\n";
const char* kCompacted =
    R"({"result":{"header":{"revision":"4"},"canceled":true,"compact_revision":"4"}})"
    "\n";

TEST(EtcdWatchParser, CreatedPutDelete) {
  WatchStreamParser p;
  auto ms = p.feed(std::string(kCreated) + kPut + kDelete);
  ASSERT_EQ(ms.size(), 3u);
  EXPECT_EQ(ms[0].error, "");
  EXPECT_TRUE(ms[0].created);
  EXPECT_EQ(ms[0].revision, 2);
  EXPECT_TRUE(ms[0].events.empty());
  ASSERT_EQ(ms[1].events.size(), 1u);
  EXPECT_EQ(ms[1].events[0].type, WatchEvent::Type::Put);
  EXPECT_EQ(ms[1].events[0].kv.key, "/services/api/b");
  EXPECT_EQ(ms[1].events[0].kv.value, R"({"address":"127.0.0.1:9002","weight":3})");
  EXPECT_EQ(ms[1].events[0].mod_revision, 3);
  ASSERT_EQ(ms[2].events.size(), 1u);
  EXPECT_EQ(ms[2].events[0].type, WatchEvent::Type::Delete);
  EXPECT_EQ(ms[2].events[0].kv.key, "/services/api/a");
  EXPECT_EQ(ms[2].events[0].kv.value, "");
}

TEST(EtcdWatchParser, SplitAtEveryByte) {
  std::string all = std::string(kCreated) + kPut + kDelete;
  for (size_t cut = 0; cut <= all.size(); ++cut) {
    WatchStreamParser p;
    auto a = p.feed(all.substr(0, cut));
    auto b = p.feed(all.substr(cut));
    EXPECT_EQ(a.size() + b.size(), 3u) << cut;
    for (const auto& m : a) EXPECT_EQ(m.error, "") << cut;
    for (const auto& m : b) EXPECT_EQ(m.error, "") << cut;
  }
}

TEST(EtcdWatchParser, Compacted) {
  auto m = parseWatchMessage(kCompacted);
  EXPECT_EQ(m.error, "");
  EXPECT_TRUE(m.canceled);
  EXPECT_EQ(m.compact_revision, 4);
}

TEST(EtcdWatchParser, ErrorsAndBadMessages) {
  EXPECT_NE(parseWatchMessage("{").error, "");
  EXPECT_NE(parseWatchMessage(R"({"result":{}})").error, "");  // no header
  EXPECT_NE(
      parseWatchMessage(R"({"result":{"header":{"revision":"1"},"events":[{"kv":{"key":"%"}}]}})")
          .error,
      "");
  EXPECT_NE(
      parseWatchMessage(
          R"({"result":{"header":{"revision":"1"},"events":[{"type":"X","kv":{"key":"YQ=="}}]}})")
          .error,
      "");
  auto e = parseWatchMessage(
      R"({"error":{"grpc_code":14,"http_code":503,"message":"etcdserver: no leader"}})");
  EXPECT_EQ(e.error, "etcd: etcdserver: no leader");
}

TEST(EtcdWatchParser, BlankLinesAndCarriageReturns) {
  WatchStreamParser p;
  auto ms =
      p.feed("\n\r\n" + std::string(kCreated).substr(0, std::string(kCreated).size() - 1) + "\r\n");
  ASSERT_EQ(ms.size(), 1u);
  EXPECT_TRUE(ms[0].created);
}

TEST(EtcdWatchParser, OverlongLineIsAnError) {
  WatchStreamParser p;
  std::string big(WatchStreamParser::kMaxLine + 1, 'x');
  auto ms = p.feed(big);
  ASSERT_EQ(ms.size(), 1u);
  EXPECT_NE(ms[0].error, "");
  EXPECT_TRUE(p.feed(kCreated).at(0).created);  // the stream's buffer was dropped
}

}  // namespace
}  // namespace sluice::proxy::discovery
