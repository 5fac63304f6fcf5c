// One rate-limit policy's state in a process: an algorithm and its bounded key table, behind one
// interface so filters and the cluster fallback treat the four algorithms alike.
#pragma once

#include <memory>
#include <string_view>

#include "ratelimit/decision.h"
#include "ratelimit/key_table.h"

namespace sluice::ratelimit {

class Limiter {
 public:
  virtual ~Limiter() = default;
  // Decides one request of `key` at `now`. Any thread; exact across threads.
  virtual Decision take(std::string_view key, Nanos now) = 0;
  virtual uint64_t keys() const = 0;       // keys tracked now
  virtual uint64_t evictions() const = 0;  // keys pushed out since creation
};

// Algo has a nested State, `Decision take(State&, Nanos) const` and
// `uint64_t evictionCost(const State&, Nanos now) const` (what forgetting the key would give back
// to its client; 0 when its state is as good as fresh).
template <class Algo>
class TableLimiter final : public Limiter {
 public:
  TableLimiter(Algo algo, uint64_t max_keys) : algo_(std::move(algo)), table_(max_keys) {}
  Decision take(std::string_view key, Nanos now) override {
    return table_.with(
        key, [&](typename Algo::State& s) { return algo_.take(s, now); },
        [&](const typename Algo::State& s) { return algo_.evictionCost(s, now); });
  }
  uint64_t keys() const override { return table_.size(); }
  uint64_t evictions() const override { return table_.evictions(); }
  const Algo& algo() const { return algo_; }

 private:
  const Algo algo_;
  KeyTable<typename Algo::State> table_;
};

template <class Algo>
std::shared_ptr<Limiter> makeLimiter(Algo algo, uint64_t max_keys) {
  return std::make_shared<TableLimiter<Algo>>(std::move(algo), max_keys);
}

}  // namespace sluice::ratelimit
