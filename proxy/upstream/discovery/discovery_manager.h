// The registry watches of the current config, one EtcdClient per upstream with `discovery:`,
// owned by the Server on the main thread. A reload keeps the watch (and the targets it has) of
// an upstream whose discovery section did not change, starts one for a new or changed section
// and stops the others once the new config is in force.
#pragma once

#include <uv.h>

#include <functional>
#include <memory>
#include <vector>

#include "config/config.h"
#include "filters/base/metrics_registry.h"
#include "proxy/net/uv_handle.h"
#include "proxy/upstream/discovery/discovery_metrics.h"
#include "proxy/upstream/discovery/etcd_client.h"

namespace sluice::proxy::discovery {

class DiscoveryManager {
 public:
  // `changed` runs on the loop's thread when some watch's targets changed (never within a call
  // to this class).
  DiscoveryManager(uv_loop_t* loop, base::MetricsRegistry& registry, std::function<void()> changed);
  ~DiscoveryManager();
  DiscoveryManager(const DiscoveryManager&) = delete;
  DiscoveryManager& operator=(const DiscoveryManager&) = delete;

  // Starts a watch for each discovery upstream of `config` that has none with the same section,
  // and runs `done` from the loop (never within prepare) once every watch of `config` has
  // settled (its first read answered, or failed at every endpoint). Several may wait at once.
  void prepare(const config::Config& config, std::function<void()> done);

  // Stops the watches `config` has no use for (an upstream removed, or its section changed).
  // Called with the config in force after a reload, whether it succeeded or not.
  void retain(const config::Config& config);

  // `resolved` with the discovered targets of every discovery upstream of `config` added.
  std::vector<ResolvedTarget> withDiscovered(const config::Config& config,
                                             std::vector<ResolvedTarget> resolved) const;

  // Stops every watch (the server stops). Safe to call twice.
  void stop();

 private:
  EtcdClient* find(const config::Upstream& u) const;
  void checkSettled();
  void defer();

  uv_loop_t* loop_;
  DiscoveryMetrics metrics_;
  std::function<void()> changed_;
  std::vector<std::unique_ptr<EtcdClient>> clients_;
  struct Wait {
    std::vector<EtcdClient*> clients;  // the watches prepare()'s `done` waits for
    std::function<void()> done;
  };
  std::vector<Wait> waits_;
  Timer defer_;  // runs `done` and `changed` out of the clients' own call stacks
  bool change_pending_ = false;
  base::MetricsRegistry::CollectorId collector_ = 0;
};

}  // namespace sluice::proxy::discovery
