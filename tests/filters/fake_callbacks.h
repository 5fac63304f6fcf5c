// A FilterCallbacks for filter unit tests: records local replies, resumptions and background
// fetches; services() has no loop (inert timers, see NoLoop) and waker() is null.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "filters/filter.h"

namespace sluice::filters::testing {

class FakeCallbacks : public FilterCallbacks {
 public:
  struct Reply {
    int status;
    std::string body;
    base::HeaderMap headers;
  };

  void sendLocalReply(int status, std::string_view body, const base::HeaderMap* extra) override {
    replies.push_back(Reply{status, std::string(body), extra ? *extra : base::HeaderMap{}});
  }
  void continueRequest() override { ++continued; }
  void continueRequestAfter(std::chrono::milliseconds d) override { delays.push_back(d); }
  const StreamInfo& info() const override { return info_; }
  WorkerServices& services() const override { return services_; }
  std::shared_ptr<Waker> waker() override { return nullptr; }
  const base::RequestHead& request() const override { return request_; }
  void setLogField(LogField f, std::string_view v) override {
    (f == LogField::Cache ? cache_field : ratelimit_field) = std::string(v);
  }
  // Background fetches are recorded; a test answers one by calling its `done`.
  void fetchInBackground(base::RequestHead head, size_t max_body, BackgroundDone done) override {
    fetches.push_back(Fetch{std::move(head), max_body, std::move(done), {}, {}});
  }
  // Fetches from a named upstream are recorded the same way, with the upstream and timeout.
  void fetchFromUpstream(std::string_view upstream, base::RequestHead head, size_t max_body,
                         std::chrono::milliseconds timeout, BackgroundDone done) override {
    fetches.push_back(
        Fetch{std::move(head), max_body, std::move(done), std::string(upstream), timeout});
  }
  struct Fetch {
    base::RequestHead head;
    size_t max_body;
    BackgroundDone done;
    std::string upstream;  // empty: the route's (fetchInBackground)
    std::chrono::milliseconds timeout{0};
  };
  std::vector<Fetch> fetches;
  std::string cache_field;
  std::string ratelimit_field;

  std::vector<Reply> replies;
  int continued = 0;
  std::vector<std::chrono::milliseconds> delays;
  StreamInfo info_;
  base::RequestHead request_;
  // No loop: timers never fire, the clock stays at 0, no name is found.
  struct NoLoop final : WorkerServices {
    struct InertTimer final : ServiceTimer {
      bool start(uint64_t, uint64_t) override { return started = true; }
      void stop() override { started = false; }
      bool active() const override { return started; }
      bool started = false;
    };
    std::unique_ptr<ServiceTimer> makeTimer(const char*, std::function<void()>) const override {
      return std::make_unique<InertTimer>();
    }
    int64_t nowMs() const override { return 0; }
    void lookupHost(const std::string&, HostFound done) const override { done(false, ""); }
    void* eventLoop() const override { return nullptr; }
  };
  mutable NoLoop services_;
};

}  // namespace sluice::filters::testing
