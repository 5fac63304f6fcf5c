// The process-wide health, load and breaker state of upstreams and their targets, kept outside
// config snapshots so a reload that keeps a target keeps its state (STYLE.md §2). The main thread
// looks states up while it builds a snapshot; workers then use them through the snapshot.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "balancer/target_state.h"

namespace sluice::proxy {

class UpstreamStates {
 public:
  std::shared_ptr<balancer::UpstreamState> upstream(const std::string& name);
  // The state of `address` in upstream `name`; a target first seen after the first config starts
  // its slow start at `now_ms`, one of the first config counts as ready long ago.
  std::shared_ptr<balancer::TargetState> target(const std::string& name, const std::string& address,
                                                int64_t now_ms);
  // Puts the config back in force after a successful reload: every target's admin-API drain and
  // weight (balancer/target_override.h) is cleared. Main thread.
  void clearOverrides();
  // Marks that the first config is in place: later new targets ramp up (slow start).
  void markStarted() { started_ = true; }
  // Drops states the current snapshot no longer names (main thread, after a reload).
  void retainOnly(const std::map<std::string, bool>& upstream_names,
                  const std::map<std::string, bool>& target_keys);

  static std::string targetKey(const std::string& upstream, const std::string& address) {
    return upstream + "\n" + address;
  }

 private:
  std::mutex mu_;
  bool started_ = false;
  std::map<std::string, std::shared_ptr<balancer::UpstreamState>> upstreams_;
  std::map<std::string, std::shared_ptr<balancer::TargetState>> targets_;
};

}  // namespace sluice::proxy
