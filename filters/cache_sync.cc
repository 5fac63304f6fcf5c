#include "filters/cache_sync.h"

#include <hiredis/async.h>
#include <hiredis/hiredis.h>

#include <chrono>
#include <utility>

#include "config/redis_url.h"
#include "filters/base/warn_log.h"
#include "filters/cache_sync_message.h"
#include "filters/redis_uv.h"

namespace sluice::filters {

namespace {

base::WarnLimiter& invalidWarnings() {
  static base::WarnLimiter w(std::chrono::seconds(10));
  return w;
}

}  // namespace

// One PUBLISH handed to hiredis: hiredis owns it until its reply callback, which frees it (the
// callback runs exactly once, with a null reply when the connection goes first).
struct CacheSync::Pending {
  CacheSync* owner;
  uint64_t id;
  std::string payload;
};

CacheSync::CacheSync(const WorkerServices& loop, Settings settings, Purge purge, Log log,
                     base::MetricsRegistry& metrics, uint64_t seed)
    : loop_(loop),
      settings_(std::move(settings)),
      purge_(std::move(purge)),
      log_(std::move(log)),
      instance_(newInstanceId(seed)),
      rng_(seed),
      published_(metrics
                     .counter("sluice_cache_sync_purges_published_total",
                              "Admin cache purges this instance published on the cache_sync "
                              "channel (Redis took the PUBLISH).")
                     .with({})),
      received_(metrics
                    .counter("sluice_cache_sync_purges_received_total",
                             "Cache purges of other instances received on the cache_sync channel "
                             "and applied here.")
                    .with({})),
      full_purges_(metrics
                       .counter("sluice_cache_sync_full_purges_total",
                                "Whole-cache purges because the cache_sync subscription was lost "
                                "(purges of other instances may have been missed) and is back.")
                       .with({})),
      invalid_(metrics
                   .counter("sluice_cache_sync_invalid_messages_total",
                            "Messages on the cache_sync channel that are not sluice purges "
                            "(ignored).")
                   .with({})),
      connected_(metrics
                     .gauge("sluice_cache_sync_connected",
                            "1 while subscribed to the cache_sync channel, else 0.")
                     .with({})) {
  if (auto url = config::parseRedisUrl(settings_.url)) {  // checked at load: never fails here
    host_ = url->host;
    port_ = url->port;
  }
  connected_.set(0);
  sub_.owner = pub_.owner = this;
  sub_.role = "subscribe";
  pub_.role = "publish";
  sub_.retry = loop_.makeTimer("cache_sync reconnect timer", [this] { connect(sub_); });
  pub_.retry = loop_.makeTimer("cache_sync reconnect timer", [this] { connect(pub_); });
  expiry_ = loop_.makeTimer("cache_sync publish timer", [this] { expirePending(); });
  connect(sub_);
  connect(pub_);
}

CacheSync::~CacheSync() {
  closing_ = true;
  for (Link* link : {&sub_, &pub_}) {
    link->retry.reset();
    if (link->ac != nullptr) {
      redisAsyncContext* ac = link->ac;
      link->ac = nullptr;
      redisAsyncFree(ac);  // runs the pending callbacks with no reply
    }
  }
  auto waiting = std::move(waiting_);
  for (auto& [id, w] : waiting) w.done(Published{false, 0, false, "cache_sync stopped"});
  connected_.set(0);
}

void CacheSync::connect(Link& link) {
  if (closing_ || link.ac != nullptr) return;
  // hiredis would resolve a name with a blocking getaddrinfo; the loop's lookup does not block.
  std::weak_ptr<int> alive = alive_;
  loop_.lookupHost(host_, [this, &link, alive](bool ok, const std::string& ip) {
    if (alive.expired() || closing_ || link.ac != nullptr) return;
    if (!ok) {
      lost(link, "cannot resolve " + host_);
      return;
    }
    redisAsyncContext* ac = redisAsyncConnect(ip.c_str(), port_);
    if (ac == nullptr || ac->err != 0) {
      std::string why = ac != nullptr ? ac->errstr : "out of memory";
      if (ac != nullptr) redisAsyncFree(ac);
      lost(link, "cannot connect: " + why);
      return;
    }
    ac->data = &link;
    if (attachRedisToWorker(ac, loop_) != REDIS_OK) {
      redisAsyncFree(ac);
      lost(link, "cannot watch the connection on the main loop");
      return;
    }
    redisAsyncSetConnectCallback(ac, onConnect);
    redisAsyncSetDisconnectCallback(ac, onDisconnect);
    link.ac = ac;
  });
}

void CacheSync::onConnect(const redisAsyncContext* c, int status) {
  auto* link = static_cast<Link*>(c->data);
  if (c != link->ac) return;
  if (status != REDIS_OK) {
    link->ac = nullptr;  // hiredis frees it after this callback
    link->owner->lost(*link, std::string("cannot connect: ") + c->errstr);
    return;
  }
  link->owner->linkUp(*link);
}

void CacheSync::onDisconnect(const redisAsyncContext* c, int status) {
  auto* link = static_cast<Link*>(c->data);
  if (c != link->ac) return;  // freed by us
  link->ac = nullptr;
  if (link->owner->closing_) return;
  link->owner->lost(*link, status == REDIS_OK ? std::string("connection closed")
                                              : std::string("connection lost: ") + c->errstr);
}

void CacheSync::linkUp(Link& link) {
  link.up = true;
  link.failures = 0;
  if (&link == &pub_) {
    flushQueue();
    return;
  }
  const std::string& ch = settings_.channel;
  if (redisAsyncCommand(link.ac, onSubscribeReply, this, "SUBSCRIBE %b", ch.data(), ch.size()) !=
      REDIS_OK) {
    redisAsyncContext* ac = link.ac;
    link.ac = nullptr;
    redisAsyncFree(ac);
    lost(link, "cannot subscribe");
  }
}

// Called once per failed attempt or lost connection; the next attempt is scheduled here. The
// subscription's loss starts an outage episode: one warning line for all of its attempts.
void CacheSync::lost(Link& link, const std::string& why) {
  link.up = false;
  if (&link == &sub_) {
    if (subscribed_) {
      subscribed_ = false;
      connected_.set(0);
    }
    if (outage_since_ < 0) outage_since_ = loop_.nowMs();
    if (!outage_logged_) {
      outage_logged_ = true;
      log_(true, "cache_sync: redis " + settings_.url + " (" + why +
                     "): purges of other instances are missed until it is back, then this "
                     "instance purges its whole cache; reconnecting with backoff");
    }
  }
  if (closing_) return;
  link.retry->start(reconnectDelayMs(link.failures++, random()));  // logged if refused
}

void CacheSync::onSubscribeReply(redisAsyncContext*, void* r, void* priv) {
  auto* self = static_cast<CacheSync*>(priv);
  auto* reply = static_cast<redisReply*>(r);
  if (reply == nullptr || self->closing_ || reply->type != REDIS_REPLY_ARRAY ||
      reply->elements < 3 || reply->element[0]->type != REDIS_REPLY_STRING) {
    return;
  }
  std::string_view kind(reply->element[0]->str, reply->element[0]->len);
  const redisReply* last = reply->element[2];
  if (kind == "subscribe") {
    self->onSubscribed();
  } else if (kind == "message" && last->type == REDIS_REPLY_STRING) {
    self->onMessage(std::string_view(last->str, last->len));
  }
}

void CacheSync::onSubscribed() {
  bool again = ever_subscribed_;
  subscribed_ = true;
  ever_subscribed_ = true;
  connected_.set(1);
  size_t n = purge_("", true);
  if (again || n > 0) {
    full_purges_.inc();
    std::string gap = outage_since_ >= 0 ? std::to_string(loop_.nowMs() - outage_since_) + " ms"
                                         : std::string("the start");
    log_(false, "cache_sync: subscribed to " + settings_.channel + " on " + settings_.url +
                    " after " + gap + " without it; purged the whole cache (" + std::to_string(n) +
                    " keys), since purges may have been missed");
  } else {
    log_(false, "cache_sync: subscribed to " + settings_.channel + " on " + settings_.url +
                    " as instance " + instance_);
  }
  outage_since_ = -1;
  outage_logged_ = false;
}

void CacheSync::onMessage(std::string_view payload) {
  auto m = decodePurge(payload);
  if (!m) {
    invalid_.inc();
    invalidWarnings().warn("cache_sync: ignored a message on " + settings_.channel +
                           " that is not a sluice purge");
    return;
  }
  if (m->instance == instance_) return;  // our own, applied when it was made
  purge_(m->value, m->kind == PurgeMessage::Kind::Prefix);
  received_.inc();
}

void CacheSync::publish(std::string_view value, bool prefix, PublishDone done) {
  std::string payload =
      encodePurge({instance_, prefix ? PurgeMessage::Kind::Prefix : PurgeMessage::Kind::Key,
                   std::string(value)});
  if (pub_.up && pub_.ac != nullptr) {
    send(payload, std::move(done));
    return;
  }
  enqueue(std::move(payload));
  done(Published{false, 0, true, "not connected to redis " + settings_.url});
}

void CacheSync::enqueue(std::string payload) {
  if (queue_overflowed_) return;  // everything goes already
  if (queue_.size() >= kMaxQueuedPurges) {
    queue_.clear();
    queue_.push_back(encodePurge({instance_, PurgeMessage::Kind::Prefix, ""}));
    queue_overflowed_ = true;
    return;
  }
  queue_.push_back(std::move(payload));
}

void CacheSync::send(const std::string& payload, PublishDone done) {
  auto* p = new Pending{this, next_id_++, payload};
  if (done) {
    waiting_[p->id] = Waiting{std::move(done), loop_.nowMs() + kPublishTimeoutMs};
    if (!expiry_->active()) expiry_->start(100, 100);  // logged if refused
  }
  const std::string& ch = settings_.channel;
  if (redisAsyncCommand(pub_.ac, onPublishReply, p, "PUBLISH %b %b", ch.data(), ch.size(),
                        payload.data(), payload.size()) != REDIS_OK) {
    // The context is going away: its disconnect callback reconnects; the purge waits for that.
    enqueue(payload);
    answer(p->id, Published{false, 0, true, "connection to redis closing"});
    delete p;
  }
}

void CacheSync::answer(uint64_t id, const Published& result) {
  auto it = waiting_.find(id);
  if (it == waiting_.end()) return;  // timed out already, or nobody asked
  PublishDone done = std::move(it->second.done);
  waiting_.erase(it);
  done(result);
}

void CacheSync::onPublishReply(redisAsyncContext*, void* r, void* priv) {
  std::unique_ptr<Pending> p(static_cast<Pending*>(priv));
  CacheSync* self = p->owner;
  auto* reply = static_cast<redisReply*>(r);
  if (reply == nullptr) {        // the connection went before the answer: send it again later
    if (self->closing_) return;  // the destructor answers
    self->enqueue(p->payload);
    self->answer(p->id, Published{false, 0, true, "connection to redis lost"});
  } else if (reply->type == REDIS_REPLY_INTEGER) {
    self->published_.inc();
    self->answer(p->id, Published{true, reply->integer, false, ""});
  } else {
    std::string err = reply->type == REDIS_REPLY_ERROR ? std::string(reply->str, reply->len)
                                                       : std::string("unexpected reply");
    self->answer(p->id, Published{false, 0, false, "redis: " + err});
  }
}

void CacheSync::flushQueue() {
  std::deque<std::string> queued = std::move(queue_);
  queue_.clear();
  queue_overflowed_ = false;
  for (const std::string& payload : queued) send(payload, nullptr);
}

void CacheSync::expirePending() {
  int64_t now = loop_.nowMs();
  std::vector<uint64_t> late;
  for (const auto& [id, w] : waiting_) {
    if (w.deadline <= now) late.push_back(id);
  }
  for (uint64_t id : late) {
    answer(id,
           Published{false, 0, false,
                     "no answer from redis within " + std::to_string(kPublishTimeoutMs) + " ms"});
  }
  if (waiting_.empty()) expiry_->stop();
}

}  // namespace sluice::filters
