// The Server's side of service discovery (upstreams[].discovery): targets from a registry reach
// the workers through the same path as DNS re-resolution (reResolve), so a change is applied with
// the rules of a reload: new targets ramp up (slow start), requests on a removed target finish,
// health, load and breaker state stay with the targets that stay.
#include <memory>

#include "proxy/runtime/log.h"
#include "proxy/runtime/server.h"
#include "proxy/upstream/discovery/discovery_targets.h"
#include "proxy/upstream/target_expansion.h"

namespace sluice::proxy {

// The watches of `config` start (or are kept, for a discovery section the running config has
// too); once each has settled, the DNS targets are resolved and the discovered ones are added, as
// they are when `done` runs (so a change made meanwhile is in).
void Server::resolveTargets(uv_loop_t* loop, DnsClient& dns, const config::Config& config,
                            const std::vector<ResolvedTarget>& previous, ResolveDone done) {
  if (!discovery_) {
    discovery_ = std::make_unique<discovery::DiscoveryManager>(&loop_, metrics_.registry,
                                                               [this] { applyDiscovery(); });
  }
  const config::Config* cfg = &config;
  discovery_->prepare(config, [this, loop, &dns, cfg, previous, done = std::move(done)]() mutable {
    proxy::resolveTargets(
        loop, dns, *cfg, previous,
        [this, cfg, done = std::move(done)](std::vector<ResolvedTarget> r, std::string err) {
          if (discovery_) r = discovery_->withDiscovered(*cfg, std::move(r));
          done(std::move(r), std::move(err));
        });
  });
}

// A watch's targets changed: when they differ from those in force, re-resolve (which builds the
// new snapshot). During a reload nothing is done: the reload reads the latest targets itself,
// and retainDiscovery() calls this again when it ends; a re-resolution under way reads them too.
void Server::applyDiscovery() {
  if (!discovery_ || !snapshot_ || stopping_ || reloading_) return;
  std::vector<ResolvedTarget> in_force;
  for (const ResolvedTarget& t : resolved_) {
    if (t.source.starts_with("discovery:")) in_force.push_back(t);
  }
  if (sameResolution(discovery_->withDiscovered(*snapshot_->config, {}), in_force)) return;
  reResolve();
}

void Server::retainDiscovery() {
  if (!discovery_ || !snapshot_) return;
  discovery_->retain(*snapshot_->config);
  applyDiscovery();
}

}  // namespace sluice::proxy
