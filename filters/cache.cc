#include "filters/cache.h"

#include <random>

#include "filters/cache_control.h"

namespace sluice::filters {

int64_t systemWallClockMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

CacheFactory::CacheFactory(const config::CacheFilter& cfg, std::shared_ptr<CacheStore> store,
                           Counters counters, WallClock clock,
                           std::chrono::milliseconds fill_wait)
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

bool skippedField(std::string_view n) {
  return n == "content-length" || n == "age" || n == "x-cache" || n == "x-request-id" ||
         n == "transfer-encoding" || n == "connection" || n == "keep-alive";
}

// Stored fields: one per name (repeated ones joined with ", "), so a local reply's `extra`
// (which sets field by field) reproduces them.
void copyStoredFields(const HeaderMap& from, HeaderMap& to) {
  for (const Header& h : from) {
    if (skippedField(h.name)) continue;
    if (const std::string* old = to.get(h.name)) {
      to.set(h.name, *old + ", " + h.value);
    } else {
      to.add(h.name, h.value);
    }
  }
}

// What storing a response needs to know of its request.
struct StoreContext {
  const CacheFactory& f;
  const HeaderMap& request;  // the request's fields (Vary values)
  bool authorized;           // the request carried Authorization
  int64_t request_time;      // wall clock when it went to the origin
};

// Freshness of `e` from its headers (RFC 9111 §4.2), with `status` and the config's ttl as the
// heuristic. False when it must not be stored.
bool computeFreshness(const StoreContext& c, CachedResponse& e, const CacheControl& cc,
                      int64_t now) {
  std::optional<int64_t> date;
  if (const std::string* d = e.headers.get("date")) date = parseHttpDate(*d);
  std::optional<int64_t> lifetime = explicitLifetime(cc, e.headers, date);
  const config::CacheFilter& cfg = c.f.config();
  if (!lifetime) {
    if (!heuristicallyCacheable(e.status) && !cc.is_public) return false;
    int64_t ttl = e.status == 404 || e.status == 410 ? cfg.negative_ttl.count() : cfg.ttl.count();
    if (ttl <= 0) return false;
    lifetime = ttl;
  }
  if (cc.no_cache) lifetime = 0;
  if (const std::string* v = e.headers.get("etag")) e.etag = *v;
  if (const std::string* v = e.headers.get("last-modified")) e.last_modified = *v;
  if (*lifetime <= 0 && e.etag.empty() && e.last_modified.empty()) return false;
  e.lifetime_ms = c.f.jittered(*lifetime);
  e.swr_ms = cc.stale_while_revalidate ? *cc.stale_while_revalidate * 1000
                                       : cfg.stale_while_revalidate.count();
  e.sie_ms = cc.stale_if_error ? *cc.stale_if_error * 1000 : cfg.stale_if_error.count();
  e.must_revalidate = cc.must_revalidate || cc.no_cache;
  ResponseTiming t;
  t.request_time_ms = c.request_time;
  t.response_time_ms = now;
  t.date_s = date;
  e.initial_age_ms = correctedInitialAge(t);  // the Age field is folded in by the caller
  e.response_time_ms = now;
  return true;
}

// The entry to store for response `head` (its body still to come); null when it must not be
// stored.
std::unique_ptr<CachedResponse> prepareEntry(const StoreContext& c, const ResponseHead& head,
                                             int64_t now) {
  int s = head.status;
  if (s < 200 || s == 206 || s == 304) return nullptr;
  CacheControl cc = parseCacheControl(head.headers);
  if (cc.no_store || cc.is_private) return nullptr;
  if (c.authorized && !cc.is_public && !cc.s_maxage && !cc.must_revalidate) return nullptr;
  if (head.headers.has("set-cookie")) return nullptr;  // never share one client's cookie
  auto e = std::make_unique<CachedResponse>();
  e->status = s;
  copyStoredFields(head.headers, e->headers);
  if (const std::string* vary = e->headers.get("vary")) {
    if (headerHasToken(*vary, "*")) return nullptr;
    std::string_view rest = *vary;
    while (!rest.empty()) {
      size_t comma = rest.find(',');
      std::string name(rest.substr(0, comma));
      rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
      while (!name.empty() && (name.front() == ' ' || name.front() == '\t')) name.erase(0, 1);
      while (!name.empty() && (name.back() == ' ' || name.back() == '\t')) name.pop_back();
      if (name.empty()) continue;
      toLowerInPlace(name);
      std::string value = varyValue(name, c.request);
      e->vary.emplace_back(std::move(name), std::move(value));
    }
  }
  if (!computeFreshness(c, *e, cc, now)) return nullptr;
  if (const std::string* age = head.headers.get("age")) {
    ResponseTiming t;
    t.request_time_ms = c.request_time;
    t.response_time_ms = now;
    if (const std::string* d = e->headers.get("date")) t.date_s = parseHttpDate(*d);
    int64_t a = 0;
    for (char ch : *age) {
      if (ch < '0' || ch > '9') break;
      a = a * 10 + (ch - '0');
      if (a > 2147483648LL) break;
    }
    t.age_s = a;
    e->initial_age_ms = correctedInitialAge(t);
  }
  return e;
}

// RFC 9111 §4.3.4: a 304 updates the stored fields, then freshness is computed anew.
void refreshEntry(const StoreContext& c, CachedResponse& e, const HeaderMap& fields, int64_t now) {
  for (const Header& h : fields) {
    if (skippedField(h.name) || h.name == "content-encoding" || h.name == "content-type") {
      continue;
    }
    // A compressed variant carries a weakened ETag; the origin's strong one would lie.
    if (h.name == "etag" && e.etag.rfind("W/", 0) == 0 && h.value.rfind("W/", 0) != 0) continue;
    e.headers.set(h.name, h.value);
  }
  CacheControl cc = parseCacheControl(e.headers);
  if (!computeFreshness(c, e, cc, now)) e.lifetime_ms = 0;
}

std::string_view fieldOr(const CachedResponse& e, std::string_view name) {
  const std::string* v = e.headers.get(name);
  return v != nullptr ? std::string_view(*v) : std::string_view{};
}

// A stale-while-revalidate refresh is over (on the worker that started it; the request that
// started it may be gone). `stale` is the variant it set out to refresh.
void onRefreshed(const CacheFactory& f, const std::string& key, const CachedPtr& stale,
                 const HeaderMap& request, bool authorized, int64_t request_time,
                 bool validators_sent, std::optional<BackgroundResponse> r) {
  // Failed, 5xx, or too large: the stale copy stays (for stale_if_error, or until a client's
  // request past the window goes to the origin itself).
  if (!r || r->status >= 500) return;
  CachedPtr current = f.store().lookup(key, request);
  if (current != stale) return;  // replaced or purged meanwhile: what is there stays
  StoreContext c{f, request, authorized, request_time};
  int64_t now = f.now();
  if (r->status == 304) {
    if (!validators_sent) return;
    auto fresh = std::make_shared<CachedResponse>(*stale);
    refreshEntry(c, *fresh, r->headers, now);
    f.store().insert(key, std::move(fresh));
    return;
  }
  ResponseHead head;
  head.status = r->status;
  head.headers = std::move(r->headers);
  std::unique_ptr<CachedResponse> e = prepareEntry(c, head, now);
  // Not storable now, or not in the form of the stale variant (a filter after `cache` in the
  // chain, such as gzip, transformed what was stored, and a background response passes no
  // filter): the stale variant goes, so the next request fills it through the route's filters.
  if (!e || e->vary != stale->vary ||
      fieldOr(*e, "content-encoding") != fieldOr(*stale, "content-encoding")) {
    f.store().eraseVariant(key, stale);
    return;
  }
  e->body = std::make_shared<const std::string>(std::move(r->body));
  f.store().insert(key, std::move(e));
}

enum class Mode { Idle, Bypass, Waiting, Origin, Served };

class CacheFilter final : public Filter {
 public:
  explicit CacheFilter(const CacheFactory& f) : f_(f) {}
  ~CacheFilter() override { releaseFill(true); }

