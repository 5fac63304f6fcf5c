#include "proxy/upstream/discovery/discovery_targets.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "config/units.h"
#include "proxy/upstream/resolver.h"
#include "proxy/upstream/target_expansion.h"

namespace sluice::proxy::discovery {
namespace {
constexpr int64_t kMaxWeight = 1'000'000;  // as a config target's weight

std::optional<ResolvedTarget> addressTarget(std::string_view text, uint32_t weight,
                                            std::string& error) {
  auto a = config::parseAddress(text);
  if (!a) {
    error = a.error();
    return std::nullopt;
  }
  ResolvedTarget t;
  if (!parseIpLiteral(a->host, a->port, t)) {
    error = "\"" + a->host + "\" is not an IP address; register targets by address";
    return std::nullopt;
  }
  t.address = socketAddressText(reinterpret_cast<const sockaddr*>(&t.addr));
  t.host = a->host;
  t.name = a->text();
  t.weight = weight;
  return t;
}
}  // namespace

std::string discoverySource(std::string_view upstream) {
  return "discovery:" + std::string(upstream);
}

std::optional<ResolvedTarget> parseTargetValue(std::string_view value, std::string& error) {
  while (!value.empty() && (value.back() == ' ' || value.back() == '\n')) value.remove_suffix(1);
  while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  if (value.empty() || value.front() != '{') return addressTarget(value, 1, error);
  nlohmann::json j = nlohmann::json::parse(value, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    error = "not a JSON object";
    return std::nullopt;
  }
  auto address = j.find("address");
  if (address == j.end() || !address->is_string()) {
    error = "no \"address\" string";
    return std::nullopt;
  }
  int64_t weight = 1;
  if (auto w = j.find("weight"); w != j.end()) {
    if (!w->is_number_integer() || w->get<int64_t>() < 1 || w->get<int64_t>() > kMaxWeight) {
      error = "\"weight\" is not an integer from 1 to 1000000";
      return std::nullopt;
    }
    weight = w->get<int64_t>();
  }
  return addressTarget(address->get_ref<const std::string&>(), static_cast<uint32_t>(weight),
                       error);
}

std::vector<DiscoveryTargets::Rejected> DiscoveryTargets::reset(const std::vector<KeyValue>& kvs) {
  by_key_.clear();
  std::vector<Rejected> rejected;
  for (const KeyValue& kv : kvs) {
    std::string error;
    if (auto t = parseTargetValue(kv.value, error)) {
      by_key_[kv.key] = std::move(*t);
    } else {
      rejected.push_back({kv.key, error});
    }
  }
  return rejected;
}

std::vector<DiscoveryTargets::Rejected> DiscoveryTargets::apply(
    const std::vector<WatchEvent>& events) {
  std::vector<Rejected> rejected;
  for (const WatchEvent& e : events) {
    if (e.type == WatchEvent::Type::Delete) {
      by_key_.erase(e.kv.key);
      continue;
    }
    std::string error;
    if (auto t = parseTargetValue(e.kv.value, error)) {
      by_key_[e.kv.key] = std::move(*t);
    } else {
      by_key_.erase(e.kv.key);
      rejected.push_back({e.kv.key, error});
    }
  }
  return rejected;
}

std::vector<ResolvedTarget> DiscoveryTargets::targets(std::string_view upstream) const {
  std::vector<ResolvedTarget> out;
  for (const auto& [key, t] : by_key_) {
    auto same = std::find_if(out.begin(), out.end(),
                             [&](const ResolvedTarget& o) { return o.address == t.address; });
    if (same != out.end()) {
      same->weight = static_cast<uint32_t>(
          std::min<int64_t>(static_cast<int64_t>(same->weight) + t.weight, kMaxWeight));
      continue;
    }
    out.push_back(t);
    out.back().source = discoverySource(upstream);
  }
  std::sort(out.begin(), out.end(),
            [](const ResolvedTarget& a, const ResolvedTarget& b) { return a.address < b.address; });
  return out;
}

}  // namespace sluice::proxy::discovery
