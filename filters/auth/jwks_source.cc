#include "filters/auth/jwks_source.h"

#include "config/jwks.h"

namespace sluice::filters::auth {

namespace {
constexpr auto kRetryAfterFailure = std::chrono::seconds(5);
constexpr auto kEarlyInterval = std::chrono::minutes(1);
constexpr auto kFetchTimeout = std::chrono::seconds(5);
constexpr size_t kMaxJwksBytes = 1 << 20;
}  // namespace

KeySet keysFromJwks(const std::vector<config::Jwk>& jwks) {
  KeySet out;
  for (const config::Jwk& j : jwks) {
    std::string why;
    if (auto k = VerifyKey::fromJwk(j, &why)) out.push_back(std::move(k));
  }
  return out;
}

JwksSource::JwksSource(const std::string& url, std::string upstream,
                       std::chrono::milliseconds refresh)
    : upstream_(std::move(upstream)), refresh_(refresh) {
  size_t scheme = url.find("://");
  std::string rest = scheme == std::string::npos ? url : url.substr(scheme + 3);
  size_t slash = rest.find('/');
  host_ = rest.substr(0, slash);
  target_ = slash == std::string::npos ? "/" : rest.substr(slash);
}

std::shared_ptr<const KeySet> JwksSource::keys() const {
  std::lock_guard lock(mu_);
  return keys_;
}

int JwksSource::fetched() const {
  std::lock_guard lock(mu_);
  return fetched_;
}

bool JwksSource::dueLocked(Clock::time_point now, bool early) const {
  if (!last_attempt_) return true;
  if (early) return !last_early_ || now - *last_early_ >= kEarlyInterval;
  if (!keys_) return now - *last_attempt_ >= kRetryAfterFailure;
  return now - *fetched_at_ >= refresh_ && now - *last_attempt_ >= kRetryAfterFailure;
}

bool JwksSource::refresh(FilterCallbacks& cb, bool early, std::shared_ptr<Waker> waker,
                         std::function<void(FilterCallbacks&)> resume) {
  Clock::time_point now = Clock::now();
  bool fetch = false;
  {
    std::lock_guard lock(mu_);
    if (!in_flight_) {
      if (!dueLocked(now, early)) return false;
      in_flight_ = true;
      fetch = true;
      last_attempt_ = now;
      if (early) last_early_ = now;
    }
    waiters_.emplace_back(std::move(waker), std::move(resume));
  }
  if (fetch) start(cb, now, early);
  return true;
}

void JwksSource::refreshInBackground(FilterCallbacks& cb) {
  Clock::time_point now = Clock::now();
  {
    std::lock_guard lock(mu_);
    if (in_flight_ || !keys_ || !dueLocked(now, false)) return;
    in_flight_ = true;
    last_attempt_ = now;
  }
  start(cb, now, false);
}

void JwksSource::start(FilterCallbacks& cb, Clock::time_point, bool) {
  base::RequestHead head;
  head.method = "GET";
  head.target = target_;
  head.host = host_;
  head.headers.add("accept", "application/json, application/jwk-set+json");
  // `done` runs on this worker even when the request that started it has ended; the source is
  // kept alive by it (the factory may be gone after a reload).
  cb.fetchFromUpstream(upstream_, std::move(head), kMaxJwksBytes,
                       std::chrono::duration_cast<std::chrono::milliseconds>(kFetchTimeout),
                       [self = shared_from_this()](std::optional<BackgroundResponse> answer) {
                         self->onFetched(std::move(answer));
                       });
}

void JwksSource::onFetched(std::optional<BackgroundResponse> answer) {
  std::shared_ptr<const KeySet> fresh;
  if (answer && answer->status == 200) {
    std::vector<config::Jwk> jwks;
    if (!config::parseJwks(answer->body, &jwks)) {
      auto set = std::make_shared<KeySet>(keysFromJwks(jwks));
      if (!set->empty()) fresh = std::move(set);
    }
  }
  std::vector<std::pair<std::shared_ptr<Waker>, std::function<void(FilterCallbacks&)>>> waiters;
  {
    std::lock_guard lock(mu_);
    in_flight_ = false;
    if (fresh) {  // a failed fetch keeps the set there was
      keys_ = std::move(fresh);
      fetched_at_ = Clock::now();
      ++fetched_;
    }
    waiters.swap(waiters_);
  }
  for (auto& [waker, resume] : waiters) {
    if (waker) waker->wake(std::move(resume));
  }
}

}  // namespace sluice::filters::auth
