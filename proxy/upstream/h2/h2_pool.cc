#include "proxy/upstream/h2/h2_pool.h"

#include <algorithm>

#include "proxy/upstream/h2/h2_session.h"

namespace sluice::proxy {

H2Pool::~H2Pool() {
  closeAll();
}

UpstreamStream* H2Pool::acquire(uv_loop_t* loop, const UpstreamRuntime& upstream,
                                const ResolvedTarget& target, const std::string& key,
                                const UpstreamConnection::Timeouts& timeouts,
                                const std::string& server_name, UpstreamHandler* handler,
                                bool& ready) {
  ready = false;
  auto it = sessions_.find(key);
  if (it != sessions_.end()) {
    for (H2Session* s : it->second) {
      if (s->accepting()) return s->open(handler, timeouts, ready);
    }
  }
  const config::Upstream& uc = *upstream.config;
  H2Session* s = H2Session::connect(loop, this, key, target, timeouts,
                                    uc.max_streams_per_connection, upstream.tls.get(), server_name);
  if (s == nullptr) return nullptr;
  return s->open(handler, timeouts, ready);
}

void H2Pool::add(H2Session* s) {
  sessions_[s->key()].push_back(s);
}

void H2Pool::remove(H2Session* s) {
  auto it = sessions_.find(s->key());
  if (it == sessions_.end()) return;
  auto& v = it->second;
  v.erase(std::remove(v.begin(), v.end(), s), v.end());
  if (v.empty()) sessions_.erase(it);
}

void H2Pool::sweep(uint64_t now_ms) {
  std::vector<H2Session*> all;
  for (auto& [key, list] : sessions_) all.insert(all.end(), list.begin(), list.end());
  // A session closed by an earlier one's callbacks is still allocated (freed in its close
  // callback) and ignores the call.
  for (H2Session* s : all) s->checkDeadlines(now_ms);
}

void H2Pool::retainOnly(const std::vector<std::string>& keys) {
  std::vector<H2Session*> gone;
  for (auto& [key, list] : sessions_) {
    if (std::find(keys.begin(), keys.end(), key) == keys.end()) {
      gone.insert(gone.end(), list.begin(), list.end());
    }
  }
  for (H2Session* s : gone) s->shutdown();
  for (auto it = remote_max_.begin(); it != remote_max_.end();) {
    if (std::find(keys.begin(), keys.end(), it->first) == keys.end()) {
      it = remote_max_.erase(it);
    } else {
      ++it;
    }
  }
}

void H2Pool::closeAll() {
  // An owner told of the close may try again and open a session (a retry): a few rounds close
  // those too (retries are bounded).
  for (int round = 0; round < 8 && !sessions_.empty(); ++round) {
    std::vector<H2Session*> all;
    for (auto& [key, list] : sessions_) all.insert(all.end(), list.begin(), list.end());
    for (H2Session* s : all) s->close();  // leaves sessions_ as it closes
  }
}

uint32_t H2Pool::remoteMax(const std::string& key) const {
  auto it = remote_max_.find(key);
  return it == remote_max_.end() ? 0xffffffffu : it->second;
}

size_t H2Pool::sessionCount() const {
  size_t n = 0;
  for (const auto& [key, list] : sessions_) n += list.size();
  return n;
}

}  // namespace sluice::proxy
