// The targets one upstream discovered: the registry's keys under its prefix, each value a
// target (`host:port`, or {"address": "host:port", "weight": N} as JSON; the host an IP
// literal). Filled whole from a range answer, then changed by watch events; a value that is not
// a target is left out (and reported). Pure; owned by an EtcdClient on the main thread.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "proxy/runtime/snapshot.h"
#include "proxy/upstream/discovery/etcd_protocol.h"
#include "proxy/upstream/discovery/etcd_watch_parser.h"

namespace sluice::proxy::discovery {

// The `source` of every target discovered for `upstream` (ResolvedTarget::source): how
// expandTargets() finds them among the resolutions.
std::string discoverySource(std::string_view upstream);

// One registration's value as a target (source left empty), or nullopt with `error`.
std::optional<ResolvedTarget> parseTargetValue(std::string_view value, std::string& error);

class DiscoveryTargets {
 public:
  // A key whose value is not a target: the key and why.
  struct Rejected {
    std::string key;
    std::string error;
  };

  // Replaces the set with `kvs` (a range answer). Returns the values rejected.
  std::vector<Rejected> reset(const std::vector<KeyValue>& kvs);
  // A put sets its key (a value that is not a target removes it), a delete removes it. Returns
  // the values rejected.
  std::vector<Rejected> apply(const std::vector<WatchEvent>& events);

  // The targets, one per address (keys naming the same address add their weights), ordered by
  // address, each with `source` discoverySource(upstream).
  std::vector<ResolvedTarget> targets(std::string_view upstream) const;
  size_t keys() const { return by_key_.size(); }

 private:
  std::map<std::string, ResolvedTarget> by_key_;  // only keys whose value is a target
};

}  // namespace sluice::proxy::discovery
