// Checks passwords against crypt(3) hashes (bcrypt $2y$/$2b$/$2a$, SHA-crypt $5$/$6$, through
// libxcrypt's crypt_rn) away from the worker loops: a bcrypt check costs milliseconds to tens
// of milliseconds of CPU, which on a loop thread would stall every other request it serves.
// One small pool of threads serves every worker and route (started on first use, at a lower
// CPU priority than the workers); a bounded cache remembers the checks that succeeded, so a
// returning client costs one SHA-256 and a hash-set lookup. Failures are never cached.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_set>
#include <vector>

#include "filters/base/metrics_registry.h"

namespace sluice::filters {

class PasswordVerifier {
 public:
  enum class Result { Match, Mismatch, Error };
  using Done = std::function<void(Result)>;

  // The process-wide verifier: max(1, min(4, cores / 2)) threads, at most 32 checks waiting
  // (a flood of guesses gets 503 rather than queueing every login behind it for seconds),
  // 10000 cached successes. Never destroyed (its threads end with the process).
  static PasswordVerifier& shared();

  PasswordVerifier(size_t threads, size_t max_queued, size_t max_cached);
  ~PasswordVerifier();  // stops and joins the threads; checks still waiting are dropped
  PasswordVerifier(const PasswordVerifier&) = delete;
  PasswordVerifier& operator=(const PasswordVerifier&) = delete;

  // Whether `password` was verified against `hash` for `user` before and is still cached. Any
  // thread.
  bool cached(std::string_view user, std::string_view password, std::string_view hash);

  // Queues a check; `done` runs once on a pool thread (a Match is cached before it runs, unless
  // `cache` is false: a decoy check). False, with nothing queued and `done` never called, when
  // max_queued checks are waiting already. Any thread.
  bool submit(std::string user, std::string password, std::string hash, Done done,
              bool cache = true);

  // The check itself, on the calling thread (the pool's; tests). Match when crypt_rn of
  // `password` with `hash` as the setting gives `hash` back (compared in constant time); Error
  // when libcrypt refuses the setting.
  static Result verify(const std::string& password, const std::string& hash);

  size_t cachedCount() const;

  // Counts every check the pool runs (not the cache hits) in
  // sluice_auth_password_checks_total{result}: the cost a flood of guesses makes visible, and
  // how tests see that a repeat was served from the cache. Set once at start (main thread).
  static void countChecksIn(base::CounterFamily& family);

 private:
  struct Job {
    std::string user, password, hash;
    Done done;
    bool cache = true;
  };
  static std::string cacheKey(std::string_view user, std::string_view password,
                              std::string_view hash);
  void remember(const std::string& key);
  void run();

  const size_t max_queued_;
  const size_t max_cached_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Job> jobs_;
  bool stopping_ = false;
  std::unordered_set<std::string> cache_;  // SHA-256 of user, password and hash
  std::deque<std::string> cache_order_;    // oldest first, for eviction
  std::vector<std::thread> threads_;
};

}  // namespace sluice::filters