  FilterStatus onRequestHeaders(RequestHead& head, FilterCallbacks& cb) override {
    req_ = &head;
    head_ = head.method == "HEAD";
    key_.assign(cb.info().original_host);
    key_.append(cb.info().original_target);
    if (head.method != "GET" && !head_) {
      // Unsafe methods invalidate what is stored for their target (RFC 9111 §4.4).
      invalidate_ = head.method != "OPTIONS" && head.method != "TRACE";
      return bypass(cb);
    }
    CacheControl rcc = parseCacheControl(head.headers);
    if (rcc.no_store || head.headers.has("range")) return bypass(cb);
    if (!head.headers.has("cache-control")) {
      if (const std::string* pragma = head.headers.get("pragma")) {
        rcc.no_cache = headerHasToken(*pragma, "no-cache");
      }
    }
    req_no_cache_ = rcc.no_cache || (rcc.max_age && *rcc.max_age == 0);
    if (rcc.max_age) req_max_age_ms_ = *rcc.max_age * 1000;
    authorized_ = head.headers.has("authorization");
    if (const std::string* v = head.headers.get("if-none-match")) client_inm_ = *v;
    if (const std::string* v = head.headers.get("if-modified-since")) client_ims_ = *v;
    return decide(cb, false);
  }

  FilterStatus onResponseHeaders(ResponseHead& head, FilterCallbacks& cb) override {
    if (replying_) return FilterStatus::Continue;  // our own reply passing through
    if (mode_ == Mode::Bypass) {
      if (invalidate_ && head.status < 400) f_.store().purge(key_, false);
      head.headers.set("x-cache", "BYPASS");
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
    if (failed && entry_ && staleIfErrorOk(*entry_, now)) {
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
  FilterStatus bypass(FilterCallbacks& cb) {
    mode_ = Mode::Bypass;
    f_.counters().bypass->inc();
    cb.setLogField(LogField::Cache, "bypass");
    return FilterStatus::Continue;
  }

  bool staleIfErrorOk(const CachedResponse& e, int64_t now) const {
    return !e.must_revalidate && e.ageAt(now) < e.lifetime_ms + e.sie_ms;
  }

  // Looks the key up and picks: serve (Stop), go to the origin (Continue; from a wake-up,
  // continueRequestAfter(0)), or wait for the request filling the key (Stop).
  FilterStatus decide(FilterCallbacks& cb, bool woken) {
    int64_t now = f_.now();
    entry_ = f_.store().lookup(key_, req_->headers);
    if (entry_) {
      int64_t age = entry_->ageAt(now);
      bool fresh = age < entry_->lifetime_ms && !req_no_cache_ &&
                   (req_max_age_ms_ < 0 || age <= req_max_age_ms_);
      if (fresh) {
        CachedPtr e = entry_;
        serve(cb, e, "HIT", "hit", f_.counters().hit);
        return FilterStatus::Stop;
      }
      bool may_serve_stale = !entry_->must_revalidate && !req_no_cache_ &&
                             age < entry_->lifetime_ms + entry_->swr_ms;
      if (may_serve_stale) {
        // stale-while-revalidate: every request gets the stale copy at once; one refresh per
        // key runs in the background.
        refreshInBackground(cb);
        CachedPtr e = entry_;
        serve(cb, e, "STALE", "stale", f_.counters().stale);
        return FilterStatus::Stop;
      }
    }
    if (head_) return toOrigin(cb, woken);  // a HEAD never fills (no body to store)
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
    RequestHead head = *req_;
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
          onRefreshed(*f, key, stale, request, authorized, request_time, validators,
                      std::move(r));
          f->store().endRefresh(key);
        });
  }

  FilterStatus toOrigin(FilterCallbacks& cb, bool woken) {
    mode_ = Mode::Origin;
    request_time_ = f_.now();
    if (filler_) {
      // The origin must answer with something storable: the client's own validators go, ours
      // (from the stale copy) come in.
      req_->headers.remove("if-none-match");
      req_->headers.remove("if-modified-since");
      if (entry_ && !entry_->etag.empty()) req_->headers.set("if-none-match", entry_->etag);
      if (entry_ && !entry_->last_modified.empty()) {
        req_->headers.set("if-modified-since", entry_->last_modified);
      }
      validators_sent_ = entry_ && (!entry_->etag.empty() || !entry_->last_modified.empty());
    }
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
    if (e && e->freshAt(now) && !req_no_cache_) {
      serve(cb, e, "HIT", "hit", f_.counters().hit);
      return;
    }
    if (failed && e && staleIfErrorOk(*e, now)) {
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
             Counter* counter) {
    mode_ = Mode::Served;
    serving_ = std::move(e);
    const CachedResponse& r = *serving_;
    if (counter != nullptr) counter->inc();
    cb.setLogField(LogField::Cache, log);
    replying_ = true;
    std::string age = std::to_string(r.ageAt(f_.now()) / 1000);
    if (clientConditionMatches(r)) {
      HeaderMap h;  // RFC 9110 §15.4.5: the fields a 200 would have carried that matter
      for (const char* name : {"cache-control", "content-location", "date", "etag", "expires",
                               "vary", "last-modified", "content-type", "content-encoding"}) {
        if (const std::string* v = r.headers.get(name)) h.add(name, *v);
      }
      h.add("age", std::move(age));
      h.add("x-cache", xcache);
      cb.sendLocalReply(304, "", &h);
      return;
    }
    HeaderMap h = r.headers;
    h.add("age", std::move(age));
    h.add("x-cache", xcache);
    cb.sendLocalReply(r.status, *r.body, &h);
  }

  const CacheFactory& f_;
  RequestHead* req_ = nullptr;  // the exchange's request head; lives as long as the request
  std::string key_;
  Mode mode_ = Mode::Idle;
  CachedPtr entry_;    // the stored variant found (a stale one: for 304 and stale-if-error)
  CachedPtr serving_;  // what a local reply is served from (keeps the body alive meanwhile)
  std::unique_ptr<CachedResponse> pending_;
  std::string body_;
  std::string client_inm_;
  std::string client_ims_;
  int64_t request_time_ = 0;
  int64_t req_max_age_ms_ = -1;
  std::chrono::steady_clock::time_point wait_deadline_;
  bool filler_ = false;
  bool validators_sent_ = false;
  bool replying_ = false;
  bool storing_ = false;
  bool invalidate_ = false;
  bool head_ = false;
  bool authorized_ = false;
  bool req_no_cache_ = false;
};

}  // namespace

std::unique_ptr<Filter> CacheFactory::create() const {
  return std::make_unique<CacheFilter>(*this);
}

}  // namespace sluice::filters

namespace sluice::filters {

std::shared_ptr<const FilterFactory> buildCacheFactory(const FilterBuildContext& ctx,
                                                       const config::CacheFilter& cfg) {
  Gauge* bytes = &ctx.metrics.gauge("sluice_cache_bytes", "Bytes held in the response cache.")
                      .with({});
  std::string key = "cache/" + ctx.route.name + "/" + std::to_string(ctx.index) + "/" +
                    std::to_string(cfg.max_bytes) + "/" + std::to_string(cfg.ttl.count()) + "/" +
                    std::to_string(cfg.stale_while_revalidate.count()) + "/" +
                    std::to_string(cfg.stale_if_error.count()) + "/" +
                    std::to_string(cfg.negative_ttl.count()) + "/" + std::to_string(cfg.ttl_jitter);
  auto store = ctx.state.getOrCreate<CacheStore>(
      key, [&] { return std::make_shared<CacheStore>(cfg.max_bytes, bytes); });
  ctx.state
      .getOrCreate<CacheRegistry>(kCacheRegistryKey,
                                  [] { return std::make_shared<CacheRegistry>(); })
      ->add(store);
  CounterFamily& requests = ctx.metrics.counter(
      "sluice_cache_requests_total", "Cache lookups, by route and result.", {"route", "result"});
  const std::string& r = ctx.route.name;
  CacheFactory::Counters counters{&requests.with({r, "hit"}), &requests.with({r, "miss"}),
                                  &requests.with({r, "stale"}), &requests.with({r, "bypass"})};
  return std::make_shared<CacheFactory>(cfg, std::move(store), counters);
}

}  // namespace sluice::filters
