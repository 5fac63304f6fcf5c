#include "filters/chain.h"

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "tests/filters/fake_callbacks.h"

namespace sluice::filters {
namespace {

using Log = std::vector<std::string>;

// Records every phase it sees as "<name>.<phase>"; returns Stop from the phases it is told to
// (request headers only the first time, so a resumed chain goes on).
struct Behaviour {
  bool stop_request_headers_once = false;
  bool stop_request_body = false;
  bool stop_response_headers = false;
  bool stop_response_body = false;
};

class RecordingFilter final : public Filter {
 public:
  RecordingFilter(std::string name, Behaviour b, Log* log)
      : name_(std::move(name)), b_(b), log_(log) {}

  FilterStatus onRequestHeaders(base::RequestHead& head, FilterCallbacks&) override {
    log_->push_back(name_ + ".reqh");
    head.headers.add("x-seen", name_);
    if (b_.stop_request_headers_once && !stopped_) {
      stopped_ = true;
      return FilterStatus::Stop;
    }
    return FilterStatus::Continue;
  }
  FilterStatus onRequestBody(std::string& data, bool end, FilterCallbacks&) override {
    log_->push_back(name_ + ".reqb" + (end ? "!" : ""));
    data += name_;
    return b_.stop_request_body ? FilterStatus::Stop : FilterStatus::Continue;
  }
  FilterStatus onResponseHeaders(base::ResponseHead&, FilterCallbacks&) override {
    log_->push_back(name_ + ".resh");
    return b_.stop_response_headers ? FilterStatus::Stop : FilterStatus::Continue;
  }
  FilterStatus onResponseBody(std::string& data, bool end, FilterCallbacks&) override {
    log_->push_back(name_ + ".resb" + (end ? "!" : ""));
    data += name_;
    return b_.stop_response_body ? FilterStatus::Stop : FilterStatus::Continue;
  }
  void onComplete(int status) override {
    log_->push_back(name_ + ".done" + std::to_string(status));
  }

 private:
  std::string name_;
  Behaviour b_;
  Log* log_;
  bool stopped_ = false;
};

class RecordingFactory final : public FilterFactory {
 public:
  RecordingFactory(std::string name, Behaviour b, Log* log)
      : name_(std::move(name)), b_(b), log_(log) {}
  std::unique_ptr<Filter> create() const override {
    return std::make_unique<RecordingFilter>(name_, b_, log_);
  }

 private:
  std::string name_;
  Behaviour b_;
  Log* log_;
};

// Declines the response head (wantsResponseHeaders false).
class HeadlessFilter final : public Filter {
 public:
  bool wantsResponseHeaders() const override { return false; }
};
class HeadlessFactory final : public FilterFactory {
 public:
  std::unique_ptr<Filter> create() const override { return std::make_unique<HeadlessFilter>(); }
};

// A filter with no overrides: every phase is the default no-op Continue.
class SilentFilter final : public Filter {};
class SilentFactory final : public FilterFactory {
 public:
  std::unique_ptr<Filter> create() const override { return std::make_unique<SilentFilter>(); }
};

using NullCallbacks = testing::FakeCallbacks;

class ChainTest : public ::testing::Test {
 protected:
  void add(std::string name, Behaviour b = {}) {
    factories_.push_back(std::make_shared<RecordingFactory>(std::move(name), b, &log_));
  }
  Log take() {
    Log out;
    out.swap(log_);
    return out;
  }

