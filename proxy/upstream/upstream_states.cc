#include "proxy/upstream/upstream_states.h"

namespace sluice::proxy {

std::shared_ptr<balancer::UpstreamState> UpstreamStates::upstream(const std::string& name) {
  std::lock_guard lock(mu_);
  auto& slot = upstreams_[name];
  if (!slot) slot = std::make_shared<balancer::UpstreamState>();
  return slot;
}

std::shared_ptr<balancer::TargetState> UpstreamStates::target(const std::string& name,
                                                              const std::string& address,
                                                              int64_t now_ms) {
  std::shared_ptr<balancer::UpstreamState> up = upstream(name);
  std::lock_guard lock(mu_);
  auto& slot = targets_[targetKey(name, address)];
  if (!slot) {
    slot = std::make_shared<balancer::TargetState>(
        up, started_ ? now_ms : balancer::TargetState::kReadyLongAgo);
  }
  return slot;
}

void UpstreamStates::clearOverrides() {
  std::lock_guard lock(mu_);
  for (auto& [key, state] : targets_) balancer::clearOverride(*state);
}

void UpstreamStates::retainOnly(const std::map<std::string, bool>& upstream_names,
                                const std::map<std::string, bool>& target_keys) {
  std::lock_guard lock(mu_);
  std::erase_if(upstreams_, [&](const auto& kv) { return !upstream_names.count(kv.first); });
  std::erase_if(targets_, [&](const auto& kv) { return !target_keys.count(kv.first); });
}

}  // namespace sluice::proxy
