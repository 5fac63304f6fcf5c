#include "filters/cache.h"

#include <random>

#include "filters/cache_control.h"
#include "filters/cache_entry.h"
#include "filters/cache_policy.h"
#include "filters/cache_range.h"

namespace sluice::filters {

int64_t systemWallClockMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

CacheFactory::CacheFactory(const config::CacheFilter& cfg, std::shared_ptr<CacheStore> store,
                           Counters counters, WallClock clock, std::chrono::milliseconds fill_wait)
    : cfg_(cfg),
      store_(std::move(store)),
      counters_(counters),
      clock_(std::move(clock)),
      fill_wait_(fill_wait) {}

int64_t CacheFactory::jittered(int64_t lifetime_ms) const {
  if (cfg_.ttl_jitter <= 0 || lifetime_ms <= 0) return lifetime_ms;
  thread_local std::mt19937_64 rng{std::random_device{}()};
  double u = std::uniform_real_distribution<double>(0.0, 1.0)(rng);
  return static_cast<int64_t>(static_cast<double>(lifetime_ms) * (1.0 - cfg_.ttl_jitter * u));
}

namespace {

enum class Mode { Idle, Bypass, Waiting, Origin, Served };

class CacheFilter final : public Filter {
 public:
  explicit CacheFilter(const CacheFactory& f) : f_(f) {}
  ~CacheFilter() override { releaseFill(true); }

  FilterStatus onRequestHeaders(base::RequestHead& head, FilterCallbacks& cb) override {
    req_ = &head;
    head_ = head.method == "HEAD";
    key_.assign(cb.info().original_host);
    key_.append(cb.info().original_target);
    if (head.method != "GET" && !head_) {
      // Unsafe methods invalidate what is stored for their target (RFC 9111 §4.4).
      invalidate_ = head.method != "OPTIONS" && head.method != "TRACE";
      return bypass(cb);
    }
    rd_ = parseRequestDirectives(head.headers);
    if (rd_.no_store) return bypass(cb);
    if (!head_) {
      // Range is defined for GET only (RFC 9110 §14.2): a HEAD is answered whole.
      if (const std::string* v = head.headers.get("range")) range_ = *v;
      if (const std::string* v = head.headers.get("if-range")) if_range_ = *v;
    }
    authorized_ = head.headers.has("authorization");
    if (const std::string* v = head.headers.get("if-none-match")) client_inm_ = *v;
    if (const std::string* v = head.headers.get("if-modified-since")) client_ims_ = *v;
    return decide(cb, false);
  }

  FilterStatus onResponseHeaders(base::ResponseHead& head, FilterCallbacks& cb) override {
    if (replying_) {
      // Our own reply passing through. The local reply added a Content-Type of its own: a
      // stored response is served with exactly its stored fields (RFC 9111 §4), and a 304
      // carries no representation metadata beyond what serve() chose (RFC 9110 §15.4.5).
      if (strip_content_type_) head.headers.remove("content-type");
      return FilterStatus::Continue;
    }
    if (mode_ == Mode::Bypass) {
      if (invalidate_ && head.status < 400) {
        // RFC 9111 §4.4: the target, and (MAY) the same-origin URIs the response names.
        f_.store().purge(key_, false);
        for (const char* name : {"location", "content-location"}) {
          const std::string* v = head.headers.get(name);
          std::string k = v != nullptr ? sameOriginKey(cb.info().original_host, *v) : "";
          if (!k.empty() && k != key_) f_.store().purge(k, false);
        }
      }
      head.headers.set("x-cache", "BYPASS");
      if (removesCdn()) head.headers.remove("cdn-cache-control");
      return FilterStatus::Continue;
    }
    if (mode_ != Mode::Origin && mode_ != Mode::Waiting) return FilterStatus::Continue;
    mode_ = Mode::Origin;  // a waiter whose wait timed out went to the origin itself
    int64_t now = f_.now();
    if (validators_sent_ && head.status == 304 && entry_) {
      // Revalidated: the stored body is still good. Refresh it, then answer from it.
      auto fresh = std::make_shared<CachedResponse>(*entry_);
      refreshEntry(storeContext(), *fresh, head.headers, now);
      CachedPtr stored = fresh;
      f_.store().insert(key_, stored);
      releaseFill(false);
      serve(cb, stored, "HIT", "revalidated", f_.counters().hit);
      return FilterStatus::Stop;  // the exchange may be gone: nothing may follow
    }
    bool failed = head.status >= 500;
    if (failed && entry_ && staleIfErrorOk(rd_, *entry_, now)) {
      releaseFill(true);
      CachedPtr stale = entry_;
      serve(cb, stale, "STALE", "stale", f_.counters().stale);
      return FilterStatus::Stop;  // the exchange may be gone: nothing may follow
    }
    f_.counters().miss->inc();
    cb.setLogField(LogField::Cache, "miss");
    if (!head_ && (pending_ = prepareEntry(storeContext(), head, now))) {
      storing_ = true;
    } else {
      releaseFill(failed);
    }
    head.headers.set("x-cache", "MISS");
    if (removesCdn()) head.headers.remove("cdn-cache-control");
    return FilterStatus::Continue;
  }

