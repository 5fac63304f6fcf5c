#include "filters/header_rewrite.h"

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

#include "tests/filters/fake_callbacks.h"

namespace sluice::filters {
namespace {

std::vector<std::string> flat(const base::HeaderMap& h) {
  std::vector<std::string> out;
  for (const base::Header& f : h) out.push_back(f.name + "=" + f.value);
  return out;
}

class NullCallbacks final : public testing::FakeCallbacks {
 public:
  void sendLocalReply(int, std::string_view, const base::HeaderMap*) override { ADD_FAILURE(); }
  void continueRequest() override { ADD_FAILURE(); }
  void continueRequestAfter(std::chrono::milliseconds) override { ADD_FAILURE(); }
};

TEST(HeaderRewriteApply, EmptyRewriteChangesNothing) {
  base::HeaderMap h;
  h.add("a", "1");
  HeaderRewriteFactory::apply(config::HeaderRewrite{}, h);
  EXPECT_EQ(flat(h), (std::vector<std::string>{"a=1"}));
}

TEST(HeaderRewriteApply, RemovesEveryDuplicate) {
  config::HeaderRewrite rw;
  rw.remove = {"x-debug", "x-absent"};
  base::HeaderMap h;
  h.add("x-debug", "1");
  h.add("keep", "k");
  h.add("x-debug", "2");
  HeaderRewriteFactory::apply(rw, h);
  EXPECT_EQ(flat(h), (std::vector<std::string>{"keep=k"}));
}

TEST(HeaderRewriteApply, SetReplacesAllDuplicatesOrAppends) {
  config::HeaderRewrite rw;
  rw.set = {{"x-gateway", "sluice"}, {"x-new", "n"}};
  base::HeaderMap h;
  h.add("x-gateway", "client-1");
  h.add("other", "o");
  h.add("x-gateway", "client-2");
  HeaderRewriteFactory::apply(rw, h);
  EXPECT_EQ(flat(h), (std::vector<std::string>{"x-gateway=sluice", "other=o", "x-new=n"}));
}

TEST(HeaderRewriteApply, RemovalsRunBeforeSetsSoSetWins) {
  config::HeaderRewrite rw;
  rw.set = {{"x-a", "set"}};
  rw.remove = {"x-a", "x-b"};
  base::HeaderMap h;
  h.add("x-a", "old");
  h.add("x-b", "old");
  h.add("z", "z");
  HeaderRewriteFactory::apply(rw, h);
  // x-a was removed first, then set again (appended at the end, not in its old place).
  EXPECT_EQ(flat(h), (std::vector<std::string>{"z=z", "x-a=set"}));
}

TEST(HeaderRewriteFilter, RequestAndResponseRewritesGoToTheirPhase) {
  config::HeaderRewrite req;
  req.set = {{"x-gateway", "sluice"}};
  req.remove = {"x-debug"};
  config::HeaderRewrite resp;
  resp.set = {{"x-frame-options", "DENY"}};
  resp.remove = {"server"};
  HeaderRewriteFactory factory(req, resp);
  std::unique_ptr<Filter> filter = factory.create();
  NullCallbacks cb;

  base::RequestHead rq;
  rq.headers.add("x-debug", "1");
  rq.headers.add("server", "untouched-on-request");
  EXPECT_EQ(filter->onRequestHeaders(rq, cb), FilterStatus::Continue);
  EXPECT_EQ(flat(rq.headers),
            (std::vector<std::string>{"server=untouched-on-request", "x-gateway=sluice"}));

  base::ResponseHead rs;
  rs.headers.add("server", "nginx");
  rs.headers.add("x-debug", "untouched-on-response");
  EXPECT_EQ(filter->onResponseHeaders(rs, cb), FilterStatus::Continue);
  EXPECT_EQ(flat(rs.headers),
            (std::vector<std::string>{"x-debug=untouched-on-response", "x-frame-options=DENY"}));
}

TEST(HeaderRewriteFilter, VariablesExpandPerRequestAndUnsafeValuesDropTheField) {
  config::HeaderRewrite req;
  req.set = {{"x-client-ip", "${client_ip}"},
             {"x-copy", "from ${header.x-a} via ${route}"},
             {"x-user", "${jwt.sub}"},
             {"x-consumer", "${consumer}"},
             {"x-price", "$$5"}};
  req.remove = {"x-a"};  // removed, yet ${header.x-a} saw it: values expand first
  config::HeaderRewrite resp;
  resp.set = {{"x-request-id", "${request_id}"}, {"x-method", "${method}"}};
  HeaderRewriteFactory factory(req, resp);
  std::unique_ptr<Filter> filter = factory.create();
  NullCallbacks cb;
  cb.info_.client_ip = "192.0.2.1";
  cb.info_.route_name = "api";
  cb.info_.request_id = "rid-9";
  JwtClaims claims;
  claims.values = {{"sub", "bob\r\nx-admin: yes"}};
  cb.info_.jwt_claims = &claims;

  base::RequestHead rq;
  rq.method = "PUT";
  rq.headers.add("x-a", "A");
  rq.headers.add("x-user", "client-claims-admin");  // never reaches upstream
  EXPECT_EQ(filter->onRequestHeaders(rq, cb), FilterStatus::Continue);
  EXPECT_EQ(flat(rq.headers), (std::vector<std::string>{"x-client-ip=192.0.2.1",
                                                        "x-copy=from A via api", "x-price=$5"}));

  cb.request_ = rq;
  base::ResponseHead rs;
  EXPECT_EQ(filter->onResponseHeaders(rs, cb), FilterStatus::Continue);
  EXPECT_EQ(flat(rs.headers), (std::vector<std::string>{"x-request-id=rid-9", "x-method=PUT"}));
}

TEST(HeaderRewriteFilter, ResponseHeadersAreNotWantedWithoutAResponseRewrite) {
  config::HeaderRewrite req;
  req.set = {{"x-a", "1"}};
  HeaderRewriteFactory request_only(req, config::HeaderRewrite{});
  EXPECT_FALSE(request_only.create()->wantsResponseHeaders());
  HeaderRewriteFactory response_only(config::HeaderRewrite{}, req);
  EXPECT_TRUE(response_only.create()->wantsResponseHeaders());
}

}  // namespace
}  // namespace sluice::filters
