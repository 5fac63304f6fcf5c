// What a rate-limit algorithm answers for one request, and the time type the algorithms use.
// Time is a monotonic count of nanoseconds passed in by the caller (tests inject it).
#pragma once

#include <cstdint>

namespace sluice::ratelimit {

using Nanos = int64_t;  // monotonic nanoseconds; any origin, never negative in practice

inline constexpr Nanos kSecond = 1'000'000'000;

struct Decision {
  bool allowed = true;
  uint64_t remaining = 0;  // requests that would still be allowed right now (RateLimit r=)
  Nanos reset = 0;         // until the quota is whole again / the window ends (RateLimit t=)
  Nanos retry_after = 0;   // when denied: until a request would be allowed (Retry-After)
  Nanos delay = 0;         // leaky bucket: hold the request this long before forwarding it
};

}  // namespace sluice::ratelimit
