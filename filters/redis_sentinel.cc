#include "filters/redis_sentinel.h"

#include <arpa/inet.h>
#include <hiredis/async.h>
#include <hiredis/hiredis.h>

#include <charconv>
#include <map>
#include <mutex>

#include "filters/base/warn_log.h"
#include "filters/redis_uv.h"

namespace sluice::filters {

namespace {

constexpr uint64_t kResubscribeMs = 500;

base::WarnLimiter& sentinelWarnings() {
  static base::WarnLimiter w(std::chrono::seconds(10));
  return w;
}

bool isIpLiteral(const std::string& host) {
  unsigned char buf[sizeof(in6_addr)];
  return inet_pton(AF_INET, host.c_str(), buf) == 1 || inet_pton(AF_INET6, host.c_str(), buf) == 1;
}

std::string_view str(const redisReply* r) {
  return r != nullptr && r->type == REDIS_REPLY_STRING ? std::string_view(r->str, r->len)
                                                       : std::string_view();
}

// `host:port` or `[v6]:port` (brackets when the host has a colon).
std::optional<HostPort> parseHostPort(std::string_view s) {
  HostPort hp;
  size_t colon = s.rfind(':');
  if (colon == std::string_view::npos) return std::nullopt;
  std::string_view host = s.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  } else if (host.find(':') != std::string_view::npos) {
    return std::nullopt;
  }
  auto port = parsePort(s.substr(colon + 1));
  if (host.empty() || !port) return std::nullopt;
  hp.host = std::string(host);
  hp.port = *port;
  return hp;
}

}  // namespace

std::string HostPort::text() const {
  std::string h = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  return h + ":" + std::to_string(port);
}

std::string sentinelUrl(const config::RateLimitStore& store) {
  std::string url = "redis-sentinel://";
  for (size_t i = 0; i < store.sentinels.size(); ++i) {
    if (i > 0) url += ",";
    url += store.sentinels[i].text();
  }
  return url + "/" + std::to_string(store.db) + "#" + store.master;
}

std::optional<SentinelTarget> parseSentinelUrl(std::string_view url) {
  constexpr std::string_view kScheme = "redis-sentinel://";
  if (url.substr(0, kScheme.size()) != kScheme) return std::nullopt;
  url.remove_prefix(kScheme.size());
  size_t hash = url.find('#');
  if (hash == std::string_view::npos || hash + 1 == url.size()) return std::nullopt;
  SentinelTarget t;
  t.master = std::string(url.substr(hash + 1));
  url = url.substr(0, hash);
  size_t slash = url.find('/');
  if (slash != std::string_view::npos) {
    std::string_view db = url.substr(slash + 1);
    auto [end, ec] = std::from_chars(db.data(), db.data() + db.size(), t.db);
    if (ec != std::errc() || end != db.data() + db.size() || t.db < 0) return std::nullopt;
    url = url.substr(0, slash);
  }
  while (!url.empty()) {
    size_t comma = url.find(',');
    auto hp = parseHostPort(url.substr(0, comma));
    if (!hp) return std::nullopt;
    t.sentinels.push_back(*hp);
    url = comma == std::string_view::npos ? std::string_view() : url.substr(comma + 1);
  }
  if (t.sentinels.empty()) return std::nullopt;
  return t;
}

std::optional<int> parsePort(std::string_view text) {
  int port = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), port);
  if (ec != std::errc() || end != text.data() + text.size() || port < 1 || port > 65535) {
    return std::nullopt;
  }
  return port;
}

std::optional<HostPort> parseSwitchMaster(std::string_view payload, std::string_view master) {
  std::vector<std::string_view> words;
  while (!payload.empty()) {
    size_t sp = payload.find(' ');
    if (sp != 0) words.push_back(payload.substr(0, sp));
    payload = sp == std::string_view::npos ? std::string_view() : payload.substr(sp + 1);
  }
  if (words.size() != 5 || words[0] != master) return std::nullopt;
  auto port = parsePort(words[4]);
  if (!port) return std::nullopt;
  return HostPort{std::string(words[3]), *port};
}

bool noteMasterInUse(const std::string& url, const std::string& addr, std::string* previous) {
  static std::mutex mu;
  static std::map<std::string, std::string> in_use;
  std::lock_guard lock(mu);
  std::string& last = in_use[url];
  if (last == addr) return false;
  bool news = !last.empty();
  if (previous != nullptr) *previous = last;
  last = addr;
  return news;
}

// ---- SentinelWatch --------------------------------------------------------------------------

