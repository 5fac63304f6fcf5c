// The server-side TLS session cache behind session-ID resumption (TLS 1.2 clients that do not
// use tickets): one process-wide store of serialized sessions, shared by every worker and every
// config version, so a client resumes on whichever worker takes its next connection and after a
// reload. OpenSSL's own per-SSL_CTX cache is switched off; each listener context reaches this
// store through the new/get/remove session callbacks.
#pragma once

#include <openssl/ssl.h>

#include <cstddef>
#include <cstdint>
#include <list>
#include <mutex>
#include <string>
#include <unordered_map>

namespace sluice::proxy {

// Session id -> serialized session, bounded by count and bytes, oldest evicted first, expired
// entries dropped. Sharded by id so that workers finishing handshakes at once rarely meet on a
// lock. Time comes in as a parameter (seconds) so that tests are exact. Thread-safe.
class TlsSessionStore {
 public:
  static constexpr size_t kShards = 16;
  static constexpr size_t kMaxSessions = 20480;          // in all shards together
  static constexpr size_t kMaxBytes = 10 * 1024 * 1024;  // serialized sessions, all shards
  static constexpr size_t kMaxSessionBytes = 8192;       // larger sessions are not kept

  // Keeps `session` (DER) under `id` until `expires` (replacing an entry with the same id);
  // false when it is empty or larger than kMaxSessionBytes. Evicts expired and then the oldest
  // entries of the shard to stay within its share of the bounds.
  bool put(const std::string& id, std::string session, int64_t expires, int64_t now);
  // The session stored under `id`, if it has not expired ("" otherwise).
  std::string get(const std::string& id, int64_t now);
  void remove(const std::string& id);
  size_t size();
  size_t bytes();

 private:
  struct Entry {
    std::string id;
    std::string session;
    int64_t expires;
  };
  struct Shard {
    std::mutex mu;
    std::list<Entry> order;  // oldest first
    std::unordered_map<std::string, std::list<Entry>::iterator> by_id;
    size_t bytes = 0;
  };
  Shard& shardOf(const std::string& id);
  static void erase(Shard& s, std::list<Entry>::iterator it);

  Shard shards_[kShards];
};

// Points `ctx` (a listener's server context) at the process-wide store: SSL_SESS_CACHE_SERVER
// with no internal store, and the callbacks. Only TLS 1.2 sessions are stored: TLS 1.3 resumes
// with stateless tickets that carry the session themselves. Called on the main thread while a
// snapshot is built.
void useSharedSessionCache(SSL_CTX* ctx);

// The store all listener contexts share (exposed for tests and for the cache's size).
TlsSessionStore& sharedSessionStore();

}  // namespace sluice::proxy