  Log log_;
  FactoryList factories_;
  FilterChain chain_;
  NullCallbacks cb_;
  base::RequestHead req_;
  base::ResponseHead resp_;
};

TEST_F(ChainTest, EmptyChainContinuesEverywhere) {
  chain_.init(factories_);
  EXPECT_TRUE(chain_.empty());
  std::string data = "x";
  EXPECT_EQ(chain_.runRequestHeaders(req_, cb_), FilterStatus::Continue);
  EXPECT_EQ(chain_.runRequestBody(data, true, cb_), FilterStatus::Continue);
  EXPECT_EQ(chain_.runResponseHeaders(resp_, cb_), FilterStatus::Continue);
  EXPECT_EQ(chain_.runResponseBody(data, true, cb_), FilterStatus::Continue);
  chain_.complete(200);
  EXPECT_EQ(data, "x");
}

TEST_F(ChainTest, WantsResponseHeadersAsksOnlyTheFiltersThatSawTheRequest) {
  chain_.init(factories_);
  EXPECT_FALSE(chain_.wantsResponseHeaders());  // empty
  factories_.push_back(std::make_shared<HeadlessFactory>());
  chain_.init(factories_);
  EXPECT_EQ(chain_.runRequestHeaders(req_, cb_), FilterStatus::Continue);
  EXPECT_FALSE(chain_.wantsResponseHeaders());
  add("a", {.stop_request_headers_once = true});  // stops: the filter after it never runs
  factories_.push_back(std::make_shared<SilentFactory>());
  chain_.init(factories_);
  EXPECT_FALSE(chain_.wantsResponseHeaders());  // nothing ran yet
  EXPECT_EQ(chain_.runRequestHeaders(req_, cb_), FilterStatus::Stop);
  EXPECT_TRUE(chain_.wantsResponseHeaders());  // "a" (default: true) saw the request
}

TEST_F(ChainTest, InitCreatesOneFilterPerFactory) {
  add("a");
  chain_.init(factories_);
  EXPECT_FALSE(chain_.empty());
  EXPECT_TRUE(log_.empty());  // creating filters runs no phase
}

TEST_F(ChainTest, RequestPhasesInOrderResponsePhasesInReverse) {
  add("a");
  add("b");
  add("c");
  chain_.init(factories_);

  EXPECT_EQ(chain_.runRequestHeaders(req_, cb_), FilterStatus::Continue);
  EXPECT_EQ(take(), (Log{"a.reqh", "b.reqh", "c.reqh"}));
  EXPECT_EQ(req_.headers.count("x-seen"), 3u);

  std::string body = "";
  EXPECT_EQ(chain_.runRequestBody(body, false, cb_), FilterStatus::Continue);
  EXPECT_EQ(body, "abc");
  body = "";
  EXPECT_EQ(chain_.runRequestBody(body, true, cb_), FilterStatus::Continue);
  EXPECT_EQ(take(), (Log{"a.reqb", "b.reqb", "c.reqb", "a.reqb!", "b.reqb!", "c.reqb!"}));

  EXPECT_EQ(chain_.runResponseHeaders(resp_, cb_), FilterStatus::Continue);
  EXPECT_EQ(take(), (Log{"c.resh", "b.resh", "a.resh"}));

  std::string out = "";
  EXPECT_EQ(chain_.runResponseBody(out, true, cb_), FilterStatus::Continue);
  EXPECT_EQ(out, "cba");
  EXPECT_EQ(take(), (Log{"c.resb!", "b.resb!", "a.resb!"}));

  chain_.complete(200);
  EXPECT_EQ(take(), (Log{"a.done200", "b.done200", "c.done200"}));
}

TEST_F(ChainTest, ResponseRunsOnlyOverFiltersThatSawTheRequest) {
  add("a");
  add("b", {.stop_request_headers_once = true});
  add("c");
  chain_.init(factories_);

  // b stops (e.g. it answered with a local reply): c never sees the request...
  EXPECT_EQ(chain_.runRequestHeaders(req_, cb_), FilterStatus::Stop);
  EXPECT_EQ(take(), (Log{"a.reqh", "b.reqh"}));

  // ...so the response goes back through b and a only, and so do body chunks.
  EXPECT_EQ(chain_.runResponseHeaders(resp_, cb_), FilterStatus::Continue);
  std::string out;
  EXPECT_EQ(chain_.runResponseBody(out, true, cb_), FilterStatus::Continue);
  EXPECT_EQ(out, "ba");
  EXPECT_EQ(take(), (Log{"b.resh", "a.resh", "b.resb!", "a.resb!"}));

  // onComplete reaches every filter, also the one that never ran.
  chain_.complete(429);
  EXPECT_EQ(take(), (Log{"a.done429", "b.done429", "c.done429"}));
}

TEST_F(ChainTest, ResumeAfterStopContinuesAfterTheStoppingFilter) {
  add("a");
  add("b", {.stop_request_headers_once = true});
  add("c");
  add("d");
  chain_.init(factories_);

  EXPECT_EQ(chain_.runRequestHeaders(req_, cb_), FilterStatus::Stop);
  EXPECT_EQ(take(), (Log{"a.reqh", "b.reqh"}));

  // continueRequest(): neither a nor b run again.
  EXPECT_EQ(chain_.runRequestHeaders(req_, cb_), FilterStatus::Continue);
  EXPECT_EQ(take(), (Log{"c.reqh", "d.reqh"}));
  EXPECT_EQ(req_.headers.count("x-seen"), 4u);

  // Running again after the chain finished is a no-op.
  EXPECT_EQ(chain_.runRequestHeaders(req_, cb_), FilterStatus::Continue);
  EXPECT_TRUE(take().empty());

  EXPECT_EQ(chain_.runResponseHeaders(resp_, cb_), FilterStatus::Continue);
  EXPECT_EQ(take(), (Log{"d.resh", "c.resh", "b.resh", "a.resh"}));
}

TEST_F(ChainTest, TwoStopsResumeOneAtATime) {
  add("a", {.stop_request_headers_once = true});
  add("b");
  add("c", {.stop_request_headers_once = true});
  chain_.init(factories_);

  EXPECT_EQ(chain_.runRequestHeaders(req_, cb_), FilterStatus::Stop);
  EXPECT_EQ(take(), (Log{"a.reqh"}));
  EXPECT_EQ(chain_.runRequestHeaders(req_, cb_), FilterStatus::Stop);
  EXPECT_EQ(take(), (Log{"b.reqh", "c.reqh"}));
  EXPECT_EQ(chain_.runRequestHeaders(req_, cb_), FilterStatus::Continue);
  EXPECT_TRUE(take().empty());
}

TEST_F(ChainTest, StopInABodyOrResponsePhaseEndsThatPass) {
  add("a");
  add("b", {.stop_request_body = true, .stop_response_headers = true, .stop_response_body = true});
  add("c");
  chain_.init(factories_);
  ASSERT_EQ(chain_.runRequestHeaders(req_, cb_), FilterStatus::Continue);
  take();

  std::string data;
  EXPECT_EQ(chain_.runRequestBody(data, true, cb_), FilterStatus::Stop);
  EXPECT_EQ(take(), (Log{"a.reqb!", "b.reqb!"}));
  EXPECT_EQ(chain_.runResponseHeaders(resp_, cb_), FilterStatus::Stop);
  EXPECT_EQ(take(), (Log{"c.resh", "b.resh"}));
  data.clear();
  EXPECT_EQ(chain_.runResponseBody(data, false, cb_), FilterStatus::Stop);
  EXPECT_EQ(take(), (Log{"c.resb", "b.resb"}));
}

TEST_F(ChainTest, DefaultPhasesContinue) {
  factories_.push_back(std::make_shared<SilentFactory>());
  add("a");
  chain_.init(factories_);
  EXPECT_EQ(chain_.runRequestHeaders(req_, cb_), FilterStatus::Continue);
  EXPECT_EQ(chain_.runResponseHeaders(resp_, cb_), FilterStatus::Continue);
  std::string data;
  EXPECT_EQ(chain_.runResponseBody(data, true, cb_), FilterStatus::Continue);
  EXPECT_EQ(data, "a");
  chain_.complete(0);
  EXPECT_EQ(take(), (Log{"a.reqh", "a.resh", "a.resb!", "a.done0"}));
}

TEST_F(ChainTest, InitAgainResetsTheChain) {
  add("a", {.stop_request_headers_once = true});
  add("b");
  chain_.init(factories_);
  EXPECT_EQ(chain_.runRequestHeaders(req_, cb_), FilterStatus::Stop);
  take();

  chain_.init(factories_);  // fresh filters: a stops again and response sees only a
  EXPECT_EQ(chain_.runRequestHeaders(req_, cb_), FilterStatus::Stop);
  EXPECT_EQ(chain_.runResponseHeaders(resp_, cb_), FilterStatus::Continue);
  EXPECT_EQ(take(), (Log{"a.reqh", "a.resh"}));
}

}  // namespace
}  // namespace sluice::filters
