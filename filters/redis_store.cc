#include "filters/redis_store.h"

#include <hiredis/async.h>
#include <hiredis/hiredis.h>

#include <cstdlib>
#include <cstring>
#include <list>
#include <map>
#include <memory>

#include "filters/base/warn_log.h"
#include "filters/redis_scripts.h"
#include "filters/redis_sentinel.h"
#include "filters/redis_uv.h"

namespace sluice::filters {

namespace {

base::WarnLimiter& storeWarnings() {
  static base::WarnLimiter w(std::chrono::seconds(10));
  return w;
}

base::WarnLimiter& failoverLog() {  // apart from the warnings above, so that they never hide it
  static base::WarnLimiter w(std::chrono::seconds(1));
  return w;
}

bool parseUrl(const std::string& url, std::string& host, int& port, int& db) {
  std::string_view s = url;
  if (s.substr(0, 8) != "redis://") return false;
  s.remove_prefix(8);
  size_t slash = s.find('/');
  std::string_view hostport = s.substr(0, slash);
  db = 0;
  if (slash != std::string_view::npos && slash + 1 < s.size()) {
    db = std::atoi(std::string(s.substr(slash + 1)).c_str());
  }
  size_t colon = hostport.rfind(':');
  port = 6379;
  if (colon != std::string_view::npos && hostport.find(']') < colon) {
    port = std::atoi(std::string(hostport.substr(colon + 1)).c_str());
    hostport = hostport.substr(0, colon);
  } else if (colon != std::string_view::npos && hostport.find(':') == colon) {
    port = std::atoi(std::string(hostport.substr(colon + 1)).c_str());
    hostport = hostport.substr(0, colon);
  }
  if (hostport.size() >= 2 && hostport.front() == '[')
    hostport = hostport.substr(1, hostport.size() - 2);
  host = std::string(hostport);
  return !host.empty() && port > 0 && port < 65536;
}

}  // namespace

struct RedisClient::Impl {
  struct Call {
    Impl* owner = nullptr;
    RedisClient::Done done;
    int64_t deadline = 0;
    bool finished = false;
    RedisScript script = RedisScript::TokenBucket;
    std::string key;
    std::vector<std::string> args;
    std::list<Call*>::iterator live;
    bool in_live = false;
    bool parked = false;  // not sent yet: waiting for the Sentinels' answer
  };

  const WorkerServices* worker = nullptr;  // outlives the client (both live as long as the thread)
  std::string url;
  std::string host;
  int port = 6379;
  int db = 0;
  bool url_ok = false;
  RedisErrorCounters counters;
  redisAsyncContext* ac = nullptr;
  bool connected = false;
  bool closing = false;
  std::string sha[kScriptCount];
  std::list<Call*> live;  // calls awaiting an answer, oldest first (same timeout for all)
  std::unique_ptr<ServiceTimer> timeout_timer;    // every 10 ms while calls are live
  std::unique_ptr<ServiceTimer> reconnect_timer;  // one shot, after backoff_ms
  int64_t backoff_ms = 100;
  int consecutive_timeouts = 0;
  // Sentinel form (redis_sentinel.h): host/port come from the Sentinels before each connection.
  std::unique_ptr<SentinelWatch> sentinel;
  std::string sentinel_master;
  bool resolving = false;      // asking the Sentinels now
  bool address_fresh = false;  // host/port just came from them (or from +switch-master)
  std::vector<Call*> parked;   // calls made while resolving: sent once connected
  int64_t lost_at = -1;        // when this loop lost the master (ms), for the failover line
  // This connection's state as told to the status page's event list (only flips are told, and
  // "up" only after a "down", so the list's count of connections down stays exact).
  enum class Link { Unknown, Up, Down } link = Link::Unknown;

  int64_t nowMs() const { return worker->nowMs(); }

  void noteLink(bool up, const std::string& detail) {
    Link next = up ? Link::Up : Link::Down;
    if (link == next) return;
    bool was_down = link == Link::Down;
    link = next;
    base::EventRecorder* events = worker->events();
    if (events == nullptr || (up && !was_down)) return;
    events->recordLink(base::EventKind::RateLimitStore, url, up, detail);
  }

  static void count(base::Counter* c) {
    if (c != nullptr) c->inc();
  }

  void finish(Call* call, bool ok, const RedisVerdict& v) {
    if (call->in_live) {
      live.erase(call->live);
      call->in_live = false;
    }
    if (call->finished) return;
    call->finished = true;
    auto done = std::move(call->done);
    if (done) done(ok, v);
  }

