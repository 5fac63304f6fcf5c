// Cache purges across instances (`cache_sync:`): an admin purge on one instance is published on a
// Redis pub/sub channel and applied by every instance subscribed to it. Two hiredis connections
// on the main thread's loop (filters/redis_uv.h; never on a worker): one subscribed to the
// channel, one that publishes (a subscribed connection can do nothing else). A message carries
// the sender's instance id, so the sender skips its own echo (filters/cache_sync_message.h).
// Pub/sub keeps nothing for an absent subscriber, so an instance whose subscription was lost may
// have missed purges: each time the subscription is (re)established after a loss, or after a
// start during which entries were stored before it, the instance purges its whole cache.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "filters/base/metrics_registry.h"
#include "filters/worker_services.h"

struct redisAsyncContext;

namespace sluice::filters {

// How long a PUBLISH may take before the admin hears "timeout" (the purge is then sent again
// with the next connection, as one that was never sent).
inline constexpr int64_t kPublishTimeoutMs = 1000;
// Purges made while the publishing connection is down wait for it, up to this many; beyond, they
// are replaced by one purge of everything.
inline constexpr size_t kMaxQueuedPurges = 256;

class CacheSync {
 public:
  struct Settings {
    std::string url;  // redis://host:port[/db] (config/redis_url.h); the db plays no part
    std::string channel;
    bool operator==(const Settings&) const = default;
  };
  // Applies a purge to this instance's caches: `value` is a key, or a prefix when `prefix` ("" with
  // `prefix`: everything). Returns how many keys went. Main thread.
  using Purge = std::function<size_t(std::string_view value, bool prefix)>;
  // A line for the process log; `warning` false: informational.
  using Log = std::function<void(bool warning, const std::string& line)>;

  struct Published {
    bool ok = false;        // Redis took the PUBLISH
    int64_t receivers = 0;  // subscribers it reached (this instance's own subscription included)
    bool queued = false;    // not sent now; sent once the connection is back
    std::string error;      // when !ok
  };
  using PublishDone = std::function<void(const Published&)>;

  // Main thread; `loop` (the main loop's services) outlives this. Connects at once. The metric
  // families are declared on `metrics` (the same ones again for a successor after a reload).
  CacheSync(const WorkerServices& loop, Settings settings, Purge purge, Log log,
            base::MetricsRegistry& metrics, uint64_t seed);
  // Drops both connections; no callback runs after it. PUBLISHes awaiting an answer are answered
  // with an error.
  ~CacheSync();
  CacheSync(const CacheSync&) = delete;
  CacheSync& operator=(const CacheSync&) = delete;

  // Publishes a purge this instance has applied already. `done` runs exactly once on the main
  // loop: at once when not connected (queued), else with Redis's answer or after
  // kPublishTimeoutMs.
  void publish(std::string_view value, bool prefix, PublishDone done);

  const Settings& settings() const { return settings_; }
  const std::string& instanceId() const { return instance_; }
  bool subscribed() const { return subscribed_; }

 private:
  // One connection and its reconnects (capped, jittered backoff).
  struct Link {
    CacheSync* owner = nullptr;
    const char* role = "";  // "subscribe" | "publish", for log lines
    redisAsyncContext* ac = nullptr;
    bool up = false;
    uint32_t failures = 0;  // attempts failed since it was last up
    std::unique_ptr<ServiceTimer> retry;
  };
  struct Pending;  // one PUBLISH in flight

  void connect(Link& link);
  void lost(Link& link, const std::string& why);
  void linkUp(Link& link);
  void send(const std::string& payload, PublishDone done);
  void enqueue(std::string payload);
  void answer(uint64_t id, const Published& result);
  void flushQueue();
  void onMessage(std::string_view payload);
  void onSubscribed();
  void expirePending();
  uint64_t random() { return rng_(); }

  static void onConnect(const redisAsyncContext* c, int status);
  static void onDisconnect(const redisAsyncContext* c, int status);
  static void onSubscribeReply(redisAsyncContext* c, void* reply, void* priv);
  static void onPublishReply(redisAsyncContext* c, void* reply, void* priv);

  const WorkerServices& loop_;
  Settings settings_;
  Purge purge_;
  Log log_;
  std::string host_;
  int port_ = 0;
  std::string instance_;
  std::mt19937_64 rng_;
  Link sub_;
  Link pub_;
  bool subscribed_ = false;
  bool ever_subscribed_ = false;
  bool closing_ = false;
  int64_t outage_since_ = -1;  // ms, when the subscription was lost (-1: not in an outage)
  bool outage_logged_ = false;
  std::deque<std::string> queue_;  // payloads waiting for the publishing connection
  bool queue_overflowed_ = false;
  uint64_t next_id_ = 1;
  struct Waiting {
    PublishDone done;
    int64_t deadline = 0;
  };
  std::map<uint64_t, Waiting> waiting_;   // by Pending::id
  std::unique_ptr<ServiceTimer> expiry_;  // every 100 ms while PUBLISHes await an answer
  std::shared_ptr<int> alive_ = std::make_shared<int>(0);  // expires with this (name lookups)

  base::Counter& published_;
  base::Counter& received_;
  base::Counter& full_purges_;
  base::Counter& invalid_;
  base::Gauge& connected_;
};

}  // namespace sluice::filters