SentinelWatch::SentinelWatch(const WorkerServices& worker, SentinelTarget target,
                             Announced announced)
    : worker_(worker), target_(std::move(target)), announced_(std::move(announced)) {
  deadline_ = worker.makeTimer("Sentinel deadline timer", [this] {
    warn("Sentinel " + target_.sentinels[cmd_at_].text() + " did not answer within " +
         std::to_string(kSentinelTimeout.count()) + " ms");
    dropQueryConnection();
    askNext();
  });
  resubscribe_ = worker.makeTimer("Sentinel resubscribe timer", [this] { subscribe(); });
}

std::unique_ptr<SentinelWatch> SentinelWatch::create(const WorkerServices& worker,
                                                     SentinelTarget target, Announced announced) {
  std::unique_ptr<SentinelWatch> w(
      new SentinelWatch(worker, std::move(target), std::move(announced)));
  w->subscribe();
  return w;
}

void SentinelWatch::warn(const std::string& what) {
  sentinelWarnings().warn("rate_limit_store master " + target_.master + ": " + what);
}

// Calls `then` with `host` as a numeric address: at once for an IP literal, else once the
// worker's lookup answers (on this thread; not at all after destruction).
void SentinelWatch::lookup(const std::string& host, Looked then) {
  if (isIpLiteral(host)) {
    then(true, host);
    return;
  }
  worker_.lookupHost(host, [alive = std::weak_ptr<int>(alive_), then = std::move(then)](
                               bool ok, const std::string& ip) {
    if (!alive.expired()) then(ok, ip);
  });
}

redisAsyncContext* SentinelWatch::open(const std::string& ip, int port) {
  redisAsyncContext* ac = redisAsyncConnect(ip.c_str(), port);
  if (ac == nullptr) return nullptr;
  if (ac->err != 0) {
    warn("Sentinel " + HostPort{ip, port}.text() + ": " + ac->errstr);
    redisAsyncFree(ac);
    return nullptr;
  }
  ac->data = this;
  if (attachRedisToWorker(ac, worker_) != REDIS_OK) {
    redisAsyncFree(ac);
    return nullptr;
  }
  redisAsyncSetConnectCallback(ac, onConnect);
  redisAsyncSetDisconnectCallback(ac, onDisconnect);
  return ac;
}

void SentinelWatch::resolve(Found found) {
  waiters_.push_back(std::move(found));
  if (query_ != 0 || closing_) return;
  query_ = ++queries_;
  tries_ = 0;
  askNext();
}

void SentinelWatch::askNext() {
  if (closing_ || query_ == 0) return;
  ++attempts_;
  if (tries_ >= target_.sentinels.size()) {
    finishQuery(false, {});
    return;
  }
  size_t at = (good_ + tries_) % target_.sentinels.size();
  ++tries_;
  // Its callback asks the next Sentinel. A failure to start is logged (it cannot happen on a
  // live loop); the query then waits for this Sentinel's answer or for the connection to drop.
  deadline_->start(static_cast<uint64_t>(kSentinelTimeout.count()));
  if (cmd_ != nullptr && cmd_at_ == at) {
    sendQuery();
    return;
  }
  dropQueryConnection();
  cmd_at_ = at;
  uint64_t a = attempts_;
  const HostPort& s = target_.sentinels[at];
  lookup(s.host, [this, a, port = s.port](bool ok, const std::string& ip) {
    if (a != attempts_ || query_ == 0) return;  // timed out meanwhile
    cmd_ = ok ? open(ip, port) : nullptr;
    if (cmd_ == nullptr) {
      askNext();
      return;
    }
    sendQuery();
  });
}

void SentinelWatch::sendQuery() {
  auto* priv = reinterpret_cast<void*>(static_cast<uintptr_t>(query_));
  if (redisAsyncCommand(cmd_, onMasterAddr, priv, "SENTINEL get-master-addr-by-name %s",
                        target_.master.c_str()) != REDIS_OK) {
    dropQueryConnection();
    askNext();
  }
}

void SentinelWatch::dropQueryConnection() {
  if (cmd_ == nullptr) return;
  redisAsyncContext* ac = cmd_;
  cmd_ = nullptr;  // its callbacks, run by the free below, see it is no longer ours
  redisAsyncFree(ac);
}

void SentinelWatch::finishQuery(bool ok, const HostPort& master) {
  deadline_->stop();
  query_ = 0;
  if (!ok) warn("no Sentinel named the master");
  std::vector<Found> waiters = std::move(waiters_);
  waiters_.clear();
  for (Found& f : waiters) f(ok, master);
}