  FilterStatus onResponseBody(std::string& data, bool end, FilterCallbacks&) override {
    if (replying_ || !storing_) return FilterStatus::Continue;
    if (body_.size() + data.size() > f_.store().largestEntry()) {
      storing_ = false;  // too large to keep: let it stream past
      std::string().swap(body_);
      pending_.reset();
      releaseFill(false);
      return FilterStatus::Continue;
    }
    body_.append(data);
    if (end) {
      storing_ = false;
      pending_->body = std::make_shared<const std::string>(std::move(body_));
      f_.store().insert(key_, std::move(pending_));
      releaseFill(false);
    }
    return FilterStatus::Continue;
  }

  void onComplete(int status) override { releaseFill(status == 0 || status >= 500); }

 private:
  // cdn_cache_control: use_and_remove. The stored copy keeps the field (a refresh decides by
  // it); what reaches the client does not.
  bool removesCdn() const {
    return f_.config().cdn_cache_control == config::CdnCacheControl::UseAndRemove;
  }

  FilterStatus bypass(FilterCallbacks& cb) {
    mode_ = Mode::Bypass;
    f_.counters().bypass->inc();
    cb.setLogField(LogField::Cache, "bypass");
    return FilterStatus::Continue;
  }

  // only-if-cached and nothing stored may answer: 504 without contacting the origin (RFC 9111
  // §5.2.1.7), a local reply like sluice's others (request id in the body and x-request-id).
  FilterStatus gatewayTimeout(FilterCallbacks& cb) {
    mode_ = Mode::Served;
    f_.counters().miss->inc();
    cb.setLogField(LogField::Cache, "miss");
    replying_ = true;
    base::HeaderMap h;
    h.add("x-cache", "MISS");
    cb.sendLocalReply(504, "", &h);
    return FilterStatus::Stop;
  }

