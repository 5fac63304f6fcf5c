// The wait between the tries of a request (`retries.backoff`): exponential with full jitter, or
// the failed answer's own Retry-After when it fits the time left. Pure: the random value and the
// time left come in as parameters, so tests are exact; the proxy runs the wait on a timer.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "config/config.h"

namespace sluice::balancer {

// The cap of retry number `retry`'s wait (1 = the first retry; 0 acts as 1):
// min(max, base x 2^(retry-1)), without overflow.
int64_t backoffCapMs(const config::RetryBackoff& backoff, uint32_t retry);

// Retry number `retry`'s wait with full jitter: uniform in [0, backoffCapMs] (both ends
// included), from `random` (any 64-bit value of the caller's generator).
int64_t backoffDelayMs(const config::RetryBackoff& backoff, uint32_t retry, uint64_t random);

// Retry-After as delta-seconds (RFC 9110 §10.2.3: 1*DIGIT, optional whitespace around it), in
// milliseconds, capped at kMaxRetryAfterMs; null when it is not one (an HTTP-date is the
// caller's to convert: the clock is the caller's).
std::optional<int64_t> parseDeltaSecondsMs(std::string_view value);
inline constexpr int64_t kMaxRetryAfterMs = int64_t{1} << 40;  // ~35 years: "never" in practice

// What the request does after a failed try that may be retried.
struct RetryPlan {
  bool retry = true;      // false: the failure (or the answer) stands, no retry
  int64_t wait_ms = 0;    // when retrying: wait this long before the next try
  bool honoured = false;  // the wait is the answer's Retry-After
};

// Called by the worker once a failed try may be retried (conditions, budget). `retry_after_ms`:
// the failed answer's Retry-After as a wait (a 503 or 429 only; null otherwise). `remaining_ms`:
// the time left to the request's deadline. A wait that does not end before the deadline is not
// made: the failure (or the 503/429 with its Retry-After) goes to the client instead.
RetryPlan planRetry(const config::RetryBackoff& backoff, uint32_t retry, uint64_t random,
                    std::optional<int64_t> retry_after_ms, int64_t remaining_ms);

}  // namespace sluice::balancer
