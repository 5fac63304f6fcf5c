// FakeCallbacks for the auth filters' tests: a Waker whose woken functions the test runs on its
// own thread (as a worker would), and the consumer and redacted query parameter recorded.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include "tests/filters/fake_callbacks.h"

namespace sluice::filters::testing {

class AuthCallbacks : public FakeCallbacks {
 public:
  struct QueueWaker final : Waker {
    void wake(std::function<void(FilterCallbacks&)> fn) override {
      std::lock_guard lock(mu);
      fns.push_back(std::move(fn));
      cv.notify_all();
    }
    std::mutex mu;
    std::condition_variable cv;
    std::vector<std::function<void(FilterCallbacks&)>> fns;
  };

  std::shared_ptr<Waker> waker() override { return waker_; }
  void setConsumer(std::string_view name) override {
    consumer = name;
    info_.consumer = consumer;
  }
  void redactQueryParameter(std::string_view name) override { redacted = name; }

  // Waits (at most 10 s) for one woken function and runs it here; false on timeout.
  bool runWoken() {
    std::function<void(FilterCallbacks&)> fn;
    {
      std::unique_lock lock(waker_->mu);
      if (!waker_->cv.wait_for(lock, std::chrono::seconds(10),
                               [this] { return !waker_->fns.empty(); })) {
        return false;
      }
      fn = std::move(waker_->fns.front());
      waker_->fns.erase(waker_->fns.begin());
    }
    fn(*this);
    return true;
  }

  std::string consumer;
  std::string redacted;
  std::shared_ptr<QueueWaker> waker_ = std::make_shared<QueueWaker>();
};

}  // namespace sluice::filters::testing