  // Looks the key up and picks: serve (Stop), go to the origin (Continue; from a wake-up,
  // continueRequestAfter(0)), or wait for the request filling the key (Stop).
  FilterStatus decide(FilterCallbacks& cb, bool woken) {
    int64_t now = f_.now();
    entry_ = f_.store().lookup(key_, req_->headers);
    Use use = entry_ ? usable(rd_, *entry_, now) : Use::No;
    if (use == Use::Fresh) {
      CachedPtr e = entry_;
      serve(cb, e, "HIT", "hit", f_.counters().hit);
      return FilterStatus::Stop;
    }
    if (use == Use::Swr || use == Use::MaxStale) {
      // stale-while-revalidate: every request gets the stale copy at once; one refresh per key
      // runs in the background (not for only-if-cached: it must cause no upstream request).
      if (use == Use::Swr && !rd_.only_if_cached) refreshInBackground(cb);
      CachedPtr e = entry_;
      serve(cb, e, "STALE", "stale", f_.counters().stale);
      return FilterStatus::Stop;
    }
    if (rd_.only_if_cached) return gatewayTimeout(cb);
    if (head_) return toOrigin(cb, woken);  // a HEAD never fills (no body to store)
    if (!range_.empty()) {
      // A range the store cannot answer goes to the origin as it is (RFC 9111 §3.4 leaves
      // combining partial responses optional): a 206 passes unstored, a 200 is stored. It
      // neither fills for others nor revalidates (entry_ stays for stale-if-error only).
      mode_ = Mode::Origin;
      request_time_ = now;
      if (woken) {
        cb.continueRequestAfter(std::chrono::milliseconds(0));
        return FilterStatus::Stop;
      }
      return FilterStatus::Continue;
    }
    std::shared_ptr<Waker> waker = cb.waker();
    bool leader = f_.store().beginFill(
        key_, waker, [this](FilterCallbacks& c, bool failed) { onFillDone(c, failed); });
    if (leader) {
      filler_ = true;
      return toOrigin(cb, woken);
    }
    mode_ = Mode::Waiting;
    if (!woken) {
      wait_deadline_ = std::chrono::steady_clock::now() + f_.fillWait();
      cb.continueRequestAfter(f_.fillWait());  // the timeout: then it goes to the origin itself
    }
    return FilterStatus::Stop;
  }

  StoreContext storeContext() const { return {f_, req_->headers, authorized_, request_time_}; }

  // Starts the background refresh of the stale entry_ unless one is running for the key: a GET
  // with the stored validators (the client's own conditions do not go).
  void refreshInBackground(FilterCallbacks& cb) {
    if (!f_.store().beginRefresh(key_)) return;
    base::RequestHead head = *req_;
    head.method = "GET";
    for (const char* name :
         {"if-none-match", "if-modified-since", "if-match", "if-unmodified-since", "if-range"}) {
      head.headers.remove(name);
    }
    const CachedResponse& stale = *entry_;
    if (!stale.etag.empty()) head.headers.set("if-none-match", stale.etag);
    if (!stale.last_modified.empty()) head.headers.set("if-modified-since", stale.last_modified);
    bool validators = !stale.etag.empty() || !stale.last_modified.empty();
    cb.fetchInBackground(
        std::move(head), f_.store().largestEntry(),
        [f = &f_, key = key_, stale = entry_, request = req_->headers, authorized = authorized_,
         request_time = f_.now(), validators](std::optional<BackgroundResponse> r) {
          onRefreshed(*f, key, stale, request, authorized, request_time, validators, std::move(r));
          f->store().endRefresh(key);
        });
  }

  FilterStatus toOrigin(FilterCallbacks& cb, bool woken) {
    mode_ = Mode::Origin;
    request_time_ = f_.now();
    if (filler_ && entry_ && (!entry_->etag.empty() || !entry_->last_modified.empty())) {
      // Revalidating the stored copy: the client's own validators go, ours come in; on the
      // origin's 304 serve() evaluates the client's against the refreshed copy.
      req_->headers.remove("if-none-match");
      req_->headers.remove("if-modified-since");
      if (!entry_->etag.empty()) req_->headers.set("if-none-match", entry_->etag);
      if (!entry_->last_modified.empty()) {
        req_->headers.set("if-modified-since", entry_->last_modified);
      }
      validators_sent_ = true;
    }
    // Otherwise the client's conditionals go to the origin as they are (RFC 9111 §4.3.2: a cache
    // with no usable validator forwards them): its 304 passes through, unstored, and a 200 is
    // stored. Answering 304 from a fetched 200 instead would need the exchange to re-frame a
    // head it has already classed as having a body.
    if (woken) {
      cb.continueRequestAfter(std::chrono::milliseconds(0));  // re-arms the wait's timer
      return FilterStatus::Stop;
    }
    return FilterStatus::Continue;
  }