void SentinelWatch::onMasterAddr(redisAsyncContext* c, void* r, void* priv) {
  auto* self = static_cast<SentinelWatch*>(c->data);
  auto* reply = static_cast<redisReply*>(r);
  if (self->closing_) return;
  if (reply == nullptr) {
    self->lost(c);  // the connection died (or was dropped by us: then nothing happens)
    return;
  }
  auto q = static_cast<uint64_t>(reinterpret_cast<uintptr_t>(priv));
  if (q != self->query_ || c != self->cmd_) return;
  std::optional<int> port;
  if (reply->type == REDIS_REPLY_ARRAY && reply->elements == 2) {
    port = parsePort(str(reply->element[1]));
  }
  std::string host(
      str(reply->type == REDIS_REPLY_ARRAY && reply->elements == 2 ? reply->element[0] : nullptr));
  if (!port || host.empty()) {
    self->warn("Sentinel " + self->target_.sentinels[self->cmd_at_].text() +
               (reply->type == REDIS_REPLY_ERROR
                    ? " answered " + std::string(reply->str, reply->len)
                    : " does not know this master"));
    self->askNext();
    return;
  }
  self->good_ = self->cmd_at_;
  uint64_t a = self->attempts_;
  self->lookup(host, [self, a, port = *port](bool ok, const std::string& ip) {
    if (a != self->attempts_ || self->query_ == 0) return;  // timed out meanwhile
    if (!ok) {
      self->askNext();
      return;
    }
    self->finishQuery(true, HostPort{ip, port});
  });
}

void SentinelWatch::subscribe() {
  if (closing_ || sub_ != nullptr) return;
  const HostPort& s = target_.sentinels[sub_at_ % target_.sentinels.size()];
  auto retry = [this] {
    ++sub_at_;
    startResubscribe();
  };
  lookup(s.host, [this, retry, port = s.port](bool ok, const std::string& ip) {
    if (sub_ != nullptr) return;
    sub_ = ok ? open(ip, port) : nullptr;
    if (sub_ != nullptr &&
        redisAsyncCommand(sub_, onMessage, nullptr, "SUBSCRIBE +switch-master") != REDIS_OK) {
      redisAsyncContext* ac = sub_;
      sub_ = nullptr;
      redisAsyncFree(ac);
    }
    if (sub_ == nullptr) retry();
  });
}

void SentinelWatch::onMessage(redisAsyncContext* c, void* r, void*) {
  auto* self = static_cast<SentinelWatch*>(c->data);
  auto* reply = static_cast<redisReply*>(r);
  if (self->closing_) return;
  if (reply == nullptr) {
    self->lost(c);
    return;
  }
  if (c != self->sub_ || reply->type != REDIS_REPLY_ARRAY || reply->elements < 3) return;
  std::string_view kind = str(reply->element[0]);
  if (kind == "subscribe") {
    // Back after a lost subscription: an announcement may have gone by meanwhile.
    if (self->subscribed_once_) {
      self->resolve([self](bool ok, const HostPort& m) {
        if (ok) self->announced_(m);
      });
    }
    self->subscribed_once_ = true;
    return;
  }
  if (kind != "message") return;
  auto next = parseSwitchMaster(str(reply->element[2]), self->target_.master);
  if (!next) return;
  self->lookup(next->host, [self, port = next->port](bool ok, const std::string& ip) {
    if (ok) self->announced_(HostPort{ip, port});
  });
}

// `c` is going away (connect failed, connection lost): forget it and carry on without it.
void SentinelWatch::lost(const redisAsyncContext* c) {
  if (closing_) return;
  if (c == cmd_) {
    cmd_ = nullptr;
    askNext();  // the query in flight, if any, goes to the next Sentinel
  } else if (c == sub_) {
    sub_ = nullptr;
    warn("subscription to +switch-master on Sentinel " +
         target_.sentinels[sub_at_ % target_.sentinels.size()].text() + " lost");
    ++sub_at_;
    startResubscribe();
  }
}

// Subscribes again (to the next Sentinel) in kResubscribeMs. A failure to start is logged; the
// watch then follows failovers through resolve() only, as the store asks before each connection.
void SentinelWatch::startResubscribe() {
  resubscribe_->start(kResubscribeMs);
}

void SentinelWatch::onConnect(const redisAsyncContext* c, int status) {
  if (status != REDIS_OK) static_cast<SentinelWatch*>(c->data)->lost(c);
}

void SentinelWatch::onDisconnect(const redisAsyncContext* c, int status) {
  static_cast<SentinelWatch*>(c->data)->lost(c);
}

SentinelWatch::~SentinelWatch() {
  closing_ = true;
  alive_.reset();
  waiters_.clear();
  for (redisAsyncContext** ac : {&cmd_, &sub_}) {
    if (*ac == nullptr) continue;
    redisAsyncContext* a = *ac;
    *ac = nullptr;
    redisAsyncFree(a);  // its callbacks see closing_ and return
  }
  // The timers close with their members; a pending name lookup finds alive_ expired.
}

}  // namespace sluice::filters
