// The cache filter's unit-test fixture: a store and factory on an injected wall clock (Env), and
// one request through the filter with the origin's answer played by the test (Req).
#pragma once

#include <ctime>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "filters/cache.h"
#include "tests/filters/fake_callbacks.h"

namespace sluice::filters::testing {

struct Env {
  config::CacheFilter cfg;
  int64_t now = 1'700'000'000'000;
  base::Counter hit, miss, stale, bypass;
  base::Gauge bytes;
  std::shared_ptr<CacheStore> store;
  std::unique_ptr<CacheFactory> factory;

  explicit Env(config::CacheFilter c = {}) : cfg(c) {
    store = std::make_shared<CacheStore>(cfg.max_bytes, &bytes);
    factory = std::make_unique<CacheFactory>(
        cfg, store, CacheFactory::Counters{&hit, &miss, &stale, &bypass}, [this] { return now; });
  }
};

struct Req {
  std::unique_ptr<Filter> f;
  testing::FakeCallbacks cb;
  base::RequestHead head;
  FilterStatus status;

  Req(Env& env, const char* target, std::vector<std::pair<const char*, const char*>> h = {},
      const char* method = "GET")
      : f(env.factory->create()) {
    head.method = method;
    head.target = target;
    for (auto& [k, v] : h) head.headers.add(k, v);
    cb.info_.original_host = "example.test";
    cb.info_.original_target = target;
    status = f->onRequestHeaders(head, cb);
  }
  // The origin's answer.
  base::ResponseHead respond(int code, std::vector<std::pair<const char*, const char*>> h,
                             std::string body) {
    base::ResponseHead r;
    r.status = code;
    for (auto& [k, v] : h) r.headers.add(k, v);
    f->onResponseHeaders(r, cb);
    if (cb.replies.empty()) {
      f->onResponseBody(body, false, cb);
      std::string tail;
      f->onResponseBody(tail, true, cb);
    }
    f->onComplete(code);
    return r;
  }
};

// An HTTP-date for `seconds` since the epoch (what an origin's Date field says).
inline std::string httpDate(int64_t seconds) {
  time_t t = static_cast<time_t>(seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  size_t n = strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S GMT", &tm);
  return std::string(buf, n);
}

// The head a local reply reaches the client with: what Exchange::sendLocalReply builds (its own
// Date, Content-Type and x-request-id, then the filter's fields) after the filter's own response
// phase ran over it.
inline base::HeaderMap delivered(Req& r, size_t i = 0) {
  base::ResponseHead head;
  head.status = r.cb.replies.at(i).status;
  head.headers.add("date", "Thu, 01 Jan 2099 00:00:00 GMT");
  head.headers.add("content-type", "text/plain; charset=utf-8");
  head.headers.add("x-request-id", "rid");
  for (const base::Header& h : r.cb.replies[i].headers) head.headers.set(h.name, h.value);
  r.f->onResponseHeaders(head, r.cb);
  return head.headers;
}

}  // namespace sluice::filters::testing
