// Tests for proxy/upstream/h2/h2_request_fields.h: pseudo-fields, connection-specific fields
// dropped, framing re-derived, te: trailers for gRPC, and which trailers may go.
#include "proxy/upstream/h2/h2_request_fields.h"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

namespace sluice::proxy {
namespace {

std::vector<std::pair<std::string, std::string>> pairs(const H2RequestFields& f) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const nghttp2_nv& nv : f.nv) {
    out.emplace_back(std::string(reinterpret_cast<const char*>(nv.name), nv.namelen),
                     std::string(reinterpret_cast<const char*>(nv.value), nv.valuelen));
  }
  return out;
}

base::RequestHead head() {
  base::RequestHead h;
  h.method = "POST";
  h.target = "/svc/Method?x=1";
  h.host = "api.example.com";
  h.headers.add("connection", "keep-alive");
  h.headers.add("keep-alive", "timeout=5");
  h.headers.add("transfer-encoding", "chunked");
  h.headers.add("host", "api.example.com");
  h.headers.add("te", "gzip");
  h.headers.add("upgrade", "h2c");
  h.headers.add("content-length", "99");
  h.headers.add("X-Mixed", "v");
  h.headers.add("accept", "*/*");
  return h;
}

TEST(H2RequestFields, PseudoFieldsThenFieldsWithoutConnectionSpecificOnes) {
  base::RequestHead h = head();  // the fields point into it
  H2RequestFields f;
  buildH2RequestFields(h, false, BodyFraming::Chunked, 0, f);
  std::vector<std::pair<std::string, std::string>> want = {
      {":method", "POST"},          {":scheme", "http"}, {":authority", "api.example.com"},
      {":path", "/svc/Method?x=1"}, {"x-mixed", "v"},    {"accept", "*/*"}};
  EXPECT_EQ(pairs(f), want);
}

TEST(H2RequestFields, LengthIsReDerivedAndSchemeFollowsTls) {
  base::RequestHead h = head();
  H2RequestFields f;
  buildH2RequestFields(h, true, BodyFraming::Length, 1048576, f);
  auto p = pairs(f);
  EXPECT_EQ(p[1], (std::pair<std::string, std::string>{":scheme", "https"}));
  EXPECT_EQ(p.back(), (std::pair<std::string, std::string>{"content-length", "1048576"}));
}

TEST(H2RequestFields, GrpcCallsSayTeTrailers) {
  base::RequestHead h = head();
  h.headers.add("content-type", "application/grpc+proto");
  H2RequestFields f;
  buildH2RequestFields(h, false, BodyFraming::Chunked, 0, f);
  EXPECT_EQ(pairs(f).back(), (std::pair<std::string, std::string>{"te", "trailers"}));
}

TEST(H2RequestFields, EmptyTargetIsSlash) {
  base::RequestHead h;
  h.method = "GET";
  h.host = "h";
  H2RequestFields f;
  buildH2RequestFields(h, false, BodyFraming::None, 0, f);
  EXPECT_EQ(pairs(f)[3].second, "/");
  EXPECT_EQ(pairs(f).size(), 4u);
}

TEST(H2RequestFields, TrailersAllowed) {
  EXPECT_TRUE(h2TrailerAllowed("grpc-status"));
  EXPECT_TRUE(h2TrailerAllowed("x-checksum"));
  for (const char* n : {":status", "content-length", "transfer-encoding", "connection", "te",
                        "trailer", "host", ""}) {
    EXPECT_FALSE(h2TrailerAllowed(n)) << n;
  }
}

}  // namespace
}  // namespace sluice::proxy
