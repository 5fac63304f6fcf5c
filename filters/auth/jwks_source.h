// The key set of a jwt filter with `jwks: {url, upstream, refresh}`: fetched through the named
// upstream (FilterCallbacks::fetchFromUpstream, the path every request takes) by the request
// that finds it missing or older than `refresh`, and early, at most once a minute, when a token
// names a kid the set lacks. One per filter config (shared by the workers): the current set is
// an immutable snapshot swapped under a mutex. Requests that wait for a fetch are woken through
// their own Waker when it ends, however it ends.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "filters/auth/jwt_verify.h"
#include "filters/filter.h"

namespace sluice::filters::auth {

using KeySet = std::vector<std::shared_ptr<const VerifyKey>>;

class JwksSource : public std::enable_shared_from_this<JwksSource> {
 public:
  // `url` is http(s)://host[:port]/path (the loader checked the scheme); the fetch goes to
  // `upstream` with that path and Host.
  JwksSource(const std::string& url, std::string upstream, std::chrono::milliseconds refresh);

  // The current set; null before the first fetch brought one. Any thread.
  std::shared_ptr<const KeySet> keys() const;

  // Starts a fetch through `cb` when one is due: no set yet or the set is older than `refresh`
  // (a failed fetch is tried again after 5 s), or `early` (an unknown kid) and no early fetch ran
  // in the last minute. Then, and also when a fetch is already running, `resume` is queued to run
  // through `waker` once it ends, and true is returned (the caller waits). Worker thread.
  bool refresh(FilterCallbacks& cb, bool early, std::shared_ptr<Waker> waker,
               std::function<void(FilterCallbacks&)> resume);
  // Starts a due fetch without waiting for it (a stale set still serves meanwhile); nothing
  // before a first set was fetched (a request then waits through refresh()).
  void refreshInBackground(FilterCallbacks& cb);

  // How many fetches ended with a usable set (tests).
  int fetched() const;

 private:
  using Clock = std::chrono::steady_clock;
  bool dueLocked(Clock::time_point now, bool early) const;
  void start(FilterCallbacks& cb, Clock::time_point now, bool early);
  void onFetched(std::optional<BackgroundResponse> answer);

  std::string upstream_, host_, target_;
  std::chrono::milliseconds refresh_;
  mutable std::mutex mu_;
  std::shared_ptr<const KeySet> keys_;
  bool in_flight_ = false;
  std::optional<Clock::time_point> last_attempt_, last_early_, fetched_at_;
  int fetched_ = 0;
  std::vector<std::pair<std::shared_ptr<Waker>, std::function<void(FilterCallbacks&)>>> waiters_;
};

// The keys of a parsed JWK set that OpenSSL accepts (the others are skipped).
KeySet keysFromJwks(const std::vector<config::Jwk>& jwks);

}  // namespace sluice::filters::auth
