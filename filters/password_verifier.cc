#include "filters/password_verifier.h"

#include <crypt.h>
#include <openssl/crypto.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <memory>

#include "filters/auth/sha256.h"

namespace sluice::filters {

namespace {
// sluice_auth_password_checks_total by result (Match, Mismatch, Error); null until set.
std::atomic<base::Counter*> g_checks[3] = {nullptr, nullptr, nullptr};
}  // namespace

void PasswordVerifier::countChecksIn(base::CounterFamily& family) {
  g_checks[0] = &family.with({"match"});
  g_checks[1] = &family.with({"mismatch"});
  g_checks[2] = &family.with({"error"});
}

PasswordVerifier& PasswordVerifier::shared() {
  static PasswordVerifier* v = [] {
    size_t cores = std::max(1u, std::thread::hardware_concurrency());
    return new PasswordVerifier(std::clamp<size_t>(cores / 2, 1, 4), 32, 10000);
  }();
  return *v;
}

PasswordVerifier::PasswordVerifier(size_t threads, size_t max_queued, size_t max_cached)
    : max_queued_(max_queued), max_cached_(max_cached) {
  for (size_t i = 0; i < threads; ++i) threads_.emplace_back([this] { run(); });
}

PasswordVerifier::~PasswordVerifier() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  for (std::thread& t : threads_) t.join();
}

std::string PasswordVerifier::cacheKey(std::string_view user, std::string_view password,
                                       std::string_view hash) {
  // The stored hash is part of the key: a changed htpasswd entry invalidates what was cached.
  std::string input;
  input.reserve(user.size() + password.size() + hash.size() + 2);
  input.append(user).push_back('\0');
  input.append(password).push_back('\0');
  input.append(hash);
  auth::Sha256Digest md;
  bool ok = auth::sha256(input, md);
  OPENSSL_cleanse(input.data(), input.size());
  if (!ok) return {};
  return std::string(reinterpret_cast<const char*>(md.data()), md.size());
}

bool PasswordVerifier::cached(std::string_view user, std::string_view password,
                              std::string_view hash) {
  std::string key = cacheKey(user, password, hash);
  if (key.empty()) return false;
  std::lock_guard lock(mu_);
  return cache_.count(key) != 0;
}

size_t PasswordVerifier::cachedCount() const {
  std::lock_guard lock(mu_);
  return cache_.size();
}

void PasswordVerifier::remember(const std::string& key) {
  if (key.empty()) return;
  std::lock_guard lock(mu_);
  if (!cache_.insert(key).second) return;
  cache_order_.push_back(key);
  while (cache_order_.size() > max_cached_) {
    cache_.erase(cache_order_.front());
    cache_order_.pop_front();
  }
}

bool PasswordVerifier::submit(std::string user, std::string password, std::string hash, Done done,
                              bool cache) {
  {
    std::lock_guard lock(mu_);
    if (jobs_.size() >= max_queued_ || stopping_) return false;
    jobs_.push_back(
        Job{std::move(user), std::move(password), std::move(hash), std::move(done), cache});
  }
  cv_.notify_one();
  return true;
}

PasswordVerifier::Result PasswordVerifier::verify(const std::string& password,
                                                  const std::string& hash) {
  // crypt_data is ~32 KiB: one per thread, zeroed once (libxcrypt asks for that before first
  // use; it may keep state between calls on the same object).
  thread_local std::unique_ptr<crypt_data> data = std::make_unique<crypt_data>();
  const char* out = crypt_rn(password.c_str(), hash.c_str(), data.get(), sizeof(crypt_data));
  if (out == nullptr) return Result::Error;
  size_t n = std::strlen(out);
  bool same = n == hash.size() && CRYPTO_memcmp(out, hash.data(), n) == 0;
  return same ? Result::Match : Result::Mismatch;
}

void PasswordVerifier::run() {
  // Below the workers: under a flood of wrong passwords the loops keep their CPU. Best effort
  // (an unprivileged process may always lower its own priority). Not SCHED_IDLE: measured with
  // tests/bench/auth_flood.py it made the workers' p99 worse (24-62 ms against 4.7-5.8 ms at nice
  // 10), probably as a pool thread starved while holding mu_ keeps a worker waiting in
  // cached()/submit().
  (void)setpriority(PRIO_PROCESS, static_cast<id_t>(syscall(SYS_gettid)), 10);
  while (true) {
    Job job;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [this] { return stopping_ || !jobs_.empty(); });
      if (stopping_) return;
      job = std::move(jobs_.front());
      jobs_.pop_front();
    }
    Result r = verify(job.password, job.hash);
    if (base::Counter* c = g_checks[static_cast<int>(r)].load()) c->inc();
    if (r == Result::Match && job.cache) remember(cacheKey(job.user, job.password, job.hash));
    OPENSSL_cleanse(job.password.data(), job.password.size());
    job.done(r);
  }
}

}  // namespace sluice::filters
