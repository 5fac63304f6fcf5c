#include "proxy/upstream/upstream_attempt.h"

#include <cstdio>
#include <utility>

#include "proxy/runtime/log.h"
#include "proxy/runtime/worker_context.h"

namespace sluice::proxy {

const config::PassiveHealth UpstreamAttempt::kConnectFailureEjection{1, config::Duration{10'000},
                                                                     50};

UpstreamAttempt& UpstreamAttempt::operator=(UpstreamAttempt&& other) noexcept {
  if (this != &other) {
    end();
    upstream_ = std::exchange(other.upstream_, nullptr);
    state_ = std::exchange(other.state_, nullptr);
    ticket_ = std::exchange(other.ticket_, {});
    events_ = std::exchange(other.events_, nullptr);
    index_ = std::exchange(other.index_, -1);
    gate_held_ = std::exchange(other.gate_held_, false);
    judged_ = std::exchange(other.judged_, false);
  }
  return *this;
}

UpstreamAttempt UpstreamAttempt::begin(WorkerContext& ctx, const Snapshot& snapshot, size_t index,
                                       uint64_t hash, uint64_t excluded, int64_t now_ms,
                                       Refusal& refusal) {
  UpstreamAttempt a;
  const UpstreamRuntime& u = snapshot.upstreams[index];
  const config::Upstream& uc = *u.config;
  refusal = Refusal::None;
  if (uc.circuit_breaker) {
    if (!u.state->requests.tryAcquire(uc.circuit_breaker->max_requests)) {
      refusal = Refusal::MaxRequests;
      return a;
    }
  }
  bool gate_held = uc.circuit_breaker.has_value();
  for (;;) {
    int pick = ctx.pickTarget(snapshot, index, hash, excluded);
    if (pick < 0) {
      refusal = Refusal::NoTarget;
      break;
    }
    size_t i = static_cast<size_t>(pick);
    balancer::TargetState* ts = u.target_states[i].get();
    balancer::CircuitTicket ticket;
    if (uc.circuit_breaker) {
      ticket = ts->breaker.allow(now_ms, *uc.circuit_breaker);
      if (!ticket) {
        if (i >= 64) {  // cannot be excluded by the mask: no other choice is guaranteed
          refusal = Refusal::CircuitOpen;
          break;
        }
        excluded |= uint64_t{1} << i;
        continue;
      }
    }
    a.upstream_ = &u;
    a.state_ = ts;
    a.ticket_ = ticket;
    a.events_ = ctx.shared.events;
    if (ticket.first_probe && a.events_ != nullptr) {
      a.events_->record(base::EventKind::Circuit, uc.name + " " + u.targets[i].address, "half-open",
                        "open_for over: a probe request let through");
    }
    a.index_ = pick;
    a.gate_held_ = gate_held;
    ts->onRequestStart();
    return a;
  }
  if (gate_held) u.state->requests.release();
  return a;
}

void UpstreamAttempt::judge(TryVerdict verdict, int64_t now_ms) {
  if (state_ == nullptr || judged_) return;
  judged_ = true;
  const config::Upstream& uc = *upstream_->config;
  const bool failure = verdict != TryVerdict::Success;
  if (uc.circuit_breaker && ticket_) {
    balancer::CircuitChange change =
        failure ? state_->breaker.onFailure(now_ms, *uc.circuit_breaker, ticket_)
                : state_->breaker.onSuccess(now_ms, *uc.circuit_breaker, ticket_);
    if (change != balancer::CircuitChange::None) noteCircuitChange(change);
    ticket_ = {};
  }
  // Without a passive_health section, only a connect failure counts, and only where nothing
  // else watches the targets (active checks take a dead one out and bring it back at once).
  const bool default_ejection =
      verdict == TryVerdict::ConnectFailure && !uc.health_check && upstream_->targets.size() > 1;
  const config::PassiveHealth* passive = uc.passive_health  ? &*uc.passive_health
                                         : default_ejection ? &kConnectFailureEjection
                                                            : nullptr;
  if (passive == nullptr) return;
  if (!failure) {
    state_->onPassiveSuccess();
  } else if (state_->onPassiveFailure(now_ms, *passive, upstream_->targets.size())) {
    logWarn("upstream " + uc.name + ": target " + target().address + " ejected after " +
            std::to_string(passive->consecutive_failures) + " failure(s)");
    if (events_ != nullptr) {
      // It comes back by time alone (EffectiveWeights): the "returned" event is stamped then.
      double seconds = static_cast<double>(state_->ejectedUntil() - now_ms) / 1e3;
      char buf[32];
      std::snprintf(buf, sizeof buf, "%.3g", seconds);
      std::string subject = uc.name + " " + target().address;
      events_->record(base::EventKind::TargetEjection, subject, "ejected",
                      "after " + std::to_string(passive->consecutive_failures) +
                          " failure(s), for " + buf + " s");
      events_->schedule(base::EventKind::TargetEjection, subject, "returned", "ejection time over",
                        seconds);
    }
  }
}

void UpstreamAttempt::noteCircuitChange(balancer::CircuitChange change) {
  const config::CircuitBreaker& cb = *upstream_->config->circuit_breaker;
  std::string subject = upstream_->config->name + " " + target().address;
  if (change == balancer::CircuitChange::Closed) {
    logInfo("upstream " + upstream_->config->name + ": circuit of " + target().address +
            " closed (a probe succeeded)");
    if (events_ != nullptr) {
      events_->record(base::EventKind::Circuit, subject, "closed", "a probe request succeeded");
    }
    return;
  }
  std::string why = ticket_.kind == balancer::CircuitTicket::Kind::Probe ? "a probe request failed"
                                                                         : "tripped by failures";
  std::string detail = why + ", open for " + std::to_string(cb.open_for.count()) + " ms";
  logWarn("upstream " + upstream_->config->name + ": circuit of " + target().address + " opened (" +
          detail + ")");
  if (events_ != nullptr) events_->record(base::EventKind::Circuit, subject, "open", detail);
}

void UpstreamAttempt::end() {
  if (state_ == nullptr) return;
  if (!judged_ && ticket_) state_->breaker.onAbandon(ticket_);
  ticket_ = {};
  state_->onRequestEnd();
  if (gate_held_) upstream_->state->requests.release();
  state_ = nullptr;
  upstream_ = nullptr;
  index_ = -1;
  gate_held_ = false;
  judged_ = false;
}

}  // namespace sluice::proxy
