#include "proxy/upstream/discovery/etcd_client.h"

#include <algorithm>

#include "balancer/retry_backoff.h"
#include "proxy/runtime/log.h"
#include "proxy/upstream/target_expansion.h"

namespace sluice::proxy::discovery {
namespace {
constexpr size_t kMaxRangeBody = 64 * 1024 * 1024;
constexpr size_t kMaxErrorText = 200;

uint64_t nextRandom(uint64_t& s) {  // xorshift64
  s ^= s << 13;
  s ^= s >> 7;
  s ^= s << 17;
  return s;
}

std::string seconds(uint64_t ms) {
  return std::to_string(ms / 1000) + "." + std::to_string(ms % 1000 / 100) + "s";
}
}  // namespace

EtcdClient::EtcdClient(uv_loop_t* loop, std::string upstream, config::EtcdDiscovery cfg,
                       DiscoveryMetrics& metrics, std::function<void()> changed)
    : loop_(loop),
      upstream_(std::move(upstream)),
      cfg_(std::move(cfg)),
      metrics_(metrics),
      changed_(std::move(changed)),
      rng_((uv_hrtime() ^ reinterpret_cast<uintptr_t>(this)) | 1) {
  metrics_.declare(upstream_);
}

EtcdClient::~EtcdClient() {
  if (call_ != nullptr) call_->cancel();
  timer_.close();
}

bool EtcdClient::start(std::function<void()> settled) {
  on_settled_ = std::move(settled);
  if (cfg_.endpoints.empty() ||
      !timer_.init(loop_, "etcd discovery timer", [this] { onTimer(); })) {
    settle();
    return false;
  }
  beginRange();
  return true;
}

void EtcdClient::inherit(const EtcdClient& previous) {
  set_ = previous.set_;
  targets_ = previous.targets_;
}

std::string EtcdClient::where() const {
  return "discovery for upstream " + upstream_ + ": etcd at " + endpoint().text();
}

bool EtcdClient::send(const char* path, const std::string& body) {
  status_ = 0;
  body_.clear();
  std::string req =
      std::string("POST ") + path + " HTTP/1.1\r\nhost: " + endpoint().text() +
      "\r\ncontent-type: application/json\r\ncontent-length: " + std::to_string(body.size()) +
      "\r\nconnection: close\r\n\r\n" + body;
  std::string error;
  call_ = HttpCall::start(loop_, endpoint(), std::move(req), this, error);
  if (call_ == nullptr) {
    failed("connect", error);
    return false;
  }
  if (!timer_.start(static_cast<uint64_t>(cfg_.timeout.count()))) {  // logged
    failed("timeout", "cannot time the request");
    return false;
  }
  return true;
}

void EtcdClient::beginRange() {
  phase_ = Phase::Ranging;
  send("/v3/kv/range", rangeRequestBody(cfg_.prefix));
}

void EtcdClient::beginWatch() {
  phase_ = Phase::Watching;
  parser_.reset();
  send("/v3/watch", watchRequestBody(cfg_.prefix, revision_ + 1));
}

void EtcdClient::onResponseHead(int status) {
  status_ = status;
}

void EtcdClient::onBody(std::string_view data) {
  if (phase_ == Phase::Ranging || status_ != 200) {
    if (body_.size() + data.size() > kMaxRangeBody) {
      failed("bad_answer", "answer larger than " + std::to_string(kMaxRangeBody) + " bytes");
      return;
    }
    body_.append(data);
    return;
  }
  for (const WatchMessage& m : parser_.feed(data)) {
    onWatchMessage(m);
    if (phase_ != Phase::Watching || call_ == nullptr) return;  // failed or restarted
  }
}

void EtcdClient::onEnd() {
  call_ = nullptr;
  if (phase_ == Phase::Ranging && status_ == 200) {
    finishRange();
  } else if (status_ != 200) {
    failed("http_status",
           "HTTP " + std::to_string(status_) + ": " + body_.substr(0, kMaxErrorText));
  } else {
    failed("disconnected", "the watch ended");
  }
}

void EtcdClient::onFail(std::string error) {
  call_ = nullptr;
  bool no_connection = error.starts_with("connect:") || error.starts_with("resolve:");
  failed(no_connection ? "connect" : "disconnected", error);
}

void EtcdClient::finishRange() {
  timer_.stop();
  RangeResult r = parseRangeResponse(body_);
  body_.clear();
  if (!r.error.empty()) {
    failed("bad_answer", r.error);
    return;
  }
  revision_ = r.revision;
  reject(set_.reset(r.kvs));
  publish();
  settle();
  beginWatch();
}

void EtcdClient::onWatchMessage(const WatchMessage& m) {
  if (!m.error.empty()) {
    failed("bad_answer", m.error);
    return;
  }
  if (m.canceled) {
    if (m.compact_revision > 0) {
      // Changes between our revision and the compaction are gone: read the whole set again.
      metrics_.errors_total.with({upstream_, "compacted"}).inc();
      logInfo(where() + ": revision " + std::to_string(revision_ + 1) + " was compacted (now " +
              std::to_string(m.compact_revision) + "); reading again");
      if (call_ != nullptr) call_->cancel();
      call_ = nullptr;
      timer_.stop();
      beginRange();
      return;
    }
    failed("bad_answer", "the watch was canceled: " + m.cancel_reason);
    return;
  }
  if (m.created) {
    timer_.stop();
    connected_ = true;
    // The episode ends (and the back-off starts over) with a watch, not with a range alone: an
    // etcd that answers ranges but drops watches would otherwise log and retry at full speed.
    failures_ = 0;
    if (in_outage_) {
      logInfo(where() + " answers again after " + seconds(uv_now(loop_) - outage_since_) + "; " +
              std::to_string(set_.keys()) + " registration(s) at revision " +
              std::to_string(revision_));
      in_outage_ = false;
    }
  }
  if (!m.events.empty()) {
    reject(set_.apply(m.events));
    for (const WatchEvent& e : m.events) revision_ = std::max(revision_, e.mod_revision);
    publish();
  }
}

void EtcdClient::failed(std::string_view reason, const std::string& detail) {
  if (call_ != nullptr) call_->cancel();
  call_ = nullptr;
  timer_.stop();
  connected_ = false;
  metrics_.errors_total.with({upstream_, reason}).inc();
  if (!in_outage_) {
    in_outage_ = true;
    outage_since_ = uv_now(loop_);
    logWarn(where() + ": " + std::string(reason) + " (" + detail + "); keeping the last " +
            std::to_string(targets_.size()) + " target(s), retrying across " +
            std::to_string(cfg_.endpoints.size()) + " endpoint(s)");
  }
  ++failures_;
  if (failures_ >= cfg_.endpoints.size()) settle();
  endpoint_ = (endpoint_ + 1) % cfg_.endpoints.size();
  // Half the capped exponential step plus a random half of it: jittered, never a busy loop.
  int64_t cap = balancer::backoffCapMs(cfg_.backoff, failures_);
  int64_t half = cap / 2;
  auto wait = static_cast<uint64_t>(
      half + static_cast<int64_t>(nextRandom(rng_) % static_cast<uint64_t>(cap - half + 1)));
  phase_ = Phase::Waiting;
  if (!timer_.start(std::max<uint64_t>(wait, 1))) phase_ = Phase::Idle;  // logged; stays stale
}

void EtcdClient::onTimer() {
  switch (phase_) {
    case Phase::Waiting:
      beginRange();
      break;
    case Phase::Ranging:
      failed("timeout",
             "no answer to the range within " + std::to_string(cfg_.timeout.count()) + "ms");
      break;
    case Phase::Watching:
      failed("timeout",
             "the watch was not created within " + std::to_string(cfg_.timeout.count()) + "ms");
      break;
    case Phase::Idle:
      break;
  }
}

void EtcdClient::publish() {
  std::vector<ResolvedTarget> next = set_.targets(upstream_);
  if (sameResolution(next, targets_)) return;
  size_t before = targets_.size();
  targets_ = std::move(next);
  metrics_.updates_total.with({upstream_}).inc();
  logInfo("discovery for upstream " + upstream_ + ": " + std::to_string(targets_.size()) +
          " target(s) (was " + std::to_string(before) + ") at revision " +
          std::to_string(revision_));
  if (changed_) changed_();
}

void EtcdClient::reject(const std::vector<DiscoveryTargets::Rejected>& rejected) {
  for (const DiscoveryTargets::Rejected& r : rejected) {
    metrics_.errors_total.with({upstream_, "bad_value"}).inc();
    logWarn("discovery for upstream " + upstream_ + ": key " + r.key + " is not a target (" +
            r.error + "); left out");
  }
}

void EtcdClient::settle() {
  if (settled_) return;
  settled_ = true;
  if (on_settled_) {
    auto cb = std::move(on_settled_);
    on_settled_ = nullptr;
    cb();
  }
}

}  // namespace sluice::proxy::discovery
