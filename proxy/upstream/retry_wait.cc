#include "proxy/upstream/retry_wait.h"

#include <chrono>
#include <random>

#include "balancer/retry_backoff.h"
#include "filters/cache_control.h"

namespace sluice::proxy {

namespace {

// xorshift64*, seeded once per thread: jitter needs spread, not secrecy.
uint64_t nextRandom() {
  thread_local uint64_t state = [] {
    std::random_device rd;
    uint64_t s = (static_cast<uint64_t>(rd()) << 32) ^ rd();
    return s != 0 ? s : 0x9E3779B97F4A7C15ull;
  }();
  state ^= state >> 12;
  state ^= state << 25;
  state ^= state >> 27;
  return state * 0x2545F4914F6CDD1Dull;
}

int64_t unixNowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

std::optional<int64_t> retryAfterMs(const base::ResponseHead& head, int64_t now_unix_ms) {
  if (head.status != 503 && head.status != 429) return std::nullopt;
  const std::string* value = head.headers.get("retry-after");
  if (value == nullptr) return std::nullopt;
  if (auto delta = balancer::parseDeltaSecondsMs(*value)) return delta;
  std::optional<int64_t> date_s = filters::parseHttpDate(*value);
  if (!date_s) return std::nullopt;
  const int64_t wait = *date_s * 1000 - now_unix_ms;
  return wait > 0 ? std::min(wait, balancer::kMaxRetryAfterMs) : 0;
}

std::optional<int64_t> retryWaitMs(const config::Upstream& upstream, uint32_t retry,
                                   const base::ResponseHead* head, int64_t elapsed_ms) {
  const config::Retries& r = upstream.retries;
  if (!r.backoff) return 0;
  const int64_t remaining =
      r.deadline ? r.deadline->count() - elapsed_ms : upstream.timeouts.response.count();
  std::optional<int64_t> retry_after;
  if (head != nullptr) retry_after = retryAfterMs(*head, unixNowMs());
  balancer::RetryPlan plan =
      balancer::planRetry(*r.backoff, retry, nextRandom(), retry_after, remaining);
  if (!plan.retry) return std::nullopt;
  return plan.wait_ms;
}

}  // namespace sluice::proxy
