// The parts of an Exchange that outlive or precede it: the waker a filter keeps to resume a
// stopped request from any thread, and the per-thread recycling of Exchange objects.
#include <memory>
#include <vector>

#include "proxy/stream/exchange.h"

namespace sluice::proxy {

namespace {
class ExchangeWaker final : public filters::Waker {
 public:
  ExchangeWaker(WorkerContext& ctx, Exchange* ex, std::shared_ptr<bool> alive)
      : ctx_(ctx), ex_(ex), alive_(std::move(alive)) {}
  void wake(std::function<void(filters::FilterCallbacks&)> fn) override {
    ctx_.post([ex = ex_, alive = alive_, fn = std::move(fn)] {
      if (*alive) fn(*ex);
    });
  }

 private:
  WorkerContext& ctx_;
  Exchange* ex_;
  std::shared_ptr<bool> alive_;
};
}  // namespace

namespace {
struct FreeExchanges {
  std::vector<void*> blocks;
  ~FreeExchanges() {
    for (void* b : blocks) ::operator delete(b);
  }
};
thread_local FreeExchanges free_exchanges;
constexpr size_t kMaxFreeExchanges = 256;
}  // namespace

void* Exchange::operator new(size_t size) {
  auto& free = free_exchanges.blocks;
  if (size == sizeof(Exchange) && !free.empty()) {
    void* p = free.back();
    free.pop_back();
    return p;
  }
  return ::operator new(size);
}

void Exchange::operator delete(void* p, size_t size) {
  auto& free = free_exchanges.blocks;
  if (size == sizeof(Exchange) && free.size() < kMaxFreeExchanges) {
    free.push_back(p);
    return;
  }
  ::operator delete(p);
}

std::shared_ptr<bool> Exchange::aliveToken() {
  if (!alive_) alive_ = std::make_shared<bool>(true);
  return alive_;
}

std::shared_ptr<filters::Waker> Exchange::waker() {
  if (!alive_) alive_ = std::make_shared<bool>(true);
  return std::make_shared<ExchangeWaker>(ctx_, this, alive_);
}

}  // namespace sluice::proxy
