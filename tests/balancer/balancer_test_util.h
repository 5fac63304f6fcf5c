// Helpers shared by the balancer tests: target lists, pick counting, shared states.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <vector>

#include "balancer/balancer.h"
#include "balancer/hash.h"
#include "balancer/target_state.h"

namespace sluice::balancer::testing {

inline std::vector<TargetWeight> weights(std::initializer_list<uint32_t> ws) {
  std::vector<TargetWeight> out;
  for (uint32_t w : ws) out.push_back(TargetWeight{w});
  return out;
}

// An upstream with `n` shared target states (ready long ago: no slow start).
struct Pool {
  explicit Pool(size_t n) : upstream(std::make_shared<UpstreamState>()) {
    for (size_t i = 0; i < n; ++i) {
      states.push_back(std::make_unique<TargetState>(upstream, TargetState::kReadyLongAgo));
    }
  }
  // Targets with these weights, their states attached and ids from their addresses.
  std::vector<TargetWeight> targets(const std::vector<uint32_t>& ws) const {
    std::vector<TargetWeight> out;
    for (size_t i = 0; i < ws.size(); ++i) {
      out.push_back(TargetWeight{ws[i], states[i].get(), hashKey(address(i))});
    }
    return out;
  }
  static std::string address(size_t i) { return "10.0.0." + std::to_string(i + 1) + ":8080"; }
  void setActive(size_t i, int64_t n) {
    while (states[i]->active() < n) states[i]->onRequestStart();
    while (states[i]->active() > n) states[i]->onRequestEnd();
  }
  void clear() {
    for (size_t i = 0; i < states.size(); ++i) setActive(i, 0);
  }

  std::shared_ptr<UpstreamState> upstream;
  std::vector<std::unique_ptr<TargetState>> states;
};

// Counts of `n` picks per target; the hash of pick k is hashKey("key-k").
inline std::vector<int> shares(Balancer& b, size_t targets, int n) {
  std::vector<int> counts(targets, 0);
  for (int i = 0; i < n; ++i) {
    int t = b.pick(PickRequest{.hash = hashKey("key-" + std::to_string(i))});
    EXPECT_GE(t, 0);
    EXPECT_LT(t, static_cast<int>(targets));
    if (t >= 0 && t < static_cast<int>(targets)) ++counts[static_cast<size_t>(t)];
  }
  return counts;
}

// Each share within +-`tolerance` (absolute: 0.02 = two percentage points) of weight / total.
inline void expectShares(const std::vector<int>& counts, const std::vector<uint32_t>& ws,
                         double tolerance = 0.02) {
  double total_w = 0, total_n = 0;
  for (uint32_t w : ws) total_w += w;
  for (int c : counts) total_n += c;
  for (size_t i = 0; i < ws.size(); ++i) {
    EXPECT_NEAR(counts[i] / total_n, ws[i] / total_w, tolerance) << "target " << i;
  }
}

}  // namespace sluice::balancer::testing
