// The cluster rate-limit store: one hiredis async connection per worker loop and Redis URL,
// created lazily on the worker's own thread (libuv adapter, never blocking the loop); calls made
// while it connects are queued behind it. Each
// decision is one EVALSHA of a Lua script, so it is atomic in Redis; every command issued in one
// loop iteration leaves in one write (hiredis pipelines), so a request costs at most one
// round-trip and a burst of concurrent requests shares it. A call that gets no answer within
// kRedisTimeout completes with an error; a lost connection is retried with exponential backoff
// and, until it is back, calls fail at once (the caller applies `on_error`).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "config/config.h"
#include "filters/base/metrics_registry.h"
#include "filters/worker_services.h"

namespace sluice::filters {

inline constexpr std::chrono::milliseconds kRedisTimeout{100};

// The five integers every rate-limit script returns.
struct RedisVerdict {
  bool allowed = true;
  int64_t remaining = 0;
  int64_t reset_ms = 0;
  int64_t retry_ms = 0;
  int64_t delay_ms = 0;
};

// The order of kRedisScripts (filters/redis_scripts.cc).
enum class RedisScript {
  TokenBucket,
  FixedWindow,
  WeightedWindow,
  LeakyBucket,
  SlidingLog,
  SlidingRing
};

struct RedisErrorCounters {
  base::Counter* timeout = nullptr;      // no answer in time
  base::Counter* unavailable = nullptr;  // not connected: decided without Redis
  base::Counter* error = nullptr;        // an error reply or a lost connection
  base::Counter* failover = nullptr;     // Sentinel form: the master changed (once per process)
};

// The key RedisClient::forWorker takes for a Sentinel store, in the form Lettuce and redis-py
// read: redis-sentinel://host:port,host:port/db#master (defined in redis_sentinel.cc).
std::string sentinelUrl(const config::RateLimitStore& store);

class RedisClient {
 public:
  // `ok` false: timeout, error or no connection (the verdict is then meaningless).
  using Done = std::function<void(bool ok, const RedisVerdict& verdict)>;

  // The client of this thread for `url` (redis://host:port/db), created on first use on the
  // worker's loop. Worker threads only; the client lives until the thread exits.
  static RedisClient& forWorker(const WorkerServices& worker, const std::string& url,
                                const RedisErrorCounters& counters);

  // Runs `script` on `key` with `args`. Returns false without calling `done` when there is no
  // connection now; otherwise `done` is called exactly once, on this loop, within kRedisTimeout
  // (plus one timer tick).
  bool run(RedisScript script, const std::string& key, const std::vector<std::string>& args,
           Done done);

  ~RedisClient();
  RedisClient(const RedisClient&) = delete;
  RedisClient& operator=(const RedisClient&) = delete;

  struct Impl;

 private:
  explicit RedisClient(Impl* impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace sluice::filters
