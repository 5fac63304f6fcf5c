// Redis Sentinel for the cluster rate-limit store (`rate_limit_store: {sentinels, master}`):
// which server is the master now, and news when that changes. The RedisClient of a worker loop
// owns one SentinelWatch and asks it for an address before every (re)connection; the watch keeps
// a subscription to +switch-master so that a failover is followed as soon as a Sentinel
// announces it. Everything is asynchronous on the worker's own loop (hiredis through
// filters/redis_uv.h; timers and host names through the worker's WorkerServices); nothing blocks
// it.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"
#include "filters/redis_store.h"
#include "filters/worker_services.h"

struct redisAsyncContext;

namespace sluice::filters {

// How long one Sentinel has to answer SENTINEL get-master-addr-by-name before the next is asked.
inline constexpr std::chrono::milliseconds kSentinelTimeout{250};

struct HostPort {
  std::string host;
  int port = 0;
  bool operator==(const HostPort&) const = default;
  std::string text() const;  // host:port, [v6]:port
};

struct SentinelTarget {
  std::vector<HostPort> sentinels;
  std::string master;
  int db = 0;
};

// The target of such a URL; empty for anything else (a redis:// URL).
std::optional<SentinelTarget> parseSentinelUrl(std::string_view url);

// The new address a +switch-master message announces ("<name> <old-ip> <old-port> <new-ip>
// <new-port>"), when it is about `master`; empty for another master or a malformed message.
std::optional<HostPort> parseSwitchMaster(std::string_view payload, std::string_view master);
// A port in a Sentinel reply ("6379"); empty unless 1-65535.
std::optional<int> parsePort(std::string_view text);

// Process-wide: records that a worker of store `url` now uses master `addr`. True when this is
// news, i.e. the process had used another master of this store before (a failover: log it once,
// count it once, whichever worker sees it first); `previous` is then that master. Any thread.
bool noteMasterInUse(const std::string& url, const std::string& addr, std::string* previous);

class SentinelWatch {
 public:
  // `ok` false: no Sentinel answered in time or none knows the master.
  using Found = std::function<void(bool ok, const HostPort& master)>;
  using Announced = std::function<void(const HostPort& master)>;

  // On `worker`'s thread (and `worker` outlives the watch); subscribes at once. `announced` is
  // called on that thread whenever a Sentinel announces a new master (and after a lost
  // subscription is back, with what the Sentinels say then, since an announcement may have been
  // missed).
  static std::unique_ptr<SentinelWatch> create(const WorkerServices& worker, SentinelTarget target,
                                               Announced announced);

  // Asks the Sentinels, one after the other from the one that answered last, each within
  // kSentinelTimeout. `found` is called exactly once, on this loop, never from inside resolve()
  // itself unless no Sentinel can even be tried; the address is numeric.
  void resolve(Found found);

  // On the worker's thread: drops connections and timers; no callback of the watch (`found`,
  // `announced`) runs after this.
  ~SentinelWatch();

  SentinelWatch(const SentinelWatch&) = delete;
  SentinelWatch& operator=(const SentinelWatch&) = delete;

 private:
  SentinelWatch(const WorkerServices& worker, SentinelTarget target, Announced announced);

  using Looked = std::function<void(bool ok, const std::string& ip)>;
  void lookup(const std::string& host, Looked then);
  redisAsyncContext* open(const std::string& ip, int port);
  void askNext();
  void sendQuery();
  void finishQuery(bool ok, const HostPort& master);
  void dropQueryConnection();
  void subscribe();
  void lost(const redisAsyncContext* c);
  void warn(const std::string& what);

  static void onConnect(const redisAsyncContext* c, int status);
  static void onDisconnect(const redisAsyncContext* c, int status);
  static void onMasterAddr(redisAsyncContext* c, void* reply, void* priv);
  static void onMessage(redisAsyncContext* c, void* reply, void* priv);

  void startResubscribe();

  const WorkerServices& worker_;
  SentinelTarget target_;
  Announced announced_;
  std::shared_ptr<int> alive_ = std::make_shared<int>(0);  // expires at destruction
  std::vector<Found> waiters_;
  uint64_t query_ = 0;  // generation of the query in flight; 0: none
  uint64_t queries_ = 0;
  size_t tries_ = 0;       // Sentinels asked in this query
  uint64_t attempts_ = 0;  // one per Sentinel asked: a late name lookup of an earlier one is void
  size_t good_ = 0;        // the Sentinel that answered last
  redisAsyncContext* cmd_ = nullptr;  // for queries, to Sentinel cmd_at_
  size_t cmd_at_ = 0;
  redisAsyncContext* sub_ = nullptr;  // subscribed to +switch-master, on Sentinel sub_at_
  size_t sub_at_ = 0;
  bool subscribed_once_ = false;
  bool closing_ = false;
  std::unique_ptr<ServiceTimer> deadline_;     // of the Sentinel being asked
  std::unique_ptr<ServiceTimer> resubscribe_;  // after a lost subscription
};

}  // namespace sluice::filters