  // A fill this request waited for is over (on this request's worker).
  void onFillDone(FilterCallbacks& cb, bool failed) {
    if (mode_ != Mode::Waiting) return;
    if (std::chrono::steady_clock::now() >= wait_deadline_) return;  // its timer goes instead
    int64_t now = f_.now();
    CachedPtr e = f_.store().lookup(key_, req_->headers);
    if (e && usable(rd_, *e, now) == Use::Fresh) {
      serve(cb, e, "HIT", "hit", f_.counters().hit);
      return;
    }
    if (failed && e && staleIfErrorOk(rd_, *e, now)) {
      serve(cb, e, "STALE", "stale", f_.counters().stale);
      return;
    }
    // Nothing storable came of it: go to the origin now, without queueing behind another fill.
    entry_ = e;
    toOrigin(cb, true);
  }

  void releaseFill(bool failed) {
    if (!filler_) return;
    filler_ = false;
    f_.store().endFill(key_, failed);
  }

  bool clientConditionMatches(const CachedResponse& e) const {
    if (!client_inm_.empty()) return etagListMatches(client_inm_, e.etag);
    if (client_ims_.empty()) return false;
    std::optional<int64_t> ims = parseHttpDate(client_ims_);
    const std::string* lm_text = e.headers.get("last-modified");
    if (lm_text == nullptr) lm_text = e.headers.get("date");
    std::optional<int64_t> lm = lm_text ? parseHttpDate(*lm_text) : std::nullopt;
    return ims && lm && *lm <= *ims;
  }

  // Answers from `e` through sendLocalReply. The exchange may be finished and this filter
  // destroyed when it returns: callers return at once.
  void serve(FilterCallbacks& cb, CachedPtr e, const char* xcache, const char* log,
             base::Counter* counter) {
    mode_ = Mode::Served;
    serving_ = std::move(e);
    const CachedResponse& r = *serving_;
    if (counter != nullptr) counter->inc();
    cb.setLogField(LogField::Cache, log);
    replying_ = true;
    std::string age = std::to_string(r.ageAt(f_.now()) / 1000);  // floor (RFC 9111 §5.1)
    if (clientConditionMatches(r)) {
      strip_content_type_ = true;
      base::HeaderMap h;  // RFC 9110 §15.4.5: the fields a 200 would have carried that matter
      for (const char* name : {"cache-control", "content-location", "date", "etag", "expires",
                               "vary", "last-modified"}) {
        if (const std::string* v = r.headers.get(name)) h.add(name, *v);
      }
      h.add("age", std::move(age));
      h.add("x-cache", xcache);
      cb.sendLocalReply(304, "", &h);
      return;
    }
    strip_content_type_ = !r.headers.has("content-type");
    base::HeaderMap h = r.headers;
    h.add("age", std::move(age));
    h.add("x-cache", xcache);
    if (removesCdn()) h.remove("cdn-cache-control");
    // RFC 9110 §13.2.2: Range is evaluated last, on a 200 that would be sent, and only when
    // If-Range (if any) holds; otherwise the whole response goes.
    if (!range_.empty() && r.status == 200 &&
        (if_range_.empty() || ifRangeMatches(if_range_, r.headers))) {
      RangeSet set = parseRange(range_, r.body->size());
      if (set.outcome != RangeSet::Outcome::Ignore) {
        serveRange(cb, r, set, h);
        return;
      }
    }
    cb.sendLocalReply(r.status, *r.body, &h);
  }

  // A 206 (one part, or multipart/byteranges) or a 416 from the stored body; `h` holds the
  // stored fields with Age and x-cache.
  void serveRange(FilterCallbacks& cb, const CachedResponse& r, const RangeSet& set,
                  base::HeaderMap& h) {
    RangeReply reply = buildRangeReply(set, *r.body, r.headers.get("content-type"), makeBoundary());
    if (reply.status == 416) {
      strip_content_type_ = false;  // sluice's own error body, with its own type
      base::HeaderMap e;
      e.add("content-range", *reply.fields.get("content-range"));
      e.add("x-cache", *h.get("x-cache"));
      cb.sendLocalReply(416, "", &e);
      return;
    }
    if (reply.multipart) strip_content_type_ = false;
    for (const base::Header& f : reply.fields) h.set(f.name, f.value);
    cb.sendLocalReply(206, reply.body, &h);
  }