  void connect() {
    if (closing || !url_ok) return;
    if (sentinel != nullptr && !address_fresh) {
      askSentinels();
      return;
    }
    address_fresh = false;
    ac = redisAsyncConnect(host.c_str(), port);
    if (ac == nullptr || ac->err != 0) {
      std::string why =
          std::string("cannot connect: ") + (ac != nullptr ? ac->errstr : "out of memory");
      storeWarnings().warn("rate_limit_store " + url + ": " + why);
      noteLink(false, why);
      if (ac != nullptr) redisAsyncFree(ac);
      ac = nullptr;
      scheduleReconnect();
      return;
    }
    ac->data = this;
    if (attachRedisToWorker(ac, *worker) != REDIS_OK) {
      noteLink(false, "cannot watch the connection on the worker's loop");
      redisAsyncFree(ac);
      ac = nullptr;
      scheduleReconnect();
      return;
    }
    redisAsyncSetConnectCallback(ac, onConnect);
    redisAsyncSetDisconnectCallback(ac, onDisconnect);
    if (sentinel != nullptr) redisAsyncCommand(ac, onRole, nullptr, "ROLE");
    // Queued now, so that they go first, ahead of the calls made while connecting (hiredis
    // buffers commands until the connection is up).
    if (db != 0) redisAsyncCommand(ac, nullptr, nullptr, "SELECT %d", db);
    for (int i = 0; i < kScriptCount; ++i) {
      redisAsyncCommand(ac, onScriptLoaded, reinterpret_cast<void*>(static_cast<intptr_t>(i)),
                        "SCRIPT LOAD %s", kRedisScripts[i]);
    }
    sendParked();
  }

  void scheduleReconnect() {
    failParked();
    if (lost_at < 0) lost_at = nowMs();
    if (closing) return;
    reconnect_timer->start(static_cast<uint64_t>(backoff_ms));  // calls connect(); logged if not
    // With Sentinels, the next attempt may find a new master: retry more often.
    backoff_ms = std::min<int64_t>(backoff_ms * 2, sentinel != nullptr ? 1000 : 5000);
  }

  static void onConnect(const redisAsyncContext* c, int status) {
    auto* self = static_cast<Impl*>(c->data);
    if (c != self->ac) return;  // abandoned for a newer master
    if (status != REDIS_OK) {
      // hiredis frees the context after this callback.
      self->ac = nullptr;
      self->connected = false;
      storeWarnings().warn("rate_limit_store " + self->url + ": cannot connect: " + c->errstr);
      self->noteLink(false, std::string("cannot connect: ") + c->errstr);
      self->scheduleReconnect();
      return;
    }
    self->connected = true;
    self->noteLink(true, "connected to " + HostPort{self->host, self->port}.text());
    self->backoff_ms = 100;
    self->consecutive_timeouts = 0;
  }

  static void onScriptLoaded(redisAsyncContext* c, void* r, void* priv) {
    auto* self = static_cast<Impl*>(c->data);
    auto* reply = static_cast<redisReply*>(r);
    int i = static_cast<int>(reinterpret_cast<intptr_t>(priv));
    if (self != nullptr && reply != nullptr && reply->type == REDIS_REPLY_STRING) {
      self->sha[i].assign(reply->str, reply->len);
    }
  }

  static void onDisconnect(const redisAsyncContext* c, int status) {
    auto* self = static_cast<Impl*>(c->data);
    if (c != self->ac) return;  // dropped by us, which has seen to what comes next
    self->ac = nullptr;
    self->connected = false;
    for (auto& s : self->sha) s.clear();
    if (self->closing) return;
    if (status != REDIS_OK) {
      count(self->counters.error);
      storeWarnings().warn("rate_limit_store " + self->url + ": connection lost: " + c->errstr);
    }
    self->noteLink(false, status != REDIS_OK ? std::string("connection lost: ") + c->errstr
                                             : std::string("connection closed"));
    self->scheduleReconnect();
  }

  void send(Call* call, bool by_sha) {
    std::vector<const char*> argv;
    std::vector<size_t> lens;
    int i = static_cast<int>(call->script);
    if (by_sha) {
      argv = {"EVALSHA", sha[i].c_str(), "1", call->key.c_str()};
      lens = {7, sha[i].size(), 1, call->key.size()};
    } else {
      argv = {"EVAL", kRedisScripts[i], "1", call->key.c_str()};
      lens = {4, std::strlen(kRedisScripts[i]), 1, call->key.size()};
    }
    for (const std::string& a : call->args) {
      argv.push_back(a.c_str());
      lens.push_back(a.size());
    }
    if (redisAsyncCommandArgv(ac, onReply, call, static_cast<int>(argv.size()), argv.data(),
                              lens.data()) != REDIS_OK) {
      count(counters.error);
      finish(call, false, {});
      delete call;
    }
  }

