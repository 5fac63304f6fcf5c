#include "proxy/stream/mirror.h"

#include <chrono>
#include <cstdint>
#include <string>
#include <unordered_map>

#include "balancer/hash.h"
#include "proxy/runtime/worker_context.h"
#include "proxy/stream/mirror_compare.h"
#include "proxy/upstream/background_fetch.h"

namespace sluice::proxy {

namespace {

// One route's mirrors on this worker: how many are in flight, and its series. Kept by route
// name for the life of the worker thread, so the bound holds across a reload (a mirror started
// under the old config still counts) and the series are resolved once.
struct RouteMirrors {
  const Metrics* metrics = nullptr;  // whose series these are
  uint32_t in_flight = 0;
  base::Counter* results[kMirrorResults] = {};
  base::Counter* dropped_in_flight = nullptr;
  base::Counter* dropped_too_large = nullptr;
};

thread_local std::unordered_map<std::string, RouteMirrors> route_mirrors;

RouteMirrors& routeMirrors(Metrics& metrics, const std::string& route) {
  RouteMirrors& rm = route_mirrors[route];
  if (rm.metrics != &metrics) {
    rm.metrics = &metrics;
    for (size_t i = 0; i < kMirrorResults; ++i) {
      rm.results[i] = &metrics.mirror_requests_total.with(
          {route, mirrorResultName(static_cast<MirrorResult>(i))});
    }
    rm.dropped_in_flight = &metrics.mirror_dropped_total.with({route, "max_in_flight"});
    rm.dropped_too_large = &metrics.mirror_dropped_total.with({route, "body_too_large"});
  }
  return rm;
}

// Whether this request is one of the `percent` (0..100) mirrored: an independent draw each.
bool selected(double percent) {
  if (percent >= 100) return true;
  if (percent <= 0) return false;
  // Seeded from the clock and this thread's table: distinct per worker, no system call.
  thread_local balancer::SplitMix64 rng{
      static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count()) ^
      reinterpret_cast<uintptr_t>(&route_mirrors)};
  double draw = static_cast<double>(rng.next() >> 11) * 0x1.0p-53 * 100.0;  // [0, 100)
  return draw < percent;
}

int upstreamIndex(const Snapshot& snapshot, const std::string& name) {
  for (size_t i = 0; i < snapshot.upstreams.size(); ++i) {
    const config::Upstream* u = snapshot.upstreams[i].config;
    if (u != nullptr && u->name == name) return static_cast<int>(i);
  }
  return -1;
}

}  // namespace

// Shared by the tap (the client's exchange) and the fetch's callbacks; both run on the worker
// that made it, so nothing here is atomic. Counted once, when the answers it waits for are in.
struct MirrorPair {
  base::Counter* const* results = nullptr;  // RouteMirrors::results
  uint32_t* in_flight = nullptr;            // RouteMirrors::in_flight
  bool compare = false;
  BodyHash primary_hash;
  BodyHash mirror_hash;
  MirrorAnswer primary;
  MirrorAnswer mirror;
  bool primary_done = false;
  bool mirror_done = false;
  bool counted = false;

  void settle() {
    if (counted || !mirror_done || (compare && !primary_done)) return;
    counted = true;
    MirrorResult r = compare           ? compareAnswers(primary, mirror)
                     : mirror.complete ? MirrorResult::Sent
                                       : MirrorResult::Error;
    results[static_cast<size_t>(r)]->inc();
  }
};

MirrorTap MirrorTap::start(WorkerContext& ctx, const SnapshotPtr& snapshot,
                           const RouteRuntime& route, const base::RequestHead& head,
                           const ProxiedRequestFields* add, std::string_view body,
                           bool body_whole) {
  const config::Mirror& mc = *route.config->mirror;
  if (!selected(mc.percent)) return MirrorTap();
  RouteMirrors& rm = routeMirrors(ctx.metrics, route.config->name);
  if (!body_whole || body.size() > kMirrorBodyLimit) {
    rm.dropped_too_large->inc();
    return MirrorTap();
  }
  if (rm.in_flight >= mc.max_in_flight) {
    rm.dropped_in_flight->inc();
    return MirrorTap();
  }
  auto pair = std::make_shared<MirrorPair>();
  pair->results = rm.results;
  pair->in_flight = &rm.in_flight;
  pair->compare = mc.compare;
  ++rm.in_flight;

  base::RequestHead copy = head;
  if (add != nullptr) applyProxiedRequestEdits(copy.headers, *add);
  BackgroundOptions options;
  options.body.assign(body);
  options.retry = false;
  options.body_sink = [pair](const char* data, size_t len) {
    if (pair->compare) pair->mirror_hash.update(data, len);
  };
  // An upstream the config names but the snapshot lacks cannot happen (cross-checked at load);
  // -1 would make `done` report a failure, counted as an error.
  int index = upstreamIndex(*snapshot, mc.upstream);
  BackgroundFetch::start(
      ctx, snapshot, index, std::move(copy), 0,
      [pair](std::optional<filters::BackgroundResponse> response) {
        --*pair->in_flight;
        pair->mirror_done = true;
        pair->mirror.complete = response.has_value();
        if (response) {
          pair->mirror.status = response->status;
          pair->mirror.body_hash = pair->mirror_hash.digest();
        }
        pair->settle();
      },
      std::move(options));
  MirrorTap tap;
  if (mc.compare) tap.pair_ = std::move(pair);
  return tap;
}

MirrorTap& MirrorTap::operator=(MirrorTap&& other) noexcept {
  if (this != &other) {
    release();
    pair_ = std::move(other.pair_);
  }
  return *this;
}

MirrorTap::~MirrorTap() {
  release();
}

void MirrorTap::release() {
  if (!pair_) return;
  pair_->primary_done = true;  // primary.complete stays as it was: false unless it ended whole
  pair_->settle();
  pair_.reset();
}

void MirrorTap::onResponseHead(int status) {
  pair_->primary.status = status;
}

void MirrorTap::onResponseBody(const char* data, size_t len) {
  pair_->primary_hash.update(data, len);
}

void MirrorTap::onResponseComplete() {
  pair_->primary.complete = pair_->primary.status != 0;
  pair_->primary.body_hash = pair_->primary_hash.digest();
  release();
}

}  // namespace sluice::proxy
