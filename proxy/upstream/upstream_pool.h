// A worker's idle keep-alive connections to upstream targets. They are keyed by what made them
// (poolKey): the target address, and for TLS the client context (CA, verify, client
// certificate) and the server name, so that an upstream never gets a connection another
// upstream on the same address opened with other TLS settings (or none). Plain connections
// outlive a reload that keeps the target. Worker thread only; no locks.
#pragma once

#include <openssl/ssl.h>

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "proxy/net/connection_list.h"

namespace sluice::proxy {

class UpstreamConnection;
class TlsClientContext;
class H2Pool;

// The key of connections to `address`, made with `tls` (null: plain) for `server_name`.
std::string poolKey(const std::string& address, const TlsClientContext* tls,
                    const std::string& server_name);

class UringLoop;

class UpstreamPool {
 public:
  static constexpr uint64_t kSurplusIdleMs = 1000;

  UpstreamPool();
  ~UpstreamPool();
  // The worker's io_uring socket backend (`io:`), used by its plain HTTP/1.1 upstream and client
  // connections; null: libuv/epoll. Set once when the worker starts.
  UringLoop* uring = nullptr;
  // The HTTP/2 sessions (upstreams with protocol h2 or h2c): swept, retained and closed with
  // the HTTP/1.1 connections.
  H2Pool& h2() { return *h2_; }
  // The most recently used idle connection under `key`, or null.
  UpstreamConnection* take(const std::string& key);
  // A connection that finished a response cleanly: kept idle. Above the target's `keepalive`
  // idle connections the surplus (up to as many again) is kept only until it has been idle for
  // kSurplusIdleMs (sweep() closes it, oldest first): under a load whose concurrency swings
  // around `keepalive`, closing at once cost one new connection in fourteen requests (h2load,
  // 160 streams, keepalive 128) where nginx and HAProxy reuse.
  void put(UpstreamConnection* conn, uint64_t now_ms);
  // An idle connection that closed (the upstream hung up or its idle time ran out).
  void forget(UpstreamConnection* conn);
  // Closes the idle connections and every HTTP/2 session (worker stop).
  void closeAll();
  // Closes the idle connections whose key is not in `keys` (the upstreams of a new snapshot).
  void retainOnly(const std::vector<std::string>& keys);
  size_t idleCount() const;

  // Every upstream connection of the worker, idle or busy: their timeouts are deadlines that
  // sweep() enforces (connections join in connect() and leave when destroyed).
  void track(UpstreamConnection* conn);
  void untrack(UpstreamConnection* conn);
  void sweep(uint64_t now_ms);

  // TLS session reuse per target: the last session a handshake produced (owned here).
  SSL_SESSION* session(const std::string& address) const;
  void storeSession(const std::string& address, SSL_SESSION* session);

 private:
  void trimSurplus(uint64_t now_ms);

  struct Idle {
    UpstreamConnection* conn;
    uint64_t since_ms;  // loop time it became idle
  };
  // Per key, oldest first: take() reuses the most recent, the sweep trims the oldest.
  std::unordered_map<std::string, std::vector<Idle>> idle_;
  bool surplus_ = false;  // some key holds more than its keepalive (the sweep trims it)
  std::unordered_map<std::string, SSL_SESSION*> sessions_;
  ConnectionList all_;
  std::unique_ptr<H2Pool> h2_;
};

}  // namespace sluice::proxy
