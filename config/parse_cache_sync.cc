// `cache_sync:` (spec/config.md): the Redis server through which admin cache purges reach the
// other instances (filters/cache_sync.h). Whether `use_rate_limit_store` has a store to use is a
// cross-file check (config/cross_check.cc).
#include "config/redis_url.h"
#include "config/sections.h"

namespace sluice::config {

namespace {

// Redis channel names are binary-safe, but this one is written in a config and shown in logs.
bool isValidChannel(std::string_view s) {
  if (s.empty() || s.size() > 256) return false;
  for (char ch : s) {
    if (static_cast<unsigned char>(ch) <= 0x20 || ch == 0x7f) return false;
  }
  return true;
}

}  // namespace

CacheSync parseCacheSync(Reader& r, const YAML::Node& node) {
  CacheSync s;
  MapReader m(r, node, "cache_sync", {"redis", "use_rate_limit_store", "channel"});
  if (!m.ok()) return s;
  m.readBool("use_rate_limit_store", &s.use_rate_limit_store);
  if (m.has("redis") && s.use_rate_limit_store) {
    r.error(m.keyNode("redis"),
            "redis: not with use_rate_limit_store: true; name one Redis server (redis) or use "
            "the rate_limit_store's");
  } else if (!s.use_rate_limit_store &&
             m.require("redis", "redis: redis://127.0.0.1:6379 (or use_rate_limit_store: true)") &&
             m.readString("redis", &s.redis)) {
    if (auto url = parseRedisUrl(s.redis); !url) {
      r.error(m.get("redis"), "redis: \"" + s.redis + "\" is not a Redis URL: " + url.error());
    }
  }
  if (m.readString("channel", &s.channel) && !isValidChannel(s.channel)) {
    r.error(m.get("channel"), "channel: \"" + s.channel +
                                  "\" is not a channel name; write 1-256 visible characters "
                                  "without spaces, e.g. sluice:cache:purge");
  }
  return s;
}

}  // namespace sluice::config
