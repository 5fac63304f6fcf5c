#include "proxy/upstream/discovery/discovery_manager.h"

#include <algorithm>

namespace sluice::proxy::discovery {

DiscoveryManager::DiscoveryManager(uv_loop_t* loop, base::MetricsRegistry& registry,
                                   std::function<void()> changed)
    : loop_(loop), metrics_(registry), changed_(std::move(changed)) {
  // Without the timer nothing could be deferred: `done` and `changed` then run at once.
  defer_.init(loop_, "discovery timer", [this] { checkSettled(); });
  collector_ = registry.addCollector([this](base::Exposition& e) {
    for (const auto& c : clients_) {
      e.set(metrics_.targets, {c->upstream()}, static_cast<double>(c->targets().size()));
      e.set(metrics_.connected, {c->upstream()}, c->connected() ? 1 : 0);
    }
  });
}

DiscoveryManager::~DiscoveryManager() {
  metrics_.registry.removeCollector(collector_);
  stop();
}

EtcdClient* DiscoveryManager::find(const config::Upstream& u) const {
  for (const auto& c : clients_) {
    if (c->upstream() == u.name && c->config() == u.discovery->etcd) return c.get();
  }
  return nullptr;
}

void DiscoveryManager::defer() {
  if (!defer_ || !defer_.start(0)) checkSettled();  // no timer (logged): at once
}

void DiscoveryManager::prepare(const config::Config& config, std::function<void()> done) {
  Wait w;
  w.done = std::move(done);
  for (const config::Upstream& u : config.upstreams) {
    if (!u.discovery) continue;
    EtcdClient* c = find(u);
    if (c == nullptr) {
      clients_.push_back(
          std::make_unique<EtcdClient>(loop_, u.name, u.discovery->etcd, metrics_, [this] {
            change_pending_ = true;
            defer();
          }));
      c = clients_.back().get();
      for (const auto& old : clients_) {
        if (old.get() != c && old->upstream() == u.name &&
            old->config().prefix == u.discovery->etcd.prefix) {
          c->inherit(*old);
        }
      }
      c->start([this] { defer(); });
    }
    w.clients.push_back(c);
  }
  waits_.push_back(std::move(w));
  defer();
}

void DiscoveryManager::checkSettled() {
  // Each ready wait is taken out before its `done` runs: `done` may prepare or retain.
  for (size_t i = 0; i < waits_.size();) {
    const Wait& w = waits_[i];
    if (!std::all_of(w.clients.begin(), w.clients.end(),
                     [](const EtcdClient* c) { return c->settled(); })) {
      ++i;
      continue;
    }
    auto done = std::move(waits_[i].done);
    waits_.erase(waits_.begin() + static_cast<std::ptrdiff_t>(i));
    done();
    i = 0;
  }
  if (change_pending_) {
    change_pending_ = false;
    if (changed_) changed_();
  }
}

void DiscoveryManager::retain(const config::Config& config) {
  std::erase_if(clients_, [&](const std::unique_ptr<EtcdClient>& c) {
    for (const config::Upstream& u : config.upstreams) {
      if (u.discovery && u.name == c->upstream() && u.discovery->etcd == c->config()) return false;
    }
    for (const Wait& w : waits_) {  // a prepare still waiting for it
      if (std::find(w.clients.begin(), w.clients.end(), c.get()) != w.clients.end()) return false;
    }
    return true;
  });
}

std::vector<ResolvedTarget> DiscoveryManager::withDiscovered(
    const config::Config& config, std::vector<ResolvedTarget> resolved) const {
  for (const config::Upstream& u : config.upstreams) {
    if (!u.discovery) continue;
    if (const EtcdClient* c = find(u)) {
      resolved.insert(resolved.end(), c->targets().begin(), c->targets().end());
    }
  }
  return resolved;
}

void DiscoveryManager::stop() {
  waits_.clear();
  clients_.clear();
  defer_.close();
}

}  // namespace sluice::proxy::discovery