  const CacheFactory& f_;
  base::RequestHead* req_ = nullptr;  // the exchange's request head; lives as long as the request
  std::string key_;
  Mode mode_ = Mode::Idle;
  CachedPtr entry_;    // the stored variant found (a stale one: for 304 and stale-if-error)
  CachedPtr serving_;  // what a local reply is served from (keeps the body alive meanwhile)
  std::unique_ptr<CachedResponse> pending_;
  std::string body_;
  std::string client_inm_;
  std::string client_ims_;
  int64_t request_time_ = 0;
  RequestDirectives rd_;
  std::string range_;     // the request's Range (GET only)
  std::string if_range_;  // and If-Range
  std::chrono::steady_clock::time_point wait_deadline_;
  bool filler_ = false;
  bool validators_sent_ = false;
  bool replying_ = false;
  bool storing_ = false;
  bool invalidate_ = false;
  bool head_ = false;
  bool authorized_ = false;
  bool strip_content_type_ = false;  // the reply being served has no Content-Type of its own
};

}  // namespace

std::unique_ptr<Filter> CacheFactory::create() const {
  return std::make_unique<CacheFilter>(*this);
}

}  // namespace sluice::filters

namespace sluice::filters {

std::shared_ptr<const FilterFactory> buildCacheFactory(const FilterBuildContext& ctx,
                                                       const config::CacheFilter& cfg) {
  base::Gauge* bytes =
      &ctx.metrics.gauge("sluice_cache_bytes", "Bytes held in the response cache.").with({});
  auto opt = [](const std::optional<config::Duration>& d) {
    return d ? std::to_string(d->count()) : std::string("rfc");
  };
  // Entries were stored under these settings (their lifetimes come from them).
  std::string key = "cache/" + ctx.route.name + "/" + std::to_string(ctx.index) + "/" +
                    std::to_string(cfg.max_bytes) + "/" + opt(cfg.ttl) + "/" +
                    std::to_string(cfg.stale_while_revalidate.count()) + "/" +
                    std::to_string(cfg.stale_if_error.count()) + "/" + opt(cfg.negative_ttl) + "/" +
                    std::to_string(cfg.ttl_jitter) + "/" + std::to_string(cfg.heuristic_fraction) +
                    "/" + std::to_string(cfg.heuristic_max.count()) + "/" +
                    std::to_string(static_cast<int>(cfg.cdn_cache_control));
  base::Gauge* entries =
      &ctx.metrics.gauge("sluice_cache_entries", "Responses held in the response cache.").with({});
  base::Counter* evictions =
      &ctx.metrics
           .counter("sluice_cache_evictions_total",
                    "Cached responses dropped to keep the cache within max_bytes.")
           .with({});
  auto store = ctx.state.getOrCreate<CacheStore>(
      key, [&] { return std::make_shared<CacheStore>(cfg.max_bytes, bytes, entries, evictions); });
  ctx.state
      .getOrCreate<CacheRegistry>(kCacheRegistryKey,
                                  [] { return std::make_shared<CacheRegistry>(); })
      ->add(store);
  base::CounterFamily& requests = ctx.metrics.counter(
      "sluice_cache_requests_total", "Cache lookups, by route and result.", {"route", "result"});
  const std::string& r = ctx.route.name;
  CacheFactory::Counters counters{&requests.with({r, "hit"}), &requests.with({r, "miss"}),
                                  &requests.with({r, "stale"}), &requests.with({r, "bypass"})};
  return std::make_shared<CacheFactory>(cfg, std::move(store), counters);
}

}  // namespace sluice::filters
