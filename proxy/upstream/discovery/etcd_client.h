// One upstream's etcd watch, on the main thread's loop: read every key under the prefix (range),
// then watch the prefix from the range's revision + 1; a change to the targets calls `changed`.
// When etcd cannot be reached, or the watch ends, the last known targets stay; it reconnects
// after a jittered, capped back-off to the next endpoint, reads again and watches again (also
// when the watch's revision was compacted away). One log line when etcd is lost, one when it
// answers again (not one per retry).
#pragma once

#include <uv.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "config/config.h"
#include "proxy/net/uv_handle.h"
#include "proxy/upstream/discovery/discovery_metrics.h"
#include "proxy/upstream/discovery/discovery_targets.h"
#include "proxy/upstream/discovery/etcd_watch_parser.h"
#include "proxy/upstream/discovery/http_call.h"

namespace sluice::proxy::discovery {

class EtcdClient : private HttpCall::Handler {
 public:
  // `changed` runs on the loop's thread (never within start()) when targets() changed.
  EtcdClient(uv_loop_t* loop, std::string upstream, config::EtcdDiscovery cfg,
             DiscoveryMetrics& metrics, std::function<void()> changed);
  ~EtcdClient() override;
  EtcdClient(const EtcdClient&) = delete;
  EtcdClient& operator=(const EtcdClient&) = delete;

  // Starts the first read. `settled` runs once the first read is over: it succeeded, or it
  // failed at every endpoint once. False (logged) when the timer cannot be made.
  bool start(std::function<void()> settled);

  // Before start(): begins with `previous`'s targets (the same upstream and prefix under a
  // changed section), so a reload while etcd is unreachable keeps them instead of none.
  void inherit(const EtcdClient& previous);

  const std::string& upstream() const { return upstream_; }
  const config::EtcdDiscovery& config() const { return cfg_; }
  bool settled() const { return settled_; }
  bool connected() const { return connected_; }  // the watch is established
  // The targets, as discovery_targets.h gives them (source discoverySource(upstream)).
  const std::vector<ResolvedTarget>& targets() const { return targets_; }

 private:
  enum class Phase { Idle, Ranging, Watching, Waiting };

  void onResponseHead(int status) override;
  void onBody(std::string_view data) override;
  void onEnd() override;
  void onFail(std::string error) override;

  bool send(const char* path, const std::string& body);
  void beginRange();
  void finishRange();
  void beginWatch();
  void onWatchMessage(const WatchMessage& m);
  void failed(std::string_view reason, const std::string& detail);
  void onTimer();
  void publish();
  void reject(const std::vector<DiscoveryTargets::Rejected>& rejected);
  void settle();
  const config::Address& endpoint() const { return cfg_.endpoints[endpoint_]; }
  std::string where() const;  // "discovery for upstream X: etcd at host:port"

  uv_loop_t* loop_;
  std::string upstream_;
  config::EtcdDiscovery cfg_;
  DiscoveryMetrics& metrics_;
  std::function<void()> changed_;
  std::function<void()> on_settled_;
  Timer timer_;  // the request's timeout, or the back-off before the next round
  HttpCall* call_ = nullptr;
  Phase phase_ = Phase::Idle;
  int status_ = 0;
  std::string body_;  // the range answer, or an error answer's text
  WatchStreamParser parser_;
  DiscoveryTargets set_;
  std::vector<ResolvedTarget> targets_;
  int64_t revision_ = 0;
  size_t endpoint_ = 0;
  uint32_t failures_ = 0;  // in a row; the back-off grows with it
  uint64_t rng_;
  uint64_t outage_since_ = 0;  // loop time the episode began
  bool in_outage_ = false;
  bool settled_ = false;
  bool connected_ = false;
};

}  // namespace sluice::proxy::discovery
