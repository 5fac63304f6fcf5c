// The admin runtime API's answers (proxy/admin/runtime_api.cc) on a hand-built snapshot.
#include "proxy/admin/runtime_api.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <memory>

#include "balancer/hash.h"

namespace sluice::proxy {
namespace {

using ::testing::HasSubstr;

config::Target target(const char* address, uint32_t weight) {
  config::Target t;
  t.address = address;
  t.weight = weight;
  return t;
}

// Upstream "api" with targets 127.0.0.1:8081 (weight 1), [::1]:80 (weight 2); "web" with one.
struct Fixture {
  Fixture() {
    auto c = std::make_shared<config::Config>();
    config::Upstream api;
    api.name = "api";
    api.targets = {target("127.0.0.1:8081", 1), target("[::1]:80", 2)};
    api.circuit_breaker = config::CircuitBreaker{};
    config::Upstream web;
    web.name = "web";
    web.balancer = "least_conn";
    web.targets = {target("10.0.0.1:80", 1)};
    c->upstreams = {api, web};
    snap = std::make_shared<Snapshot>(c);
    snap->version = 7;
    for (const config::Upstream& u : snap->config->upstreams) {
      UpstreamRuntime rt;
      rt.config = &u;
      rt.state = std::make_shared<balancer::UpstreamState>();
      for (const config::Target& t : u.targets) {
        ResolvedTarget r;
        r.address = t.address;
        r.weight = t.weight;
        rt.targets.push_back(r);
        auto ts =
            std::make_shared<balancer::TargetState>(rt.state, balancer::TargetState::kReadyLongAgo);
        rt.configured.push_back(
            balancer::TargetWeight{t.weight, ts.get(), balancer::hashKey(t.address)});
        rt.target_states.push_back(std::move(ts));
      }
      snap->upstreams.push_back(std::move(rt));
    }
    // web's second and third targets: the addresses a name (written api.internal:80) has.
    UpstreamRuntime& w = snap->upstreams[1];
    for (const char* ip : {"10.0.0.7:80", "10.0.0.8:80"}) {
      ResolvedTarget r;
      r.address = ip;
      r.source = "api.internal:80";
      r.name = "api.internal:80";
      w.targets.push_back(r);
      auto ts =
          std::make_shared<balancer::TargetState>(w.state, balancer::TargetState::kReadyLongAgo);
      w.configured.push_back(balancer::TargetWeight{1, ts.get(), balancer::hashKey(ip)});
      w.target_states.push_back(std::move(ts));
    }
  }
  AdminResponse call(const std::string& method, const std::string& path,
                     const std::string& query = "") {
    AdminRequest r;
    r.method = method;
    r.path = path;
    r.query = query;
    return runtimeApi(r, *snap, 1'000);
  }
  balancer::TargetState& state(size_t u, size_t t) { return *snap->upstreams[u].target_states[t]; }

  std::shared_ptr<Snapshot> snap;
};

TEST(RuntimeApi, Paths) {
  EXPECT_TRUE(isRuntimeApiPath("/upstreams"));
  EXPECT_TRUE(isRuntimeApiPath("/upstreams/api/targets/x/drain"));
  EXPECT_FALSE(isRuntimeApiPath("/upstreamsx"));
  EXPECT_FALSE(isRuntimeApiPath("/status"));
}

TEST(RuntimeApi, ListsWhatIsInForce) {
  Fixture f;
  AdminResponse r = f.call("GET", "/upstreams");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.content_type, "application/json");
  EXPECT_THAT(r.body, HasSubstr("{\"version\":7,\"upstreams\":[{\"name\":\"api\",\"balancer\":"
                                "\"round_robin\",\"targets\":[{\"address\":\"127.0.0.1:8081\","
                                "\"source\":\"127.0.0.1:8081\",\"weight\":1,\"weight_override\":"
                                "null,\"effective_weight\":1,"
                                "\"drained\":false,\"health\":\"healthy\",\"circuit\":\"closed\","
                                "\"in_flight\":0},"));
  EXPECT_THAT(r.body, HasSubstr("\"address\":\"[::1]:80\",\"source\":\"[::1]:80\",\"weight\":2,"));
  EXPECT_THAT(r.body, HasSubstr("{\"name\":\"web\",\"balancer\":\"least_conn\""));
  EXPECT_THAT(r.body, HasSubstr("\"circuit\":null"));  // web has no breaker
  r = f.call("GET", "/upstreams/web");
  EXPECT_EQ(r.status, 200);
  EXPECT_THAT(r.body, ::testing::StartsWith("{\"name\":\"web\""));
  EXPECT_EQ(f.call("HEAD", "/upstreams").status, 200);
}

TEST(RuntimeApi, DrainEnableAndWeight) {
  Fixture f;
  f.state(0, 0).onRequestStart();
  AdminResponse r = f.call("POST", "/upstreams/api/targets/127.0.0.1:8081/drain");
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_TRUE(f.state(0, 0).overrides.drained());
  EXPECT_THAT(r.body, HasSubstr("\"effective_weight\":0,\"drained\":true,\"health\":\"healthy\""));
  EXPECT_THAT(r.body, HasSubstr("\"in_flight\":1"));
  r = f.call("POST", "/upstreams/api/targets/127.0.0.1%3A8081/enable");  // encoded ':'
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_FALSE(f.state(0, 0).overrides.drained());
  r = f.call("POST", "/upstreams/api/targets/%5B%3A%3A1%5D%3A80/weight", "value=5");
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_THAT(r.body, HasSubstr("\"weight\":2,\"weight_override\":5,\"effective_weight\":5,"));
  EXPECT_EQ(f.state(0, 1).overrides.weight(), 5u);
  r = f.call("POST", "/upstreams/api/targets/[::1]:80/weight", "x=1&value=0");
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(f.state(0, 1).overrides.weight(), 0u);
  f.state(0, 0).onRequestEnd();
}

TEST(RuntimeApi, AHostNameAsWrittenNamesEveryAddressItHas) {
  Fixture f;
  AdminResponse r = f.call("GET", "/upstreams/web");
  EXPECT_THAT(r.body, HasSubstr("{\"address\":\"10.0.0.7:80\",\"source\":\"api.internal:80\","));
  r = f.call("POST", "/upstreams/web/targets/api.internal%3A80/drain");
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_THAT(r.body, ::testing::StartsWith("{\"source\":\"api.internal:80\",\"targets\":[{"
                                            "\"address\":\"10.0.0.7:80\""));
  EXPECT_THAT(r.body, HasSubstr("\"address\":\"10.0.0.8:80\""));
  EXPECT_FALSE(f.state(1, 0).overrides.drained());
  EXPECT_TRUE(f.state(1, 1).overrides.drained());
  EXPECT_TRUE(f.state(1, 2).overrides.drained());
  // One address of it, by its ip:port.
  r = f.call("POST", "/upstreams/web/targets/10.0.0.8:80/enable");
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_THAT(r.body, ::testing::StartsWith("{\"address\":\"10.0.0.8:80\""));
  EXPECT_TRUE(f.state(1, 1).overrides.drained());
  EXPECT_FALSE(f.state(1, 2).overrides.drained());
}

TEST(RuntimeApi, Errors) {
  Fixture f;
  auto expect = [&](int status, AdminResponse r, const char* text) {
    EXPECT_EQ(r.status, status) << r.body;
    EXPECT_EQ(r.content_type, "application/json");
    EXPECT_THAT(r.body, HasSubstr("\"status\":" + std::to_string(status) + ",\"error\":"));
    EXPECT_THAT(r.body, HasSubstr(text));
  };
  expect(404, f.call("POST", "/upstreams/nope/targets/127.0.0.1:8081/drain"),
         "no upstream named nope");
  expect(404, f.call("POST", "/upstreams/api/targets/127.0.0.1:9999/drain"),
         "upstream api has no target 127.0.0.1:9999");
  expect(404, f.call("GET", "/upstreams/nope"), "no upstream named nope");
  expect(404, f.call("POST", "/upstreams/api/targets/127.0.0.1:8081/explode"), "no endpoint");
  expect(404, f.call("GET", "/upstreams/api/targets"), "no endpoint");
  AdminResponse r = f.call("GET", "/upstreams/api/targets/127.0.0.1:8081/drain");
  expect(405, r, "use POST");
  EXPECT_EQ(r.allow, "POST");
  r = f.call("DELETE", "/upstreams");
  expect(405, r, "use GET");
  EXPECT_EQ(r.allow, "GET, HEAD");
  for (const char* q :
       {"", "value=", "value=-1", "value=1000001", "value=2x", "value=1.5", "weight=3"}) {
    expect(400, f.call("POST", "/upstreams/api/targets/127.0.0.1:8081/weight", q), "value=N");
  }
  EXPECT_FALSE(f.state(0, 0).overrides.weight());  // nothing changed by a bad request
  EXPECT_FALSE(f.state(0, 0).overrides.drained());
}

}  // namespace
}  // namespace sluice::proxy
