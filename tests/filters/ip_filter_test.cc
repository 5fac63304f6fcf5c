#include "filters/ip_filter.h"

#include <gtest/gtest.h>

#include "config/units.h"
#include "tests/filters/fake_callbacks.h"

namespace sluice::filters {
namespace {
using testing::FakeCallbacks;

config::Cidr cidr(std::string_view text) {
  auto c = config::parseCidr(text);
  EXPECT_TRUE(c.ok()) << text;
  return *c;
}

class IpFilterTest : public ::testing::Test {
 protected:
  // allow 10/8 and 2001:db8::/32, deny 10.0.66.0/24; 127.0.0.1 is a trusted proxy.
  IpFilterTest() {
    config::IpFilter cfg;
    cfg.allow = {cidr("10.0.0.0/8"), cidr("2001:db8::/32")};
    cfg.deny = {cidr("10.0.66.0/24")};
    factory_ =
        std::make_unique<IpFilterFactory>(cfg, std::vector<config::Cidr>{cidr("127.0.0.1/32")},
                                          AuthCounters::make(registry_, "r", "ip_filter"));
  }

  // The status the request gets: 0 when it passes. `xff` is the X-Forwarded-For as it goes
  // upstream (the peer already appended).
  int status(std::string_view peer, std::string xff = "") {
    FakeCallbacks cb;
    cb.info_.client_ip = peer;
    base::RequestHead head;
    if (!xff.empty()) head.headers.add("x-forwarded-for", xff);
    auto f = factory_->create();
    FilterStatus s = f->onRequestHeaders(head, cb);
    if (s == FilterStatus::Continue) return 0;
    EXPECT_EQ(cb.replies.size(), 1u);
    return cb.replies.empty() ? -1 : cb.replies[0].status;
  }

  base::MetricsRegistry registry_;
  std::unique_ptr<IpFilterFactory> factory_;
};

TEST_F(IpFilterTest, AllowAndDenyV4) {
  EXPECT_EQ(status("10.1.2.3"), 0);
  EXPECT_EQ(status("10.0.66.7"), 403);  // deny wins over allow
  EXPECT_EQ(status("192.0.2.1"), 403);  // not in allow
}

TEST_F(IpFilterTest, AllowV6) {
  EXPECT_EQ(status("2001:db8::5"), 0);
  EXPECT_EQ(status("2001:db9::5"), 403);
  EXPECT_EQ(status("::ffff:10.1.2.3"), 0);  // a mapped v4 address is that v4 address
}

TEST_F(IpFilterTest, ForwardedForIsBelievedOnlyFromTrustedProxies) {
  EXPECT_EQ(status("127.0.0.1", "10.1.2.3, 127.0.0.1"), 0);
  EXPECT_EQ(status("127.0.0.1", "192.0.2.1, 127.0.0.1"), 403);
  // An untrusted peer's claim counts for nothing.
  EXPECT_EQ(status("192.0.2.1", "10.1.2.3, 192.0.2.1"), 403);
  // A spoofed hop before the real client, who is not allowed.
  EXPECT_EQ(status("127.0.0.1", "10.1.2.3, 192.0.2.1, 127.0.0.1"), 403);
  EXPECT_EQ(status("127.0.0.1", "garbage, 127.0.0.1"), 403);  // an unreadable client: refused
}

TEST_F(IpFilterTest, DenyOnlyListLetsOthersPassAndCounts) {
  config::IpFilter cfg;
  cfg.deny = {cidr("192.0.2.0/24")};
  IpFilterFactory f(cfg, {}, AuthCounters::make(registry_, "d", "ip_filter"));
  FakeCallbacks cb;
  cb.info_.client_ip = "198.51.100.1";
  base::RequestHead head;
  EXPECT_EQ(f.create()->onRequestHeaders(head, cb), FilterStatus::Continue);
  cb.info_.client_ip = "192.0.2.200";
  EXPECT_EQ(f.create()->onRequestHeaders(head, cb), FilterStatus::Stop);
  std::string text = registry_.render();
  EXPECT_NE(text.find("sluice_auth_decisions_total{route=\"d\",filter=\"ip_filter\","
                      "result=\"allowed\"} 1"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("sluice_auth_decisions_total{route=\"d\",filter=\"ip_filter\","
                      "result=\"denied\"} 1"),
            std::string::npos);
}

}  // namespace
}  // namespace sluice::filters
