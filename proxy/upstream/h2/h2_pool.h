// A worker's HTTP/2 sessions to upstream targets (protocol h2 or h2c), keyed as the HTTP/1.1
// pool keys its connections (target address, TLS context, server name). A request gets a stream
// on the first session of its key with room (max_streams_per_connection, the server's
// SETTINGS_MAX_CONCURRENT_STREAMS, no GOAWAY), so a worker's requests share few connections;
// another session opens when all are full. Worker thread only; no locks.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "proxy/runtime/snapshot.h"
#include "proxy/upstream/upstream_connection.h"

namespace sluice::proxy {

class H2Session;
class UpstreamPool;

class H2Pool {
 public:
  // `owner` keeps the TLS sessions to resume (shared with the HTTP/1.1 connections' store).
  explicit H2Pool(UpstreamPool& owner) : owner_(owner) {}
  ~H2Pool();
  UpstreamPool& owner() { return owner_; }
  H2Pool(const H2Pool&) = delete;
  H2Pool& operator=(const H2Pool&) = delete;

  // A stream to `target` of `upstream` for `handler` (see UpstreamConnector::acquire); null
  // when no session could even start connecting.
  UpstreamStream* acquire(uv_loop_t* loop, const UpstreamRuntime& upstream,
                          const ResolvedTarget& target, const std::string& key,
                          const UpstreamConnection::Timeouts& timeouts,
                          const std::string& server_name, UpstreamHandler* handler, bool& ready);
  // Sessions join when they start connecting and leave when they close.
  void add(H2Session* s);
  void remove(H2Session* s);
  // Timeouts of every session and stream (the worker's sweep).
  void sweep(uint64_t now_ms);
  // Sessions of keys not in `keys` take no new streams and close when done (a reload).
  void retainOnly(const std::vector<std::string>& keys);
  // Closes every session (worker stop): streams still running fail.
  void closeAll();
  size_t sessionCount() const;
  // The SETTINGS_MAX_CONCURRENT_STREAMS the last session to `key` got (0xffffffff: none yet),
  // which a new session assumes until its own SETTINGS arrive.
  uint32_t remoteMax(const std::string& key) const;
  // (A server that allows 0 streams is taken as allowing 1: a new session must be usable.)
  void noteRemoteMax(const std::string& key, uint32_t value) {
    remote_max_[key] = value > 0 ? value : 1;
  }

 private:
  UpstreamPool& owner_;
  std::unordered_map<std::string, std::vector<H2Session*>> sessions_;
  std::unordered_map<std::string, uint32_t> remote_max_;
};

}  // namespace sluice::proxy
