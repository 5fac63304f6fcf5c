// The main thread's side of `cache_sync:` (filters/cache_sync.h): the client follows the config
// (kept across reloads that leave its server and channel alone, so that a reload neither drops
// the subscription nor purges the cache), and POST /cache/purge publishes what it purged here.
#include <unistd.h>

#include <chrono>
#include <random>

#include "config/json_dump.h"
#include "filters/cache_store.h"
#include "proxy/runtime/log.h"
#include "proxy/runtime/server.h"

namespace sluice::proxy {

namespace {

uint64_t instanceSeed() {
  std::random_device rd;
  uint64_t seed = (static_cast<uint64_t>(rd()) << 32) ^ rd();
  seed ^= static_cast<uint64_t>(::getpid()) << 16;
  seed ^= static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
  return seed;
}

}  // namespace

void Server::applyCacheSync(const config::Config& c) {
  if (!c.cache_sync) {
    if (cache_sync_) logInfo("cache_sync: off; purges stay on this instance");
    cache_sync_.reset();
    return;
  }
  filters::CacheSync::Settings settings{c.cache_sync->use_rate_limit_store && c.rate_limit_store
                                            ? c.rate_limit_store->redis
                                            : c.cache_sync->redis,
                                        c.cache_sync->channel};
  if (cache_sync_ && cache_sync_->settings() == settings) return;
  cache_sync_.reset();  // a new server or channel: a new subscription (and a full purge)
  auto purge = [this](std::string_view value, bool prefix) {
    auto registry = state_.getOrCreate<filters::CacheRegistry>(
        filters::kCacheRegistryKey, [] { return std::make_shared<filters::CacheRegistry>(); });
    return registry->purge(value, prefix);
  };
  auto log = [](bool warning, const std::string& line) {
    if (warning) {
      logWarn(line);
    } else {
      logInfo(line);
    }
  };
  cache_sync_ = std::make_unique<filters::CacheSync>(main_services_, std::move(settings), purge,
                                                     log, metrics_.registry, instanceSeed());
}

// The local purge answers as before; with cache_sync on, the answer waits for Redis (at most
// kPublishTimeoutMs) and says whether the purge was published, to how many subscribers
// (this instance's own subscription included), or why not.
void Server::purgeCache(const AdminRequest& req, AdminResponder respond) {
  filters::PurgeOutcome o = filters::purgeFromAdmin(state_, req.query, req.body);
  if (o.status != 200 || !cache_sync_) {
    respond({o.status, o.status == 200 ? "application/json" : "text/plain; charset=utf-8", o.body});
    return;
  }
  std::string head = o.body.substr(0, o.body.rfind('}'));  // {"key":...,"purged":N
  cache_sync_->publish(o.value, o.prefix, [head, respond](const filters::CacheSync::Published& p) {
    std::string body = head + ",\"published\":" + (p.ok ? "true" : "false");
    if (p.ok) body += ",\"receivers\":" + std::to_string(p.receivers);
    if (p.queued) body += ",\"queued\":true";
    if (!p.ok) body += ",\"error\":" + config::jsonQuote(p.error);
    respond({200, "application/json", body + "}\n"});
  });
}

}  // namespace sluice::proxy
