// The wait before a retry (`retries.backoff`), the proxy half of balancer/retry_backoff.h: reads
// a failed answer's Retry-After (delta-seconds or an HTTP-date against the wall clock), works
// out the time left, and draws the jitter from a per-thread generator. Worker thread.
#pragma once

#include <cstdint>
#include <optional>

#include "config/config.h"
#include "filters/base/http_message.h"

namespace sluice::proxy {

// A 503's or 429's Retry-After as a wait from `now_unix_ms` (a date in the past waits 0); null
// for another status, no field, or a value that is neither form.
std::optional<int64_t> retryAfterMs(const base::ResponseHead& head, int64_t now_unix_ms);

// How long to wait before retry number `retry` (1 = the first) of a request to `upstream` that
// started `elapsed_ms` ago, after a try that failed with `head` (null: no answer, e.g. a reset).
// 0 without `retries.backoff` (the next try starts at once, as before). Null when the wait would
// not end before `retries.deadline` (without one: within `timeouts.response`): do not retry.
std::optional<int64_t> retryWaitMs(const config::Upstream& upstream, uint32_t retry,
                                   const base::ResponseHead* head, int64_t elapsed_ms);

}  // namespace sluice::proxy
