// The main thread: loads and validates the config, binds listeners, starts the workers, serves
// the admin listener, and handles signals (reload, graceful and immediate stop). Workers only
// ever see whole snapshots built here.
#pragma once

#include <uv.h>

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "config/loader.h"
#include "filters/cache_sync.h"
#include "proxy/admin/admin_server.h"
#include "proxy/admin/metrics.h"
#include "proxy/admin/status_events.h"
#include "proxy/admin/status_page.h"
#include "proxy/net/uv_handle.h"
#include "proxy/runtime/status_windows.h"
#include "proxy/runtime/systemd.h"
#include "proxy/runtime/worker.h"
#include "proxy/runtime/worker_services.h"
#include "proxy/tracing/span_exporter.h"
#include "proxy/upstream/discovery/discovery_manager.h"
#include "proxy/upstream/dns_client.h"
#include "proxy/upstream/health_checker.h"
#include "proxy/upstream/resolver.h"
#include "proxy/upstream/upstream_states.h"

namespace sluice::proxy {

class Server {
 public:
  // `load_options` are used at start and on every reload (main passes the OpenSSL check of
  // certificates, so start, reload and `-t` refuse the same files).
  Server(std::string config_path, config::LoadOptions load_options);
  ~Server();
  // Runs until stopped; returns the process exit code (operations.md: 0 clean, 1 bad config,
  // 2 could not start).
  int run();

 private:
  // `errors` is empty on success; else one line each ("file:line:col: ..." where known).
  using ReloadDone = std::function<void(bool ok, const std::vector<std::string>& errors)>;

  bool bindListener(const config::Listener& l, std::vector<ListenerSocket>& per_worker,
                    std::string& error);
  void reload(ReloadDone done);
  void gracefulStop();
  void checkDrained();  // every 50 ms while draining
  void finishStop();
  void handleAdmin(const AdminRequest& req, AdminResponder respond);
  std::string configJson() const;
  void collectUpstreamState(base::Exposition& out);
  void forgetRemovedUpstreams();
  void scheduleResolve();
  void reResolve();
  // server_discovery.cc. The start, reload and re-resolution all call this one (it hides
  // proxy::resolveTargets): the free function's resolution once `config`'s registry watches have
  // settled, with their targets added. `config` must outlive `done` (the callers' do).
  void resolveTargets(uv_loop_t* loop, DnsClient& dns, const config::Config& config,
                      const std::vector<ResolvedTarget>& previous, ResolveDone done);
  // A watch's targets changed: re-resolve (a new snapshot) when they differ from those in force.
  void applyDiscovery();
  // A reload ended: stop the watches the config in force has no use for, then applyDiscovery().
  void retainDiscovery();

  // server_cache_sync.cc: (re)starts, keeps or stops the cache-sync client for `c`; POST
  // /cache/purge, which purges here and publishes the purge when cache_sync is on.
  void applyCacheSync(const config::Config& c);
  void purgeCache(const AdminRequest& req, AdminResponder respond);

  void onSignal(int signum);

  std::string config_path_;
  config::LoadOptions load_options_;
  uv_loop_t loop_;
  Metrics metrics_;
  StatusEvents events_;  // GET /status's event list; workers record into it through shared_
  SharedState shared_;
  tracing::SpanExporter spans_{metrics_.registry};  // OTLP export of sampled spans
  base::StateStore state_;                          // filter state that survives reloads
  UpstreamStates upstream_states_;  // target health, load and breakers; survive reloads
  std::unique_ptr<HealthChecker> health_;
  std::vector<std::unique_ptr<Worker>> workers_;
  std::unique_ptr<AdminServer> admin_;
  std::string admin_address_;
  SnapshotPtr snapshot_;
  std::vector<ResolvedTarget> resolved_;
  DnsClient dns_{&loop_};      // c-ares on this loop: srv targets, `resolver:` servers
  bool re_resolving_ = false;  // a resolve_every round is under way
  // upstreams[].discovery: the registry watches (server_discovery.cc), made at the first use.
  std::unique_ptr<discovery::DiscoveryManager> discovery_;
  std::map<std::string, std::string> bound_;  // listener address -> name
  uint64_t version_ = 0;
  bool reloading_ = false;
  std::vector<ReloadDone> queued_reloads_;
  bool stopping_ = false;
  bool ready_ = false;
  Signal signals_[5];
  Timer drain_timer_;
  Timer resolve_timer_;                     // upstreams[].resolve_every
  systemd::Notifier notifier_;              // sd_notify READY/RELOADING/STOPPING, watchdog
  systemd::InheritedSockets inherited_;     // socket activation (LISTEN_FDS)
  std::unique_ptr<StatusWindows> windows_;  // GET /status: rolling windows of routes, targets
  uint64_t drain_deadline_ = 0;
  int exit_code_ = 0;
  LoopServices main_services_{&loop_};  // the main loop's timers and lookups, for cache_sync_
  std::unique_ptr<filters::CacheSync> cache_sync_;  // `cache_sync:` on: purges go to others
};

}  // namespace sluice::proxy
