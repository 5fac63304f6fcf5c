#include "balancer/circuit_breaker.h"

#include <algorithm>
#include <cassert>

namespace sluice::balancer {

const char* circuitStateName(CircuitState state) {
  switch (state) {
    case CircuitState::Closed:
      return "closed";
    case CircuitState::Open:
      return "open";
    case CircuitState::HalfOpen:
      return "half_open";
  }
  return "closed";
}

CircuitTicket CircuitBreaker::allow(int64_t now_ms, const Config& cfg) {
  if (stored_.load(std::memory_order_acquire) == CircuitState::Closed) {
    return {CircuitTicket::Kind::Normal, episode_.load(std::memory_order_relaxed)};
  }
  std::lock_guard lock(mu_);
  if (stored_.load(std::memory_order_relaxed) == CircuitState::Closed) {
    return {CircuitTicket::Kind::Normal, episode_.load(std::memory_order_relaxed)};
  }
  if (now_ms < opened_at_ms_ + cfg.open_for.count()) return {};
  if (probes_in_flight_ >= std::max<uint32_t>(cfg.half_open_requests, 1)) return {};
  ++probes_in_flight_;
  uint32_t episode = episode_.load(std::memory_order_relaxed);
  bool first = probed_episode_ != episode;
  probed_episode_ = episode;
  return {CircuitTicket::Kind::Probe, episode, first};
}

CircuitChange CircuitBreaker::onSuccess(int64_t now_ms, const Config& cfg, CircuitTicket ticket) {
  if (ticket.kind == CircuitTicket::Kind::Normal && !cfg.failure_ratio &&
      stored_.load(std::memory_order_acquire) == CircuitState::Closed) {
    // The common case stays lock-free: only clear the run of failures when there is one.
    if (consecutive_failures_.load(std::memory_order_relaxed) != 0) {
      consecutive_failures_.store(0, std::memory_order_relaxed);
    }
    return CircuitChange::None;
  }
  std::lock_guard lock(mu_);
  if (ticket.episode != episode_.load(std::memory_order_relaxed)) return CircuitChange::None;
  if (ticket.kind == CircuitTicket::Kind::Probe) {
    close();
    return CircuitChange::Closed;
  }
  if (ticket.kind != CircuitTicket::Kind::Normal) return CircuitChange::None;
  if (stored_.load(std::memory_order_relaxed) != CircuitState::Closed) return CircuitChange::None;
  consecutive_failures_.store(0, std::memory_order_relaxed);
  if (cfg.failure_ratio) record(now_ms, cfg, false);
  return CircuitChange::None;
}

CircuitChange CircuitBreaker::onFailure(int64_t now_ms, const Config& cfg, CircuitTicket ticket) {
  std::lock_guard lock(mu_);
  if (ticket.episode != episode_.load(std::memory_order_relaxed)) return CircuitChange::None;
  if (ticket.kind == CircuitTicket::Kind::Probe) {
    open(now_ms);
    return CircuitChange::Opened;
  }
  if (ticket.kind != CircuitTicket::Kind::Normal) return CircuitChange::None;
  if (stored_.load(std::memory_order_relaxed) != CircuitState::Closed) return CircuitChange::None;
  uint32_t run = consecutive_failures_.load(std::memory_order_relaxed) + 1;
  consecutive_failures_.store(run, std::memory_order_relaxed);
  if (cfg.failure_ratio) record(now_ms, cfg, true);
  bool trip = (cfg.consecutive_failures > 0 && run >= cfg.consecutive_failures) ||
              (cfg.failure_ratio && ratioTripped(now_ms, cfg));
  if (!trip) return CircuitChange::None;
  open(now_ms);
  return CircuitChange::Opened;
}

void CircuitBreaker::onAbandon(CircuitTicket ticket) {
  if (ticket.kind != CircuitTicket::Kind::Probe) return;
  std::lock_guard lock(mu_);
  if (ticket.episode == episode_.load(std::memory_order_relaxed) && probes_in_flight_ > 0) {
    --probes_in_flight_;
  }
}

CircuitState CircuitBreaker::state(int64_t now_ms, const Config& cfg) const {
  if (stored_.load(std::memory_order_acquire) == CircuitState::Closed) return CircuitState::Closed;
  std::lock_guard lock(mu_);
  if (stored_.load(std::memory_order_relaxed) == CircuitState::Closed) return CircuitState::Closed;
  return now_ms < opened_at_ms_ + cfg.open_for.count() ? CircuitState::Open
                                                       : CircuitState::HalfOpen;
}

void CircuitBreaker::record(int64_t now_ms, const Config& cfg, bool failure) {
  int64_t width = std::max<int64_t>(cfg.failure_ratio->window.count() / kBuckets, 1);
  if (width != bucket_width_ms_) {  // first use, or a reload changed the window: start afresh
    bucket_width_ms_ = width;
    for (Bucket& b : buckets_) b = Bucket{};
  }
  int64_t number = now_ms / width;
  Bucket& b = buckets_[static_cast<size_t>(((number % kBuckets) + kBuckets) % kBuckets)];
  if (b.number != number) b = Bucket{number, 0, 0};
  ++(failure ? b.failures : b.successes);
}

bool CircuitBreaker::ratioTripped(int64_t now_ms, const Config& cfg) {
  if (bucket_width_ms_ <= 0) return false;
  int64_t newest = now_ms / bucket_width_ms_;
  uint64_t total = 0, failures = 0;
  for (const Bucket& b : buckets_) {
    if (b.number < 0 || b.number <= newest - kBuckets || b.number > newest) continue;
    total += b.successes + b.failures;
    failures += b.failures;
  }
  if (total == 0 || total < cfg.failure_ratio->min_requests) return false;
  return static_cast<double>(failures) >= cfg.failure_ratio->ratio * static_cast<double>(total);
}

void CircuitBreaker::open(int64_t now_ms) {
  opened_at_ms_ = now_ms;
  probes_in_flight_ = 0;
  consecutive_failures_.store(0, std::memory_order_relaxed);
  episode_.fetch_add(1, std::memory_order_relaxed);
  stored_.store(CircuitState::Open, std::memory_order_release);
}

void CircuitBreaker::close() {
  probes_in_flight_ = 0;
  consecutive_failures_.store(0, std::memory_order_relaxed);
  for (Bucket& b : buckets_) b = Bucket{};
  episode_.fetch_add(1, std::memory_order_relaxed);
  stored_.store(CircuitState::Closed, std::memory_order_release);
}

bool ConcurrencyGate::tryAcquire(uint32_t limit) {
  if (limit == 0) {
    in_flight_.fetch_add(1, std::memory_order_relaxed);
    return true;
  }
  int64_t cur = in_flight_.load(std::memory_order_relaxed);
  while (cur < static_cast<int64_t>(limit)) {
    if (in_flight_.compare_exchange_weak(cur, cur + 1, std::memory_order_relaxed)) return true;
  }
  return false;
}

void ConcurrencyGate::release() {
  [[maybe_unused]] int64_t before = in_flight_.fetch_sub(1, std::memory_order_relaxed);
  assert(before > 0);
}

}  // namespace sluice::balancer
