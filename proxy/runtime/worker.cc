#include "proxy/runtime/worker.h"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "proxy/http1/client_connection.h"
#include "proxy/runtime/io_backend.h"
#include "proxy/runtime/log.h"
#include "proxy/stream/access_log_template.h"
#include "proxy/tracing/span_exporter.h"

namespace sluice::proxy {

namespace {
constexpr uint64_t kSweepMs = 100;
// Spans go to the exporter in batches of at least this many (and at every sweep whatever is
// there): one lock and one buffer per batch instead of one per loop iteration, which at tens of
// thousands of requests a second was most of what handing spans over cost.
constexpr size_t kSpanHandOver = 128;
}  // namespace

Worker::Worker(int index, Metrics& metrics, SharedState& shared)
    : index_(index), metrics_(metrics), shared_(shared) {
  // Both fail only without descriptors or memory at start-up: no worker can run then.
  std::string name = "worker " + std::to_string(index);
  if (!uvCheck(uv_loop_init(&loop_), name + ": uv_loop_init") ||
      !uvCheck(uv_async_init(&loop_, &async_, onAsync), name + ": uv_async_init")) {
    std::abort();
  }
  async_.data = this;
  prepare_.init(&loop_, "worker prepare", [this] { onPrepare(); });
  sweep_.init(&loop_, "worker sweep timer", [this] { onSweep(); });
  ctx_ = std::make_unique<WorkerContext>(&loop_, index, metrics, shared);
  ctx_->post = [this](std::function<void()> fn) { post([fn = std::move(fn)](Worker&) { fn(); }); };
}

Worker::~Worker() {
  join();
  // A worker that never ran (start-up failed) still owns its handles (stop() closed them else).
  uvClose(&async_);
  prepare_.close();
  sweep_.close();
  ctx_->pool.closeAll();
  uv_run(&loop_, UV_RUN_DEFAULT);
  uvCheck(uv_loop_close(&loop_), "worker " + std::to_string(index_) + ": uv_loop_close");
}

void Worker::start(SnapshotPtr snapshot, std::vector<ListenerSocket> listeners) {
  ctx_->adopt(std::move(snapshot));
  applyAccessLog();
  initial_listeners_ = std::move(listeners);
  thread_ = std::thread([this] { run(); });
}

void Worker::run() {
  startIoBackend();
  for (const ListenerSocket& s : initial_listeners_) openListener(s);
  initial_listeners_.clear();
  // The access log is flushed once per loop iteration, before the loop blocks for I/O.
  prepare_.start();
  sweep_.start(kSweepMs, kSweepMs);  // logged if it fails: client deadlines would not be enforced
  started_.set_value();
  uv_run(&loop_, UV_RUN_DEFAULT);
}

// On the worker's thread: the ring is this thread's (and submits from it only).
void Worker::startIoBackend() {
  if (processIoBackend(ctx_->snapshot->config->io) != IoBackend::Uring) return;
  auto ring = std::make_unique<UringLoop>();
  std::string error;
  if (!ring->init(&loop_, error)) {
    logError("worker " + std::to_string(index_) + ": io_uring: " + error + "; using epoll");
    ring->close();
    ring_ = std::move(ring);  // its handles close with the loop; no socket uses it
    return;
  }
  ring_ = std::move(ring);
  ctx_->pool.uring = ring_.get();
}

void Worker::post(std::function<void(Worker&)> fn) {
  {
    std::lock_guard lock(mu_);
    inbox_.push_back(std::move(fn));
  }
  if (int rc = uv_async_send(&async_); rc != 0) {
    uvCheck(rc, "worker " + std::to_string(index_) + ": uv_async_send");
  }
}

void Worker::onAsync(uv_async_t* a) {
  auto* w = static_cast<Worker*>(a->data);
  std::vector<std::function<void(Worker&)>> jobs;
  {
    std::lock_guard lock(w->mu_);
    jobs.swap(w->inbox_);
  }
  for (auto& job : jobs) job(*w);
}

// Client timeouts are checked here, a few times a second, instead of by one timer per
// connection; they fire up to kSweepMs late.
void Worker::onSweep() {
  uint64_t now = uv_now(&loop_);
  ctx_->connections.forEach<ClientConnection>(
      [now](ClientConnection* c) { c->checkDeadline(now); });
  ctx_->pool.sweep(now);
  memory_.observe(static_cast<int64_t>(ctx_->connections.size()), ctx_->parse_states);
  handOverSpans();
  for (Listener* l : listeners_) {
    if (l->starved) uvCheck(uv_poll_start(&l->poll, UV_READABLE, onAcceptable), "listener poll");
  }
}

void Worker::onPrepare() {
  active_.store(static_cast<int64_t>(ctx_->connections.size()), std::memory_order_relaxed);
  if (ctx_->access_log.buffered() > 0) ctx_->access_log.flush();
  if (ctx_->span_batch.spans >= kSpanHandOver) handOverSpans();
}

void Worker::handOverSpans() {
  if (ctx_->span_batch.spans > 0) ctx_->shared.span_exporter->submit(ctx_->span_batch);
}

void Worker::openListener(const ListenerSocket& s) {
  auto* l = new Listener;
  l->name = s.name;
  l->address = s.address;
  l->series.name = internListenerName(s.name);
  l->series.total = &metrics_.downstream_connections_total.with({s.name});
  metrics_.downstream_connections_evicted_total.with({s.name});  // a 0 sample from the start
  l->series.active = &metrics_.downstream_connections_active.with({s.name});
  l->series.tls = listenerTls(*ctx_->snapshot, s.address);
  l->series.proxy_protocol = listenerProxyProtocol(*ctx_->snapshot, s.address);
  l->series.http2 = listenerHttp2(*ctx_->snapshot, s.address);
  // As the socket was opened (a reload keeps the socket and this).
  l->series.deferred = listenerDeferAccept(*ctx_->snapshot, s.address);
  l->worker = this;
  l->fd = s.fd;
  int r = ::listen(s.fd, 4096) == 0 ? 0 : uv_translate_sys_error(errno);
  if (r == 0) r = uv_poll_init_socket(&loop_, &l->poll, s.fd);
  if (r != 0) {
    logError("worker " + std::to_string(index_) + ": cannot listen on " + s.address + ": " +
             uv_strerror(r));
    ::close(s.fd);
    delete l;
    return;
  }
  l->poll.data = l;
  if (!uvCheck(uv_poll_start(&l->poll, UV_READABLE, onAcceptable),
               "worker " + std::to_string(index_) + ": listener " + s.address)) {
    closeListener(l);
    return;
  }
  listeners_.push_back(l);
}

void Worker::closeListener(Listener* l) {
  uvClose(&l->poll, [](uv_handle_t* h) {
    auto* l = static_cast<Listener*>(h->data);
    ::close(l->fd);
    delete l;
  });
}

// One connection per readiness report: the listening socket stays readable (level-triggered)
// while more are queued, so none wait, and no accept4 is spent on an empty queue.
void Worker::onAcceptable(uv_poll_t* poll, int status, int) {
  auto* l = static_cast<Listener*>(poll->data);
  if (status != 0) return;
  sockaddr_storage peer{};
  socklen_t len = sizeof peer;
  int fd;
  do {
    fd = ::accept4(l->fd, reinterpret_cast<sockaddr*>(&peer), &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) {
    int err = errno;
    if (err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM) {
      // Out of descriptors or memory: stop polling (it would spin) until the next sweep, and
      // say so once per episode.
      if (!l->starved) logError("accept on " + l->address + ": " + std::strerror(err));
      l->starved = true;
      uvCheck(uv_poll_stop(&l->poll), "listener poll");
    }
    return;  // EAGAIN, ECONNABORTED and the like: nothing to do
  }
  l->starved = false;
  ClientConnection::adopt(*l->worker->ctx_, fd, reinterpret_cast<const sockaddr*>(&peer),
                          l->series);
}

void Worker::applyAccessLog() {
  const config::AccessLog& al = ctx_->snapshot->config->access_log;
  std::string key =
      al.path + (al.format == config::AccessLogFormat::Json       ? "|json"
                 : al.format == config::AccessLogFormat::Combined ? "|combined"
                                                                  : "|" + al.line_template);
  if (key == access_log_key_) return;
  access_log_key_ = key;
  ctx_->access_log.flush();
  AccessLogWriter next;
  std::string error;
  auto format = al.format == config::AccessLogFormat::Json       ? AccessLogFormat::Json
                : al.format == config::AccessLogFormat::Combined ? AccessLogFormat::Combined
                                                                 : AccessLogFormat::Template;
  if (!next.open(al.path, format, error)) {
    logError("access log: " + error);
  }
  if (format == AccessLogFormat::Template)
    next.setTemplate(AccessLogTemplate::compile(al.line_template));
  ctx_->access_log = std::move(next);
}

void Worker::reopenAccessLog() {
  std::string error;
  if (ctx_->access_log.enabled() && !ctx_->access_log.reopen(error)) {
    logError("access log: " + error);
  }
}

void Worker::reload(SnapshotPtr snapshot, std::vector<ListenerSocket> added) {
  post([snapshot = std::move(snapshot), added = std::move(added)](Worker& w) mutable {
    if (w.stopping_) {
      for (auto& s : added) ::close(s.fd);
      return;
    }
    w.ctx_->adopt(std::move(snapshot));
    w.applyAccessLog();
    const auto& wanted = w.ctx_->snapshot->config->listeners;
    std::vector<Listener*> keep;
    for (Listener* l : w.listeners_) {
      const config::Listener* still = nullptr;
      for (const config::Listener& c : wanted) {
        if (c.address.text() == l->address) still = &c;
      }
      if (still == nullptr) {
        w.closeListener(l);
      } else {
        l->series.tls = listenerTls(*w.ctx_->snapshot, l->address);  // new certificates
        l->series.proxy_protocol = still->proxy_protocol;
        l->series.http2 = still->http2;
        if (l->name != still->name) {
          l->name = still->name;
          l->series.name = internListenerName(still->name);
          l->series.total = &w.metrics_.downstream_connections_total.with({still->name});
          l->series.active = &w.metrics_.downstream_connections_active.with({still->name});
        }
        keep.push_back(l);
      }
    }
    w.listeners_ = std::move(keep);
    for (const ListenerSocket& s : added) w.openListener(s);
    // HTTP/2 clients get GOAWAY (nginx's old workers do the same): their streams in flight
    // finish, and they reconnect to the new listener settings. HTTP/1.1 connections stay.
    auto conns = w.ctx_->connections.snapshot<ClientConnection>();
    for (ClientConnection* c : conns) c->reloaded();
  });
}

void Worker::drain() {
  post([](Worker& w) {
    for (Listener* l : w.listeners_) w.closeListener(l);
    w.listeners_.clear();
    auto conns = w.ctx_->connections.snapshot<ClientConnection>();
    for (ClientConnection* c : conns) c->drain();
    // Counted now, not at the next loop iteration: a connection accepted earlier in this one
    // (its request unread yet) must keep the process from stopping. The count only falls from
    // here, since nothing is accepted any more.
    w.active_.store(static_cast<int64_t>(w.ctx_->connections.size()), std::memory_order_relaxed);
    w.drained_.store(true, std::memory_order_release);
  });
}

void Worker::stop() {
  post([](Worker& w) {
    w.stopping_ = true;
    for (Listener* l : w.listeners_) w.closeListener(l);
    w.listeners_.clear();
    auto conns = w.ctx_->connections.snapshot<ClientConnection>();
    for (ClientConnection* c : conns) c->abort();
    w.ctx_->pool.closeAll();
    if (w.ring_) w.ring_->close();  // once its last socket is closed
    w.ctx_->access_log.flush();
    w.handOverSpans();
    uvClose(&w.async_);
    w.prepare_.close();
    w.sweep_.close();
  });
}

void Worker::join() {
  if (thread_.joinable()) thread_.join();
}

}  // namespace sluice::proxy