  static void onReply(redisAsyncContext* c, void* r, void* priv) {
    auto* call = static_cast<Call*>(priv);
    Impl* self = call->owner;
    auto* reply = static_cast<redisReply*>(r);
    if (reply != nullptr && reply->type == REDIS_REPLY_ERROR &&
        std::string_view(reply->str, reply->len).substr(0, 8) == "NOSCRIPT" && !call->finished &&
        self->ac != nullptr && !self->closing) {
      self->sha[static_cast<int>(call->script)].clear();
      self->send(call, false);  // same call object, by EVAL this time
      return;
    }
    if (reply != nullptr && reply->type == REDIS_REPLY_ERROR && self->sentinel != nullptr &&
        std::string_view(reply->str, reply->len).substr(0, 8) == "READONLY" && c == self->ac) {
      redisAsyncDisconnect(c);  // a replica now: ask the Sentinels again
    }
    RedisVerdict v;
    bool ok = reply != nullptr && reply->type == REDIS_REPLY_ARRAY && reply->elements >= 5;
    if (ok) {
      int64_t n[5];
      for (int i = 0; i < 5; ++i) {
        const redisReply* e = reply->element[i];
        if (e->type != REDIS_REPLY_INTEGER) ok = false;
        n[i] = e->type == REDIS_REPLY_INTEGER ? e->integer : 0;
      }
      v = {n[0] != 0, n[1], n[2], n[3], n[4]};
    }
    if (!ok && !call->finished) {
      count(self->counters.error);
      if (reply != nullptr && reply->type == REDIS_REPLY_ERROR) {
        storeWarnings().warn("rate_limit_store " + self->url +
                             ": script error: " + std::string(reply->str, reply->len));
      }
    }
    if (ok) self->consecutive_timeouts = 0;
    self->finish(call, ok, v);
    delete call;
    (void)c;
  }

  // ---- Sentinel form ------------------------------------------------------------------------

  void askSentinels() {
    resolving = true;
    sentinel->resolve([this](bool ok, const HostPort& master) {
      resolving = false;
      if (!ok) {
        noteLink(false, "no master address from the Sentinels");
        scheduleReconnect();  // fails the parked calls: on_error decides them
        return;
      }
      host = master.host;
      port = master.port;
      address_fresh = true;
      connect();
    });
  }

  void sendParked() {
    std::vector<Call*> calls = std::move(parked);
    parked.clear();
    for (Call* call : calls) {
      if (call->finished) {
        delete call;  // timed out while the Sentinels were asked
      } else {
        call->parked = false;
        send(call, false);
      }
    }
  }

  void failParked() {
    std::vector<Call*> calls = std::move(parked);
    parked.clear();
    for (Call* call : calls) {
      if (!call->finished) count(counters.unavailable);
      finish(call, false, {});
      delete call;
    }
  }

  // The first reply on a connection to what the Sentinels called the master: is it still one?
  static void onRole(redisAsyncContext* c, void* r, void*) {
    auto* self = static_cast<Impl*>(c->data);
    auto* reply = static_cast<redisReply*>(r);
    if (reply == nullptr || self->closing || c != self->ac) return;
    bool master = reply->type == REDIS_REPLY_ARRAY && reply->elements > 0 &&
                  reply->element[0]->type == REDIS_REPLY_STRING &&
                  std::string_view(reply->element[0]->str, reply->element[0]->len) == "master";
    std::string addr = HostPort{self->host, self->port}.text();
    if (!master) {
      storeWarnings().warn("rate_limit_store " + self->url + ": " + addr +
                           " is not a master (ROLE); asking the Sentinels again");
      redisAsyncDisconnect(c);
      return;
    }
    std::string previous;
    if (noteMasterInUse(self->url, addr, &previous)) {
      std::string gap =
          self->lost_at >= 0 ? std::to_string(self->nowMs() - self->lost_at) + " ms" : "no time";
      // One line per failover and process: the first worker to reach the new master says it.
      failoverLog().warn("rate_limit_store master " + self->sentinel_master + ": lost " + previous +
                         ", switched to " + addr + " (this worker decided by " + "on_error for " +
                         gap + ")");
      count(self->counters.failover);
    }
    self->lost_at = -1;
  }

