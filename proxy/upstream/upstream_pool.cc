#include "proxy/upstream/upstream_pool.h"

#include <algorithm>

#include "proxy/tls/tls_context.h"
#include "proxy/upstream/h2/h2_pool.h"
#include "proxy/upstream/upstream_connection.h"

namespace sluice::proxy {

UpstreamPool::UpstreamPool() : h2_(std::make_unique<H2Pool>(*this)) {}

UpstreamPool::~UpstreamPool() {
  closeAll();
  for (auto& [addr, s] : sessions_) SSL_SESSION_free(s);
}

SSL_SESSION* UpstreamPool::session(const std::string& address) const {
  auto it = sessions_.find(address);
  return it == sessions_.end() ? nullptr : it->second;
}

void UpstreamPool::storeSession(const std::string& address, SSL_SESSION* session) {
  if (session == nullptr) return;
  SSL_SESSION*& slot = sessions_[address];
  if (slot != nullptr) SSL_SESSION_free(slot);
  slot = session;
}

void UpstreamPool::track(UpstreamConnection* conn) {
  all_.insert(conn);
}

void UpstreamPool::untrack(UpstreamConnection* conn) {
  all_.erase(conn);
}

void UpstreamPool::sweep(uint64_t now_ms) {
  if (surplus_) trimSurplus(now_ms);
  all_.forEach<UpstreamConnection>([now_ms](UpstreamConnection* c) { c->checkDeadline(now_ms); });
  h2_->sweep(now_ms);
}

std::string poolKey(const std::string& address, const TlsClientContext* tls,
                    const std::string& server_name) {
  if (tls == nullptr) return address;
  return address + "\n" + tls->sessionTag() + "\n" + server_name;
}

UpstreamConnection* UpstreamPool::take(const std::string& key) {
  auto it = idle_.find(key);
  if (it == idle_.end() || it->second.empty()) return nullptr;
  UpstreamConnection* c = it->second.back().conn;
  it->second.pop_back();
  return c;
}

void UpstreamPool::put(UpstreamConnection* conn, uint64_t now_ms) {
  auto& list = idle_[conn->poolKey()];
  size_t keep = conn->timeouts().keepalive;
  if (list.size() >= 2 * keep) {  // keepalive 0: never pooled
    conn->close();
    return;
  }
  if (list.size() >= keep) surplus_ = true;
  list.push_back({conn, now_ms});
  conn->becomeIdle();
}

void UpstreamPool::trimSurplus(uint64_t now_ms) {
  surplus_ = false;
  std::vector<UpstreamConnection*> doomed;
  for (auto& [key, list] : idle_) {
    if (list.empty()) continue;
    size_t keep = list.front().conn->timeouts().keepalive;
    size_t n = 0;
    while (list.size() - n > keep && now_ms - list[n].since_ms >= kSurplusIdleMs) ++n;
    for (size_t i = 0; i < n; ++i) doomed.push_back(list[i].conn);
    list.erase(list.begin(), list.begin() + static_cast<std::ptrdiff_t>(n));
    if (list.size() > keep) surplus_ = true;  // not idle long enough yet
  }
  for (UpstreamConnection* c : doomed) c->close();
}

void UpstreamPool::forget(UpstreamConnection* conn) {
  auto it = idle_.find(conn->poolKey());
  if (it == idle_.end()) return;
  auto& v = it->second;
  v.erase(std::remove_if(v.begin(), v.end(), [conn](const Idle& i) { return i.conn == conn; }),
          v.end());
}

void UpstreamPool::closeAll() {
  auto idle = std::move(idle_);
  idle_.clear();
  for (auto& [addr, list] : idle) {
    for (const Idle& i : list) i.conn->close();
  }
  h2_->closeAll();
}

void UpstreamPool::retainOnly(const std::vector<std::string>& keys) {
  h2_->retainOnly(keys);
  for (auto it = idle_.begin(); it != idle_.end();) {
    if (std::find(keys.begin(), keys.end(), it->first) != keys.end()) {
      ++it;
      continue;
    }
    std::vector<Idle> list = std::move(it->second);
    it = idle_.erase(it);
    for (const Idle& i : list) i.conn->close();
  }
}

size_t UpstreamPool::idleCount() const {
  size_t n = 0;
  for (const auto& [addr, list] : idle_) n += list.size();
  return n;
}

}  // namespace sluice::proxy
