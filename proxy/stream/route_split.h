// Which upstream serves a request: the route's `upstream:`, or one side of its weighted split
// (`upstreams:` with an optional `sticky: {key}`, balancer/weighted_split.h), chosen when the
// request is routed, before the route's filters run.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "balancer/weighted_split.h"
#include "config/config.h"
#include "filters/filter.h"
#include "filters/rate_limit_key.h"

namespace sluice::proxy {

struct RouteRuntime;

// A route's split, built once per config snapshot on the main thread and then read by every
// worker.
class RouteSplit {
 public:
  // Null with `error` set when a side names no upstream of `config` or the sticky key does not
  // parse (the config loader refuses both first).
  static std::shared_ptr<const RouteSplit> build(const config::Config& config,
                                                 const config::Route& route, std::string& error);

  // The Snapshot::upstreams index for a request: by its sticky key's value when the route has a
  // key and the request carries a value for it, else at random by weight from `random64`.
  // `head` is the request as the client sent it. Worker thread.
  int choose(const base::RequestHead& head, const filters::StreamInfo& info,
             uint64_t random64) const;

 private:
  RouteSplit(balancer::WeightedSplit split, std::vector<int> upstreams)
      : split_(std::move(split)), upstreams_(std::move(upstreams)) {}

  balancer::WeightedSplit split_;
  std::vector<int> upstreams_;  // Snapshot::upstreams index of each side, in config order
  std::optional<filters::RateLimitKey> sticky_;
};

// The Snapshot::upstreams index a request on `route` goes to, or -1 for a route that sluice
// answers itself (respond:, redirect:). Draws from a per-thread generator for a split. Worker
// thread.
int chooseUpstream(const RouteRuntime& route, const base::RequestHead& head,
                   const filters::StreamInfo& info);

}  // namespace sluice::proxy
