#include "proxy/runtime/server.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <ctime>

#include "config/loader.h"
#include "proxy/admin/status_page.h"
#include "proxy/net/listen_socket.h"
#include "proxy/runtime/log.h"
#include "proxy/upstream/resolver.h"
#include "proxy/upstream/target_expansion.h"

namespace sluice::proxy {

namespace {
double unixNow() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

// Every error on its own line (operations.md: a log line is one line, with a level).
std::vector<std::string> errorLines(const std::string& text) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    if (end > start) out.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

std::vector<std::string> errorLines(const std::vector<config::Diagnostic>& errors) {
  std::vector<std::string> out;
  for (const auto& d : errors) {
    for (auto& line : errorLines(d.text())) out.push_back(std::move(line));
  }
  return out;
}
}  // namespace

Server::Server(std::string config_path, config::LoadOptions load_options)
    : config_path_(std::move(config_path)), load_options_(std::move(load_options)) {
  // Fails only without descriptors or memory at start-up: nothing can run then.
  if (!uvCheck(uv_loop_init(&loop_), "main loop: uv_loop_init")) std::abort();
}

Server::~Server() {
  cache_sync_.reset();  // its Redis connections and timers are on loop_
  workers_.clear();
  admin_.reset();
  health_.reset();
  discovery_.reset();
  dns_.close();
  // The handles owned here first (their close callbacks free them), then whatever is still open
  // (an early start-up failure) is closed and every close callback runs.
  for (auto& s : signals_) s.close();
  drain_timer_.close();
  resolve_timer_.close();
  notifier_.close();
  uv_walk(
      &loop_,
      [](uv_handle_t* h, void*) {
        if (!uv_is_closing(h)) uv_close(h, nullptr);
      },
      nullptr);
  uv_run(&loop_, UV_RUN_DEFAULT);
  uvCheck(uv_loop_close(&loop_), "main loop: uv_loop_close");
}

bool Server::bindListener(const config::Listener& l, std::vector<ListenerSocket>& per_worker,
                          std::string& error) {
  if (int shared = inherited_.find(l.name, l.address); shared >= 0) {
    // Socket activation: one socket shared by all workers (no SO_REUSEPORT balancing).
    if (int e = setDeferAccept(shared, l.defer_accept); e != 0) {
      logWarn("listener " + l.name + ": TCP_DEFER_ACCEPT: " + std::strerror(e));
    }
    for (size_t i = 0; i < workers_.size(); ++i) {
      int fd = fcntl(shared, F_DUPFD_CLOEXEC, 3);
      if (fd < 0) {
        for (auto& s : per_worker) ::close(s.fd);
        per_worker.clear();
        error = "listener " + l.name + ": dup of the inherited socket: " + std::strerror(errno);
        return false;
      }
      per_worker.push_back(ListenerSocket{l.name, l.address.text(), fd});
    }
    return true;
  }
  for (size_t i = 0; i < workers_.size(); ++i) {
    int fd = openListenSocket(l.address, true, error);
    if (fd < 0) {
      for (auto& s : per_worker) ::close(s.fd);
      per_worker.clear();
      error = "listener " + l.name + ": cannot listen on " + error;
      return false;
    }
    if (int e = setDeferAccept(fd, l.defer_accept); e != 0) {
      logWarn("listener " + l.name + ": TCP_DEFER_ACCEPT: " + std::strerror(e));
    }
    per_worker.push_back(ListenerSocket{l.name, l.address.text(), fd});
  }
  return true;
}

int Server::run() {
  if (std::string inherit_error; !inherited_.load(inherit_error)) {
    logError(inherit_error);
    return 2;
  }
  config::LoadResult loaded = config::loadFile(config_path_, load_options_);
  if (!loaded.errors.empty()) {
    for (const auto& line : errorLines(loaded.errors)) logError(line);
    // operations.md: a config that is only refused for files it cannot use (an unreadable
    // certificate) "could not start" (2); anything else is a bad config (1).
    bool resources_only = std::all_of(loaded.errors.begin(), loaded.errors.end(),
                                      [](const config::Diagnostic& d) { return d.resource; });
    return resources_only ? 2 : 1;
  }
  bool resolved = false;
  std::string resolve_error;
  resolveTargets(&loop_, dns_, *loaded.config, {},
                 [&](std::vector<ResolvedTarget> r, std::string err) {
                   resolved_ = std::move(r);
                   resolve_error = std::move(err);
                   resolved = true;
                 });
  while (!resolved) uv_run(&loop_, UV_RUN_ONCE);
  if (!resolve_error.empty()) {
    logError(resolve_error);
    return 1;
  }
  std::string error;
  state_.beginGeneration();
  bool resource_error = false;
  windows_ = std::make_unique<StatusWindows>(loaded.config->workers);  // workers: fixed at start
  snapshot_ = buildSnapshot(loaded.config, resolved_, ++version_, metrics_.registry, state_, error,
                            &resource_error, &upstream_states_,
                            static_cast<int64_t>(uv_now(&loop_)), windows_.get());
  if (!snapshot_) {
    logError(error);
    return resource_error ? 2 : 1;  // operations.md: an unreadable certificate cannot start
  }
  const config::Config& c = *snapshot_->config;
  metrics_.declareUpstreams(c);
  shared_.span_exporter = &spans_;
  shared_.events = &events_;
  events_.record(base::EventKind::Reload, "config", "loaded",
                 "version " + std::to_string(version_) + " from " + config_path_);
  spans_.configure(c.tracing ? &*c.tracing : nullptr);
  applyCacheSync(c);
  for (uint32_t i = 0; i < c.workers; ++i) {
    workers_.push_back(std::make_unique<Worker>(static_cast<int>(i), metrics_, shared_));
  }
  std::vector<std::vector<ListenerSocket>> sockets(workers_.size());
  for (const config::Listener& l : c.listeners) {
    std::vector<ListenerSocket> per_worker;
    if (!bindListener(l, per_worker, error)) {
      logError(error);
      for (auto& v : sockets)
        for (auto& s : v) ::close(s.fd);
      return 2;
    }
    for (size_t i = 0; i < per_worker.size(); ++i) sockets[i].push_back(per_worker[i]);
    bound_[l.address.text()] = l.name;
  }
  inherited_.warnUnused();
  if (c.admin.address) {
    admin_ = std::make_unique<AdminServer>(
        &loop_,
        [this](const AdminRequest& req, AdminResponder r) { handleAdmin(req, std::move(r)); });
    int r = admin_->listen(c.admin.address->host, c.admin.address->port);
    if (r != 0) {
      logError("admin: cannot listen on " + c.admin.address->text() + ": " + uv_strerror(r));
      for (auto& v : sockets)
        for (auto& s : v) ::close(s.fd);
      return 2;
    }
    admin_address_ = c.admin.address->text();
  }
  for (size_t i = 0; i < workers_.size(); ++i) workers_[i]->start(snapshot_, std::move(sockets[i]));
  for (auto& w : workers_) w->waitStarted();
  upstream_states_.markStarted();  // targets added from now on ramp up (slow start)
  health_ = std::make_unique<HealthChecker>(&loop_, &events_);
  health_->apply(snapshot_);
  metrics_.registry.addCollector([this](base::Exposition& e) { collectUpstreamState(e); });
  metrics_.config_last_reload_success_timestamp_seconds.with({}).set(snapshot_->loaded_at);
  const int kSignals[] = {SIGHUP, SIGTERM, SIGINT, SIGQUIT, SIGUSR1};
  for (int i = 0; i < 5; ++i) {
    // A signal that cannot be watched is logged; sluice serves without it.
    if (signals_[i].init(&loop_, "signal watcher", [this](int signum) { onSignal(signum); })) {
      signals_[i].start(kSignals[i]);
    }
  }
  drain_timer_.init(&loop_, "drain timer", [this] { checkDrained(); });
  resolve_timer_.init(&loop_, "resolve timer", [this] { reResolve(); });
  scheduleResolve();
  ready_ = true;
  logInfo("sluice " SLUICE_VERSION " serving " + std::to_string(c.listeners.size()) +
          " listener(s) with " + std::to_string(workers_.size()) + " worker(s), config " +
          config_path_);
  notifier_.ready(&loop_, "serving config version " + std::to_string(version_));
  uv_run(&loop_, UV_RUN_DEFAULT);
  return exit_code_;
}

void Server::onSignal(int signum) {
  switch (signum) {
    case SIGHUP:
      reload([](bool, const std::vector<std::string>&) {});  // reload() logs the outcome
      break;
    case SIGTERM:
    case SIGINT:
      gracefulStop();
      break;
    case SIGQUIT:
      logInfo("SIGQUIT: stopping now");
      finishStop();
      break;
    case SIGUSR1:
      for (auto& w : workers_) {
        w->post([](Worker& wk) { wk.reopenAccessLog(); });
      }
      break;
    default:
      break;
  }
}

void Server::reload(ReloadDone done) {
  if (stopping_) {
    done(false, {"shutting down"});
    return;
  }
  if (reloading_) {  // one at a time; a reload asked meanwhile runs right after
    queued_reloads_.push_back(std::move(done));
    return;
  }
  reloading_ = true;
  notifier_.reloading();
  auto finish = [this, done](bool ok, const std::vector<std::string>& errors) {
    notifier_.ready(&loop_, (ok ? "serving config version " : "reload failed; serving version ") +
                                std::to_string(version_));
    double now = unixNow();
    metrics_.config_reloads_total.with({ok ? "success" : "failure"}).inc();
    if (ok) metrics_.config_last_reload_success_timestamp_seconds.with({}).set(now);
    events_.record(base::EventKind::Reload, "config", ok ? "reloaded" : "reload failed",
                   ok ? "version " + std::to_string(version_)
                      : (errors.empty() ? std::string("no reason given") : errors.front()));
    if (ok) {
      logInfo("config reloaded: version " + std::to_string(version_));
    } else {
      logError("config reload failed with " + std::to_string(errors.size()) +
               " error(s); still serving version " + std::to_string(version_));
      for (const auto& e : errors) logError(e);
    }
    reloading_ = false;
    retainDiscovery();  // server_discovery.cc: watches the config in force no longer has stop
    done(ok, errors);
    if (!queued_reloads_.empty()) {
      auto queued = std::move(queued_reloads_);
      queued_reloads_.clear();
      reload([queued](bool ok2, const std::vector<std::string>& e) {
        for (const auto& q : queued) q(ok2, e);
      });
    }
  };
  config::LoadResult loaded = config::loadFile(config_path_, load_options_);
  if (!loaded.errors.empty()) {
    finish(false, errorLines(loaded.errors));
    return;
  }
  config::ConfigPtr cfg = loaded.config;
  resolveTargets(
      &loop_, dns_, *cfg, resolved_,
      [this, cfg, finish](std::vector<ResolvedTarget> r, std::string err) {
        if (!err.empty()) {
          finish(false, errorLines(err));
          return;
        }
        std::string error;
        state_.beginGeneration();
        bool resource_error = false;
        SnapshotPtr next =
            buildSnapshot(cfg, r, version_ + 1, metrics_.registry, state_, error, &resource_error,
                          &upstream_states_, static_cast<int64_t>(uv_now(&loop_)), windows_.get());
        if (!next) {
          finish(false, errorLines(error));
          return;
        }
        if (cfg->workers != workers_.size()) {
          logWarn("workers: " + std::to_string(cfg->workers) + " takes effect at the next restart");
        }
        std::vector<std::vector<ListenerSocket>> added(workers_.size());
        std::map<std::string, std::string> bound;
        for (const config::Listener& l : cfg->listeners) {
          std::string key = l.address.text();
          bound[key] = l.name;
          if (bound_.count(key)) {  // kept with its sockets, as they are
            for (const config::Listener& old : snapshot_->config->listeners) {
              if (old.address.text() == key && old.defer_accept != l.defer_accept) {
                logWarn("listener " + l.name + ": defer_accept takes effect at the next restart");
              }
            }
            continue;
          }
          std::vector<ListenerSocket> per_worker;
          if (!bindListener(l, per_worker, error)) {
            for (auto& v : added)
              for (auto& s : v) ::close(s.fd);
            finish(false, errorLines(error));
            return;
          }
          for (size_t i = 0; i < per_worker.size(); ++i) added[i].push_back(per_worker[i]);
        }
        bound_ = std::move(bound);
        resolved_ = std::move(r);
        version_ = next->version;
        snapshot_ = next;
        metrics_.declareUpstreams(*next->config);
        spans_.configure(next->config->tracing ? &*next->config->tracing : nullptr);
        applyCacheSync(*next->config);
        for (size_t i = 0; i < workers_.size(); ++i) workers_[i]->reload(next, std::move(added[i]));
        health_->apply(next);
        forgetRemovedUpstreams();
        upstream_states_.clearOverrides();  // the admin API's drains and weights end here
        scheduleResolve();
        state_.dropUnused();
        finish(true, {});
      });
}

void Server::gracefulStop() {
  if (stopping_) return;
  stopping_ = true;
  shared_.draining.store(true);
  notifier_.stopping("draining");
  logInfo("draining: waiting up to " +
          std::to_string(snapshot_->config->limits.drain_timeout.count()) +
          "ms for in-flight requests");
  for (auto& w : workers_) w->drain();
  drain_deadline_ =
      uv_now(&loop_) + static_cast<uint64_t>(snapshot_->config->limits.drain_timeout.count());
  if (!drain_timer_.start(50, 50)) finishStop();  // logged; no drain without the timer
}

// Drained when every worker has closed its listeners (drain() ran on its thread) and has no
// connection left. A worker that has not run its drain() yet may still accept: its count of 0,
// taken before, would let the process stop and reset the connection it accepts meanwhile
// (seen as a reset at the start of a request during SO_REUSEPORT overlap restarts).
void Server::checkDrained() {
  int64_t open = 0;
  bool closed = true;
  for (auto& w : workers_) {
    closed = closed && w->drained();
    open += w->activeConnections();
  }
  if ((closed && open == 0) || uv_now(&loop_) >= drain_deadline_) {
    if (open > 0) logWarn("drain timeout: closing " + std::to_string(open) + " connection(s)");
    finishStop();
  }
}

void Server::finishStop() {
  stopping_ = true;
  ready_ = false;
  notifier_.stopping("stopping");
  notifier_.close();
  for (auto& w : workers_) w->stop();
  for (auto& w : workers_) w->join();
  if (admin_) admin_->close();
  if (health_) health_->stop();
  for (auto& s : signals_) s.close();
  drain_timer_.close();
  resolve_timer_.close();
  cache_sync_.reset();
  dns_.close();
  if (discovery_) discovery_->stop();
  logInfo("stopped");
  uv_stop(&loop_);
}

// sluice_upstream_target_healthy (available: healthy by active checks and not ejected) and
// sluice_upstream_circuit_state, read from the shared target states at scrape time.
void Server::collectUpstreamState(base::Exposition& e) {
  int64_t now = static_cast<int64_t>(uv_now(&loop_));
  for (const UpstreamRuntime& u : snapshot_->upstreams) {
    for (size_t i = 0; i < u.targets.size(); ++i) {
      const balancer::TargetState& ts = *u.target_states[i];
      e.set(metrics_.upstream_target_healthy, {u.config->name, u.targets[i].address},
            ts.available(now) ? 1 : 0);
      e.set(metrics_.upstream_requests_active, {u.config->name, u.targets[i].address},
            static_cast<double>(ts.active()));
      if (u.config->circuit_breaker) {
        auto st = ts.breaker.state(now, *u.config->circuit_breaker);
        e.set(metrics_.upstream_circuit_state, {u.config->name, u.targets[i].address},
              static_cast<double>(static_cast<int>(st)));
      }
    }
  }
}

// Re-resolves target names every min(resolve_every) of the current config.
void Server::scheduleResolve() {
  resolve_timer_.stop();
  int64_t every = 0;
  for (const config::Upstream& u : snapshot_->config->upstreams) {
    if (u.resolve_every && (every == 0 || u.resolve_every->count() < every)) {
      every = u.resolve_every->count();
    }
  }
  if (every <= 0) return;
  resolve_timer_.start(static_cast<uint64_t>(every), static_cast<uint64_t>(every));  // logged
}

// A name whose addresses changed gets a new snapshot of the same config (an address that went
// away leaves like a target removed by a reload: its requests finish, its state is dropped); one
// that stopped resolving keeps its last addresses (resolveTargets logs it).
void Server::reResolve() {
  if (stopping_ || reloading_ || re_resolving_) return;
  re_resolving_ = true;
  config::ConfigPtr cfg = snapshot_->config;
  resolveTargets(
      &loop_, dns_, *cfg, resolved_, [this, cfg](std::vector<ResolvedTarget> r, std::string err) {
        re_resolving_ = false;
        if (!err.empty() || cfg != snapshot_->config || stopping_) return;
        if (sameResolution(r, resolved_)) {
          resolved_ = std::move(r);  // the same targets; which are stale may have changed
          return;
        }
        std::string error;
        state_.beginGeneration();
        SnapshotPtr next =
            buildSnapshot(cfg, r, version_ + 1, metrics_.registry, state_, error, nullptr,
                          &upstream_states_, static_cast<int64_t>(uv_now(&loop_)), windows_.get());
        if (!next) {
          logWarn("re-resolution: " + error);
          return;
        }
        resolved_ = std::move(r);
        version_ = next->version;
        snapshot_ = next;
        for (auto& w : workers_) w->reload(next, {});
        health_->apply(next);
        forgetRemovedUpstreams();
        state_.dropUnused();
        logInfo("upstream addresses changed after re-resolution: version " +
                std::to_string(version_));
      });
}

void Server::forgetRemovedUpstreams() {
  std::map<std::string, bool> names, targets;
  for (const UpstreamRuntime& u : snapshot_->upstreams) {
    names[u.config->name] = true;
    for (const ResolvedTarget& t : u.targets) {
      targets[UpstreamStates::targetKey(u.config->name, t.address)] = true;
    }
  }
  upstream_states_.retainOnly(names, targets);
}

}  // namespace sluice::proxy
