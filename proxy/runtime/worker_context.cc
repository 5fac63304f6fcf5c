#include "proxy/runtime/worker_context.h"

#include <ctime>
#include <random>

#include "balancer/effective_weights.h"
#include "balancer/registry.h"
#include "proxy/runtime/memory_release.h"
#include "proxy/upstream/upstream_acquire.h"

namespace sluice::proxy {

namespace {
constexpr const char* kMethods[] = {"GET",     "HEAD",  "POST",  "PUT",    "DELETE",
                                    "OPTIONS", "PATCH", "TRACE", "CONNECT"};

uint32_t methodIndex(std::string_view m) {
  for (uint32_t i = 0; i < std::size(kMethods); ++i) {
    if (m == kMethods[i]) return i;
  }
  return std::size(kMethods);  // "OTHER": label values stay bounded
}
}  // namespace

WorkerContext::WorkerContext(uv_loop_t* l, int i, Metrics& m, SharedState& s)
    : loop(l), services(l, s.events), index(i), metrics(m), shared(s) {
  std::random_device rd;
  rng_[0] = (static_cast<uint64_t>(rd()) << 32) ^ rd() ^ static_cast<uint64_t>(i);
  rng_[1] = (static_cast<uint64_t>(rd()) << 32) ^ rd() ^ 0x9E3779B97F4A7C15ull;
}

void WorkerContext::adopt(SnapshotPtr next) {
  if (snapshot) releaseWhenFreed(snapshot);  // a reload: give its memory back once it is gone
  snapshot = std::move(next);
  pool.retainOnly(upstreamPoolKeys(*snapshot));  // idle connections of removed upstreams go
  selectors.clear();
  selectors.resize(snapshot->upstreams.size());  // built on first pick
  route_series_.clear();
  route_series_.resize(snapshot->routes.size() + 1);
  for (size_t i = 0; i <= snapshot->routes.size(); ++i) {
    RouteSeries& rs = route_series_[i];
    rs.name = i == 0 ? "none" : snapshot->routes[i - 1].config->name;
    rs.duration = &metrics.request_duration_seconds.with({rs.name});
  }
}

int WorkerContext::pickTarget(const Snapshot& snap, size_t index, uint64_t hash,
                              uint64_t exclude_mask) {
  const UpstreamRuntime& u = snap.upstreams[index];
  int64_t now = static_cast<int64_t>(uv_now(loop));
  if (&snap != snapshot.get()) {
    // A request of an older snapshot (a retry after a reload): its own targets, no selector.
    for (size_t i = 0; i < u.targets.size(); ++i) {
      if (!balancer::Candidates::excluded(exclude_mask, i) && u.target_states[i]->selectable(now)) {
        return static_cast<int>(i);
      }
    }
    return -1;
  }
  Selector& sel = selectors[index];
  if (!sel.balancer || balancer::needsRebuild(sel.built, u.state.get(), now)) {
    sel.built = balancer::effectiveWeights(u.configured, u.state.get(), u.config->slow_start, now);
    balancer::BalancerOptions opts;
    opts.balance_factor = u.config->balance_factor;
    opts.seed = rng_[0] ^ (static_cast<uint64_t>(index) << 32);
    sel.balancer = balancer::makeBalancer(u.config->balancer, sel.built.targets, opts);
    if (!sel.balancer) return -1;
  }
  balancer::PickRequest req;
  req.hash = hash;
  req.exclude_mask = exclude_mask;
  return sel.balancer->pick(req);
}

RouteSeries& WorkerContext::routeSeries(int route_index) {
  return route_series_[static_cast<size_t>(route_index + 1)];
}

void WorkerContext::countRequest(int route_index, std::string_view method, int status,
                                 double seconds, std::string_view exemplar_trace) {
  RouteSeries& rs = routeSeries(route_index);
  uint32_t mi = methodIndex(method);
  uint32_t key = (mi << 10) | static_cast<uint32_t>(status & 0x3ff);
  auto it = rs.requests.find(key);
  if (it == rs.requests.end()) {
    std::string code = std::to_string(status);
    const char* mname = mi < std::size(kMethods) ? kMethods[mi] : "OTHER";
    it = rs.requests.emplace(key, &metrics.requests_total.with({rs.name, mname, code})).first;
  }
  it->second->inc();
  if (exemplar_trace.empty()) {
    rs.duration->observe(seconds);
  } else {
    rs.duration->observe(seconds, exemplar_trace);
  }
}

void WorkerContext::countUpstream(const std::string& upstream, const std::string& target,
                                  int status, double seconds, bool connect_failed) {
  key_.assign(upstream);
  key_.push_back('\n');
  key_.append(target);
  auto it = target_series_.find(key_);
  if (it == target_series_.end()) {
    TargetSeries ts;
    ts.connect_failures = &metrics.upstream_connect_failures_total.with({upstream, target});
    ts.duration = &metrics.upstream_request_duration_seconds.with({upstream});
    it = target_series_.emplace(key_, std::move(ts)).first;
  }
  TargetSeries& ts = it->second;
  if (connect_failed) ts.connect_failures->inc();
  if (status == 0) return;
  auto c = ts.by_code.find(status);
  if (c == ts.by_code.end()) {
    std::string code = std::to_string(status);
    c = ts.by_code.emplace(status, &metrics.upstream_requests_total.with({upstream, target, code}))
            .first;
  }
  c->second->inc();
  ts.duration->observe(seconds);
}

uint64_t WorkerContext::randomBits(void* self) {
  uint64_t* rng = static_cast<WorkerContext*>(self)->rng_;
  uint64_t s1 = rng[0];
  const uint64_t s0 = rng[1];
  rng[0] = s0;
  s1 ^= s1 << 23;
  rng[1] = s1 ^ s0 ^ (s1 >> 17) ^ (s0 >> 26);
  return rng[1] + s0;
}

std::string WorkerContext::newRequestId() {
  // xorshift128+: fast, and ids only need to be unique, not secret. 15 base-32 characters carry
  // 75 random bits and fit std::string's inline buffer (no allocation for the id and its copies
  // in the x-request-id fields).
  uint64_t a = randomBits(this);
  uint64_t b = (a * 0x9E3779B97F4A7C15ull) ^ (rng_[0] >> 7);
  static constexpr char kAlphabet[] = "0123456789abcdefghjkmnpqrstvwxyz";
  std::string id(15, '0');
  for (int i = 0; i < 12; ++i) id[static_cast<size_t>(i)] = kAlphabet[(a >> (i * 5)) & 31];
  for (int i = 0; i < 3; ++i) id[static_cast<size_t>(12 + i)] = kAlphabet[(b >> (i * 5)) & 31];
  return id;
}

const std::string& WorkerContext::httpDate() {
  time_t now = time(nullptr);
  if (now != date_second_) {
    date_second_ = now;
    tm t{};
    gmtime_r(&now, &t);
    char buf[64];
    size_t n = strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S GMT", &t);
    date_.assign(buf, n);
  }
  return date_;
}

}  // namespace sluice::proxy
