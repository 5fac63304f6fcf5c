#include "balancer/retry_backoff.h"

#include <algorithm>

namespace sluice::balancer {

int64_t backoffCapMs(const config::RetryBackoff& backoff, uint32_t retry) {
  const int64_t base = std::max<int64_t>(0, backoff.base.count());
  const int64_t max = std::max<int64_t>(0, backoff.max.count());
  const uint32_t doublings = retry > 0 ? retry - 1 : 0;
  if (base == 0) return 0;
  // base x 2^doublings > max once doublings passes the bit width of max / base.
  if (doublings >= 62 || base > (max >> doublings)) return max;
  return std::min(max, base << doublings);
}

int64_t backoffDelayMs(const config::RetryBackoff& backoff, uint32_t retry, uint64_t random) {
  const int64_t cap = backoffCapMs(backoff, retry);
  if (cap <= 0) return 0;
  // The modulo's bias is at most (cap + 1) / 2^64: nothing for waits counted in milliseconds.
  return static_cast<int64_t>(random % (static_cast<uint64_t>(cap) + 1));
}

std::optional<int64_t> parseDeltaSecondsMs(std::string_view value) {
  auto space = [](char c) { return c == ' ' || c == '\t'; };
  while (!value.empty() && space(value.front())) value.remove_prefix(1);
  while (!value.empty() && space(value.back())) value.remove_suffix(1);
  if (value.empty()) return std::nullopt;
  int64_t seconds = 0;
  for (char c : value) {
    if (c < '0' || c > '9') return std::nullopt;
    seconds = std::min<int64_t>(seconds * 10 + (c - '0'), kMaxRetryAfterMs / 1000);
  }
  return seconds * 1000;
}

RetryPlan planRetry(const config::RetryBackoff& backoff, uint32_t retry, uint64_t random,
                    std::optional<int64_t> retry_after_ms, int64_t remaining_ms) {
  RetryPlan plan;
  if (retry_after_ms) {
    plan.wait_ms = std::max<int64_t>(0, *retry_after_ms);
    plan.honoured = true;
  } else {
    plan.wait_ms = backoffDelayMs(backoff, retry, random);
  }
  // The next try must start before the deadline, or waiting only turns the answer into a 504.
  plan.retry = plan.wait_ms < remaining_ms;
  return plan;
}

}  // namespace sluice::balancer
