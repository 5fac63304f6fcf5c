#include "proxy/stream/local_reply.h"

#include <gtest/gtest.h>

#include <string>

namespace sluice::proxy {
namespace {

constexpr char kDate[] = "Sat, 01 Jun 2024 12:34:56 GMT";

TEST(PrefersJson, PlainJsonAccept) {
  EXPECT_TRUE(prefersJson("application/json"));
  EXPECT_TRUE(prefersJson("application/json, text/plain;q=0.9"));
  EXPECT_TRUE(prefersJson(" application/json ; q=0.8 , text/plain;q=0.5"));
}

TEST(PrefersJson, NoOrEmptyAccept) {
  EXPECT_FALSE(prefersJson(""));
  EXPECT_FALSE(prefersJson("text/html"));
  EXPECT_FALSE(prefersJson("text/plain"));
}

TEST(PrefersJson, TextPreferredByQValue) {
  EXPECT_FALSE(prefersJson("text/plain, application/json;q=0.5"));
  EXPECT_FALSE(prefersJson("application/json;q=0.5, text/plain"));
  EXPECT_FALSE(prefersJson("application/json;q=0.5, text/plain;q=0.5"));  // a tie keeps text
}

TEST(PrefersJson, FullWildcardDoesNotPreferJson) {
  EXPECT_FALSE(prefersJson("*/*"));
  EXPECT_FALSE(prefersJson("*/*;q=0.5"));
}

TEST(PrefersJson, TypeWildcardCoveringOnlyJson) {
  // application/* accepts JSON and says nothing for text/plain, so JSON is the better answer.
  EXPECT_TRUE(prefersJson("application/*"));
  EXPECT_FALSE(prefersJson("text/*"));
}

TEST(PrefersJson, ZeroQualityMeansNotAcceptable) {
  EXPECT_FALSE(prefersJson("application/json;q=0"));
  EXPECT_FALSE(prefersJson("application/json;q=0.0, */*;q=0.1"));
}

TEST(PrefersJson, SpecificRangeBeatsWildcard) {
  EXPECT_TRUE(prefersJson("text/*;q=0.2, application/json"));
  EXPECT_TRUE(prefersJson("*/*;q=0.1, application/json"));
  EXPECT_FALSE(prefersJson("*/*;q=0.1, application/json;q=0.05"));
  EXPECT_TRUE(prefersJson("text/plain;q=0, */*"));
  EXPECT_FALSE(prefersJson("application/json;q=0, */*"));
}

TEST(LocalReplyBody, PlainAndJson) {
  EXPECT_EQ(localReplyBody(404, "", "rid-1", false), "404 Not Found\nrequest_id: rid-1\n");
  EXPECT_EQ(localReplyBody(429, "slow down", "rid-2", false), "429 slow down\nrequest_id: rid-2\n");
  EXPECT_EQ(localReplyBody(502, "", "rid-3", true),
            "{\"status\":502,\"error\":\"Bad Gateway\",\"request_id\":\"rid-3\"}\n");
  EXPECT_EQ(localReplyBody(400, "bad \"quote\"", "r", true),
            "{\"status\":400,\"error\":\"bad \\\"quote\\\"\",\"request_id\":\"r\"}\n");
}

TEST(AppendLocalReply, PlainTextKeepAlive) {
  std::string out;
  appendLocalReply(404, "", "abc123", "", false, false, kDate, nullptr, out);
  const std::string body = "404 Not Found\nrequest_id: abc123\n";
  EXPECT_EQ(out,
            "HTTP/1.1 404 Not Found\r\n"
            "date: Sat, 01 Jun 2024 12:34:56 GMT\r\n"
            "content-type: text/plain; charset=utf-8\r\n"
            "x-request-id: abc123\r\n"
            "content-length: " +
                std::to_string(body.size()) +
                "\r\n"
                "\r\n" +
                body);
  EXPECT_EQ(out.find("connection:"), std::string::npos);
}

TEST(AppendLocalReply, JsonWithConnectionClose) {
  std::string out;
  appendLocalReply(400, "", "r-9", "application/json", false, true, kDate, nullptr, out);
  const std::string body = "{\"status\":400,\"error\":\"Bad Request\",\"request_id\":\"r-9\"}\n";
  EXPECT_EQ(out,
            "HTTP/1.1 400 Bad Request\r\n"
            "date: Sat, 01 Jun 2024 12:34:56 GMT\r\n"
            "content-type: application/json\r\n"
            "x-request-id: r-9\r\n"
            "content-length: " +
                std::to_string(body.size()) +
                "\r\n"
                "connection: close\r\n"
                "\r\n" +
                body);
}

TEST(AppendLocalReply, HeadOnlyKeepsContentLengthButOmitsBody) {
  std::string full;
  appendLocalReply(503, "", "r", "", false, false, kDate, nullptr, full);
  std::string head;
  appendLocalReply(503, "", "r", "", true, false, kDate, nullptr, head);
  const std::string body = "503 Service Unavailable\nrequest_id: r\n";
  EXPECT_EQ(full, head + body);
  EXPECT_TRUE(head.ends_with("\r\n\r\n"));
  EXPECT_NE(head.find("content-length: " + std::to_string(body.size()) + "\r\n"),
            std::string::npos);
}

TEST(AppendLocalReply, ContentLengthMatchesCustomMessageBody) {
  std::string out;
  appendLocalReply(429, "rate limited", "id", "", false, false, kDate, nullptr, out);
  size_t end = out.find("\r\n\r\n");
  ASSERT_NE(end, std::string::npos);
  std::string body = out.substr(end + 4);
  EXPECT_EQ(body, "429 rate limited\nrequest_id: id\n");
  EXPECT_NE(out.find("content-length: " + std::to_string(body.size()) + "\r\n"), std::string::npos);
}

TEST(AppendLocalReply, ExtraFieldsAreAddedOrReplaceDefaults) {
  base::HeaderMap extra;
  extra.add("retry-after", "3");
  extra.add("content-type", "text/html");
  std::string out;
  appendLocalReply(429, "", "id", "", false, false, kDate, &extra, out);
  EXPECT_NE(out.find("retry-after: 3\r\n"), std::string::npos);
  EXPECT_NE(out.find("content-type: text/html\r\n"), std::string::npos);
  EXPECT_EQ(out.find("text/plain"), std::string::npos);
}

TEST(AppendLocalReply, AppendsToExistingOutput) {
  std::string out = "previous";
  appendLocalReply(404, "", "id", "", true, false, kDate, nullptr, out);
  EXPECT_TRUE(out.starts_with("previousHTTP/1.1 404 Not Found\r\n"));
}

TEST(Grpc, StatusMappingOfGatewaySpec) {
  EXPECT_EQ(grpcStatusFor(429), 8);   // RESOURCE_EXHAUSTED
  EXPECT_EQ(grpcStatusFor(503), 14);  // UNAVAILABLE
  EXPECT_EQ(grpcStatusFor(504), 4);   // DEADLINE_EXCEEDED
  EXPECT_EQ(grpcStatusFor(401), 16);  // UNAUTHENTICATED
  EXPECT_EQ(grpcStatusFor(403), 7);   // PERMISSION_DENIED
  EXPECT_EQ(grpcStatusFor(404), 12);  // UNIMPLEMENTED
  EXPECT_EQ(grpcStatusFor(502), 14);
  EXPECT_EQ(grpcStatusFor(418), 2);  // UNKNOWN
}

TEST(Grpc, MessagePercentEncoded) {
  EXPECT_EQ(grpcMessage("circuit open"), "circuit open");
  EXPECT_EQ(grpcMessage("100% d\xc3\xa9j\xc3\xa0\n"), "100%25 d%C3%A9j%C3%A0%0A");
}

TEST(Grpc, ContentType) {
  EXPECT_TRUE(isGrpcContentType("application/grpc"));
  EXPECT_TRUE(isGrpcContentType("application/grpc+proto"));
  EXPECT_TRUE(isGrpcContentType("Application/GRPC;charset=utf-8"));
  EXPECT_FALSE(isGrpcContentType("application/grpc-web"));
  EXPECT_FALSE(isGrpcContentType("application/json"));
  EXPECT_FALSE(isGrpcContentType("application/grp"));
}

}  // namespace
}  // namespace sluice::proxy
