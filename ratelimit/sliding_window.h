// The sliding_window limiter: which algorithm a `sliding_window` policy runs. Exact by default,
// never more than `limit` admissions in any trailing `window`: a log of admission times for
// limits up to kSlidingLogMaxLimit (sliding_log.h), a ring of sub-window counts above it
// (sliding_ring.h, under-admits by at most 1 % of the window). `precision: approximate` asks for
// the cheaper weighted two-window counter (weighted_window.h), which may over-admit.
#pragma once

#include <cstdint>
#include <memory>

#include "ratelimit/limiter.h"

namespace sluice::ratelimit {

enum class SlidingAlgo { Log, Ring, Weighted };

// The algorithm for `limit` (approximate: what the user asked for, not chosen by size).
SlidingAlgo slidingAlgoFor(uint64_t limit, bool approximate);

// A key table of `max_keys` keys running that algorithm. Called when a snapshot is built.
std::shared_ptr<Limiter> makeSlidingWindow(uint64_t limit, Nanos window, bool approximate,
                                           uint64_t max_keys);

}  // namespace sluice::ratelimit
