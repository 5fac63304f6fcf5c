// Tests for proxy/upstream/discovery/etcd_protocol.cc: base64 as etcd's gateway writes it, the
// prefix's range end, the request bodies and the range answer.
#include "proxy/upstream/discovery/etcd_protocol.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace sluice::proxy::discovery {
namespace {

TEST(EtcdProtocol, Base64RoundTrip) {
  EXPECT_EQ(encodeBase64("/services/api/a"), "L3NlcnZpY2VzL2FwaS9h");
  EXPECT_EQ(encodeBase64("127.0.0.1:9001"), "MTI3LjAuMC4xOjkwMDE=");
  EXPECT_EQ(encodeBase64(""), "");
  EXPECT_EQ(decodeBase64("MTI3LjAuMC4xOjkwMDE="), "127.0.0.1:9001");
  EXPECT_EQ(decodeBase64("MTI3LjAuMC4xOjkwMDE"), "127.0.0.1:9001");  // padding optional
  std::string bytes = "\xfb\xff\xfe";
  EXPECT_EQ(encodeBase64(bytes), "+//+");
  EXPECT_EQ(decodeBase64("+//+"), bytes);
  EXPECT_FALSE(decodeBase64("-__-"));  // base64url's alphabet
  EXPECT_FALSE(decodeBase64("a!b="));
}

TEST(EtcdProtocol, PrefixRangeEnd) {
  EXPECT_EQ(prefixRangeEnd("/services/api/"), "/services/api0");
  EXPECT_EQ(prefixRangeEnd("a\xff"), "b");
  EXPECT_EQ(prefixRangeEnd("\xff\xff"), std::string(1, '\0'));
}

TEST(EtcdProtocol, RequestBodies) {
  auto range = nlohmann::json::parse(rangeRequestBody("/s/"));
  EXPECT_EQ(range["key"], encodeBase64("/s/"));
  EXPECT_EQ(range["range_end"], encodeBase64("/s0"));
  auto watch = nlohmann::json::parse(watchRequestBody("/s/", 42));
  EXPECT_EQ(watch["create_request"]["key"], encodeBase64("/s/"));
  EXPECT_EQ(watch["create_request"]["range_end"], encodeBase64("/s0"));
  EXPECT_EQ(watch["create_request"]["start_revision"], "42");
}

TEST(EtcdProtocol, RangeAnswer) {
  // As etcd 3.4's gateway answers: int64 fields as strings, keys and values in base64.
  auto r = parseRangeResponse(
      R"({"header":{"cluster_id":"1","member_id":"2","revision":"7","raft_term":"2"},)"
      R"("kvs":[{"key":"L3NlcnZpY2VzL2FwaS9h","create_revision":"2","mod_revision":"2",)"
      R"("version":"1","value":"MTI3LjAuMC4xOjkwMDE="}],"count":"1"})");
  ASSERT_EQ(r.error, "");
  EXPECT_EQ(r.revision, 7);
  ASSERT_EQ(r.kvs.size(), 1u);
  EXPECT_EQ(r.kvs[0].key, "/services/api/a");
  EXPECT_EQ(r.kvs[0].value, "127.0.0.1:9001");
}

TEST(EtcdProtocol, EmptyRangeHasNoKvs) {
  auto r = parseRangeResponse(R"({"header":{"revision":"3"}})");
  ASSERT_EQ(r.error, "");
  EXPECT_EQ(r.revision, 3);
  EXPECT_TRUE(r.kvs.empty());
}

TEST(EtcdProtocol, BadRangeAnswers) {
  EXPECT_NE(parseRangeResponse("not json").error, "");
  EXPECT_NE(parseRangeResponse("[1]").error, "");
  EXPECT_NE(parseRangeResponse(R"({"kvs":[]})").error, "");  // no header.revision
  EXPECT_NE(parseRangeResponse(R"({"header":{"revision":"x"}})").error, "");
  EXPECT_NE(parseRangeResponse(R"({"header":{"revision":"1"},"kvs":[{"key":"!"}]})").error, "");
  auto e = parseRangeResponse(R"({"error":"etcdserver: request timed out","code":14})");
  EXPECT_EQ(e.error, "etcd: etcdserver: request timed out");
}

}  // namespace
}  // namespace sluice::proxy::discovery