  // A Sentinel announced `master` (or said so after a lost subscription): go there now, without
  // waiting for the reconnect backoff.
  void onMasterAnnounced(const HostPort& master) {
    if (closing || (ac != nullptr && host == master.host && port == master.port)) return;
    host = master.host;
    port = master.port;
    address_fresh = true;
    backoff_ms = 100;
    reconnect_timer->stop();
    if (lost_at < 0) lost_at = nowMs();
    if (ac != nullptr) {
      redisAsyncContext* old = ac;
      ac = nullptr;
      connected = false;
      for (auto& h : sha) h.clear();
      redisAsyncFree(old);  // its pending calls complete now, decided by on_error
    }
    if (!resolving) connect();  // else the answer in flight connects (to the newest address)
  }

  static void onTimeoutTick(Impl* self) {
    int64_t now = self->nowMs();
    while (!self->live.empty() && self->live.front()->deadline <= now) {
      Call* call = self->live.front();
      if (call->parked) {
        count(self->counters.unavailable);  // no server to blame: do not count it as silent
      } else {
        count(self->counters.timeout);
        ++self->consecutive_timeouts;
      }
      self->finish(call, false, {});  // hiredis still owns it; onReply deletes it
    }
    if (self->live.empty()) self->timeout_timer->stop();
    // A server that stopped answering: drop the connection so that requests fail fast and the
    // reconnect backoff takes over.
    if (self->consecutive_timeouts >= 20 && self->ac != nullptr) {
      storeWarnings().warn("rate_limit_store " + self->url + ": not answering, reconnecting");
      self->noteLink(false, "not answering");
      self->consecutive_timeouts = 0;
      self->connected = false;
      redisAsyncContext* ac = self->ac;
      self->ac = nullptr;
      redisAsyncFree(ac);  // pending calls complete (they have timed out already)
      if (!self->reconnect_timer->active()) self->scheduleReconnect();
    }
  }
};

RedisClient::RedisClient(Impl* impl) : impl_(impl) {}

RedisClient& RedisClient::forWorker(const WorkerServices& worker, const std::string& url,
                                    const RedisErrorCounters& counters) {
  thread_local std::map<std::string, std::unique_ptr<RedisClient>> clients;
  auto it = clients.find(url);
  if (it != clients.end()) return *it->second;
  auto* impl = new Impl;
  impl->worker = &worker;
  impl->url = url;
  impl->counters = counters;
  impl->url_ok = parseUrl(url, impl->host, impl->port, impl->db);
  impl->timeout_timer =
      worker.makeTimer("rate_limit_store timeout timer", [impl] { Impl::onTimeoutTick(impl); });
  impl->reconnect_timer =
      worker.makeTimer("rate_limit_store reconnect timer", [impl] { impl->connect(); });
  if (auto target = parseSentinelUrl(url)) {
    impl->url_ok = true;
    impl->db = target->db;
    impl->sentinel_master = target->master;
    impl->sentinel = SentinelWatch::create(
        worker, *target, [impl](const HostPort& master) { impl->onMasterAnnounced(master); });
  }
  auto client = std::unique_ptr<RedisClient>(new RedisClient(impl));
  RedisClient& ref = *client;
  clients.emplace(url, std::move(client));
  impl->connect();
  return ref;
}

bool RedisClient::run(RedisScript script, const std::string& key,
                      const std::vector<std::string>& args, Done done) {
  Impl* m = impl_.get();
  // While connecting, calls queue behind the connection (bounded by kRedisTimeout); only
  // between a lost connection and the next attempt are they refused at once.
  if ((m->ac == nullptr && !m->resolving) || m->live.size() > 10000) {
    Impl::count(m->counters.unavailable);
    return false;
  }
  auto* call = new Impl::Call;
  call->owner = m;
  call->done = std::move(done);
  call->deadline = m->nowMs() + kRedisTimeout.count();
  call->script = script;
  call->key = key;
  call->args = args;
  m->live.push_back(call);
  call->live = std::prev(m->live.end());
  call->in_live = true;
  if (!m->timeout_timer->active()) m->timeout_timer->start(10, 10);  // logged if it fails
  if (m->ac == nullptr) {
    call->parked = true;  // the Sentinels are being asked where the master is
    m->parked.push_back(call);
  } else {
    m->send(call, !m->sha[static_cast<int>(script)].empty());
  }
  return true;
}

RedisClient::~RedisClient() {
  // Runs at worker thread exit, after its loop stopped. The timers are closed with impl_; libuv
  // frees them when the worker drains its loop once more before closing it.
  Impl* m = impl_.get();
  m->closing = true;
  if (m->ac != nullptr) {
    redisAsyncContext* ac = m->ac;
    m->ac = nullptr;
    redisAsyncFree(ac);  // calls every pending callback with no reply
  }
  m->failParked();
  m->sentinel.reset();  // drops its connections and timers
}

}  // namespace sluice::filters
