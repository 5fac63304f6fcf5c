#include "proxy/tls/tls_session_cache.h"

#include <openssl/err.h>

#include <ctime>
#include <functional>

namespace sluice::proxy {

TlsSessionStore::Shard& TlsSessionStore::shardOf(const std::string& id) {
  return shards_[std::hash<std::string>{}(id) % kShards];
}

void TlsSessionStore::erase(Shard& s, std::list<Entry>::iterator it) {
  s.bytes -= it->id.size() + it->session.size();
  s.by_id.erase(it->id);
  s.order.erase(it);
}

bool TlsSessionStore::put(const std::string& id, std::string session, int64_t expires,
                          int64_t now) {
  if (id.empty() || session.empty() || session.size() > kMaxSessionBytes) return false;
  Shard& s = shardOf(id);
  std::lock_guard lock(s.mu);
  if (auto found = s.by_id.find(id); found != s.by_id.end()) erase(s, found->second);
  size_t need = id.size() + session.size();
  // Entries share one lifetime, so the oldest are also the first to expire.
  while (!s.order.empty() && s.order.front().expires <= now) erase(s, s.order.begin());
  while (!s.order.empty() &&
         (s.order.size() + 1 > kMaxSessions / kShards || s.bytes + need > kMaxBytes / kShards)) {
    erase(s, s.order.begin());
  }
  s.order.push_back(Entry{id, std::move(session), expires});
  s.by_id.emplace(id, std::prev(s.order.end()));
  s.bytes += need;
  return true;
}

std::string TlsSessionStore::get(const std::string& id, int64_t now) {
  Shard& s = shardOf(id);
  std::lock_guard lock(s.mu);
  auto found = s.by_id.find(id);
  if (found == s.by_id.end()) return {};
  if (found->second->expires <= now) {
    erase(s, found->second);
    return {};
  }
  return found->second->session;
}

void TlsSessionStore::remove(const std::string& id) {
  Shard& s = shardOf(id);
  std::lock_guard lock(s.mu);
  if (auto found = s.by_id.find(id); found != s.by_id.end()) erase(s, found->second);
}

size_t TlsSessionStore::size() {
  size_t n = 0;
  for (Shard& s : shards_) {
    std::lock_guard lock(s.mu);
    n += s.order.size();
  }
  return n;
}

size_t TlsSessionStore::bytes() {
  size_t n = 0;
  for (Shard& s : shards_) {
    std::lock_guard lock(s.mu);
    n += s.bytes;
  }
  return n;
}

TlsSessionStore& sharedSessionStore() {
  static TlsSessionStore store;
  return store;
}

namespace {

std::string idOf(const SSL_SESSION* sess) {
  unsigned int len = 0;
  const unsigned char* id = SSL_SESSION_get_id(sess, &len);
  return std::string(reinterpret_cast<const char*>(id), len);
}

// Called by OpenSSL on a worker thread after a full handshake that made a new session. Returns
// 0: the store keeps a copy, not OpenSSL's reference.
int onNewSession(SSL*, SSL_SESSION* sess) {
  if (SSL_SESSION_get_protocol_version(sess) != TLS1_2_VERSION) return 0;
  std::string id = idOf(sess);
  int len = i2d_SSL_SESSION(sess, nullptr);
  if (id.empty() || len <= 0 || static_cast<size_t>(len) > TlsSessionStore::kMaxSessionBytes) {
    return 0;
  }
  std::string der(static_cast<size_t>(len), '\0');
  auto* p = reinterpret_cast<unsigned char*>(der.data());
  if (i2d_SSL_SESSION(sess, &p) != len) return 0;
  int64_t expires =
      static_cast<int64_t>(SSL_SESSION_get_time(sess)) + SSL_SESSION_get_timeout(sess);
  sharedSessionStore().put(id, std::move(der), expires, time(nullptr));
  return 0;
}

// Called by OpenSSL while it reads a ClientHello that names a session id. The session returned
// is a new object that OpenSSL owns (*copy = 0); it checks the id context and expiry itself.
SSL_SESSION* onGetSession(SSL*, const unsigned char* id, int len, int* copy) {
  *copy = 0;
  if (len <= 0) return nullptr;
  std::string der = sharedSessionStore().get(
      std::string(reinterpret_cast<const char*>(id), static_cast<size_t>(len)), time(nullptr));
  if (der.empty()) return nullptr;
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  SSL_SESSION* sess = d2i_SSL_SESSION(nullptr, &p, static_cast<long>(der.size()));
  if (sess == nullptr) ERR_clear_error();  // a miss: full handshake
  return sess;
}

// Called by OpenSSL when a session must not be resumed again (a fatal alert on its connection).
void onRemoveSession(SSL_CTX*, SSL_SESSION* sess) {
  sharedSessionStore().remove(idOf(sess));
}

}  // namespace

void useSharedSessionCache(SSL_CTX* ctx) {
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_SERVER | SSL_SESS_CACHE_NO_INTERNAL);
  SSL_CTX_sess_set_new_cb(ctx, onNewSession);
  SSL_CTX_sess_set_get_cb(ctx, onGetSession);
  SSL_CTX_sess_set_remove_cb(ctx, onRemoveSession);
}

}  // namespace sluice::proxy
