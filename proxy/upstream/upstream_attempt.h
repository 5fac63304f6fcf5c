// One try of a request at one target. Whatever a try takes from the state the workers share --
// a max_requests slot, the target's active count, a circuit-breaker ticket -- it gives back
// exactly once, and its verdict reaches the breaker and passive health at most once: in judge(),
// or as "abandoned" (no verdict) when it ends unjudged. So no path -- a retry, an error, a
// client gone, a subrequest -- can leak a slot or forget a verdict (HAProxy's take_conn /
// drop_conn in one place). Worker thread; the snapshot that holds the states outlives it.
#pragma once

#include <cstdint>

#include "balancer/circuit_breaker.h"
#include "balancer/target_state.h"
#include "filters/base/event_recorder.h"
#include "proxy/runtime/snapshot.h"

namespace sluice::proxy {

class WorkerContext;

enum class TryVerdict {
  Success,         // an answer below 500
  Failure,         // reset, timeout, invalid response, 5xx
  ConnectFailure,  // nothing reached the target (refused, unreachable, connect timeout)
};

class UpstreamAttempt {
 public:
  // Why begin() found no try to make.
  enum class Refusal { None, MaxRequests, NoTarget, CircuitOpen };

  UpstreamAttempt() = default;
  UpstreamAttempt(const UpstreamAttempt&) = delete;
  UpstreamAttempt& operator=(const UpstreamAttempt&) = delete;
  UpstreamAttempt(UpstreamAttempt&& other) noexcept { *this = std::move(other); }
  UpstreamAttempt& operator=(UpstreamAttempt&& other) noexcept;
  ~UpstreamAttempt() { end(); }

  // Takes a max_requests slot, picks a target of `upstream` (snapshot index `index`) outside
  // `excluded` (bit i = target i) and takes its breaker ticket, skipping targets whose breaker
  // is open. On success the target's active count is raised. On refusal the attempt is empty
  // and `refusal` says why.
  static UpstreamAttempt begin(WorkerContext& ctx, const Snapshot& snapshot, size_t index,
                               uint64_t hash, uint64_t excluded, int64_t now_ms, Refusal& refusal);

  explicit operator bool() const { return state_ != nullptr; }
  int targetIndex() const { return index_; }
  const ResolvedTarget& target() const { return upstream_->targets[static_cast<size_t>(index_)]; }
  // Bit of this target in an `excluded` mask (0 for targets past the 64th).
  uint64_t targetBit() const { return index_ < 64 ? uint64_t{1} << index_ : 0; }

  // The try's outcome for the breaker and passive health; only the first call counts.
  void judge(TryVerdict verdict, int64_t now_ms);
  // Gives everything back (an unjudged ticket is abandoned). Safe to call twice.
  void end();

  // The ejection of passive health when an upstream has no passive_health section nor active
  // checks: a connect failure ejects the target for 10 s, doubling while it stays down
  // (nginx's max_fails=1 fail_timeout=10s). Never a lone target.
  static const config::PassiveHealth kConnectFailureEjection;

 private:
  // Logs a breaker change this try's verdict made and records it in the event list.
  void noteCircuitChange(balancer::CircuitChange change);

  const UpstreamRuntime* upstream_ = nullptr;
  balancer::TargetState* state_ = nullptr;
  balancer::CircuitTicket ticket_;
  base::EventRecorder* events_ = nullptr;  // breaker and ejection changes go there
  int index_ = -1;
  bool gate_held_ = false;
  bool judged_ = false;
};

}  // namespace sluice::proxy
