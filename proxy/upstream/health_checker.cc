#include "proxy/upstream/health_checker.h"

#include <llhttp.h>

#include <algorithm>
#include <random>

#include "config/json_dump.h"
#include "proxy/net/uv_handle.h"
#include "proxy/runtime/log.h"
#include "proxy/tls/tls_context.h"
#include "proxy/tls/tls_session.h"
#include "proxy/upstream/h2/h2_probe.h"

namespace sluice::proxy {

namespace {
std::string settingsKey(const config::Upstream& u, const ResolvedTarget& t) {
  const config::HealthCheck& h = *u.health_check;
  std::string key = u.name + "\n" + t.address + "\n" + h.path + "\n" +
                    std::to_string(h.interval.count()) + "/" + std::to_string(h.timeout.count()) +
                    "/" + std::to_string(h.healthy_threshold) + "/" +
                    std::to_string(h.unhealthy_threshold) + (u.tls ? "/tls" : "") +
                    (u.protocol != config::UpstreamProtocol::Http1 ? "/h2" : "");
  for (const auto& r : h.expect_status)
    key += "/" + std::to_string(r.lo) + "-" + std::to_string(r.hi);
  return key;
}
}  // namespace

// One target's prober: a timer, and at most one probe connection at a time. Freed when stopped
// (its timer's memory in the timer's close callback); a probe is freed when its socket is closed.
struct HealthChecker::Prober {
  uv_loop_t* loop;
  base::EventRecorder* events = nullptr;
  std::string upstream;
  ResolvedTarget target;
  config::HealthCheck cfg;
  std::shared_ptr<balancer::TargetState> state;
  std::shared_ptr<TlsClientContext> tls;
  std::string server_name;
  bool h2 = false;  // the upstream speaks HTTP/2 (h2 or h2c): the probe does too
  Timer timer;      // the next probe
  std::mt19937_64 rng{std::random_device{}()};
  bool stopping = false;

  struct Probe {
    Prober* owner;
    uv_tcp_t tcp;  // data: this Probe, deleted in its close callback
    Timer timeout;
    uv_connect_t connect_req;
    llhttp_t parser;
    std::unique_ptr<TlsSession> tls;
    std::unique_ptr<H2Probe> h2;
    int status = 0;
    bool done = false;
  };
  Probe* probe = nullptr;

  void schedule() {
    uint64_t base = static_cast<uint64_t>(cfg.interval.count());
    uint64_t jitter = base / 10;
    uint64_t delay = base - jitter + (jitter > 0 ? rng() % (2 * jitter + 1) : 0);
    timer.start(delay);  // logged if it fails: the target keeps its last verdict
  }

  void verdict(bool passed) {
    int64_t now = static_cast<int64_t>(uv_now(loop));
    balancer::HealthChange change = state->onHealthCheck(passed, now, cfg);
    if (change == balancer::HealthChange::BecameUnhealthy) {
      std::string why = cfg.path + " failed " +
                        std::to_string(std::max<uint32_t>(cfg.unhealthy_threshold, 1)) + " times";
      logWarn("upstream " + upstream + ": target " + target.address + " is unhealthy (" + why +
              ")");
      if (events != nullptr) {
        events->record(base::EventKind::TargetHealth, upstream + " " + target.address, "unhealthy",
                       why);
      }
    } else if (change == balancer::HealthChange::BecameHealthy) {
      logInfo("upstream " + upstream + ": target " + target.address + " is healthy again");
      if (events != nullptr) {
        events->record(base::EventKind::TargetHealth, upstream + " " + target.address, "healthy",
                       cfg.path + " passed " +
                           std::to_string(std::max<uint32_t>(cfg.healthy_threshold, 1)) + " times");
      }
    }
  }

  static Probe* self(llhttp_t* p) { return static_cast<Probe*>(p->data); }

  void finish(Probe* p, bool passed) {
    if (p->done) return;
    p->done = true;
    if (!stopping) verdict(passed);
    p->timeout.close();
    uvCloseDelete<Probe>(&p->tcp);
    probe = nullptr;
    if (!stopping) schedule();
  }

  bool expected(int status) const {
    for (const auto& r : cfg.expect_status) {
      if (status >= r.lo && status <= r.hi) return true;
    }
    return false;
  }

  static const llhttp_settings_t* settings() {
    static const llhttp_settings_t s = [] {
      llhttp_settings_t x;
      llhttp_settings_init(&x);
      x.on_headers_complete = [](llhttp_t* parser) -> int {
        self(parser)->status = llhttp_get_status_code(parser);
        return HPE_PAUSED;  // the status is all a probe needs
      };
      return x;
    }();
    return &s;
  }

  void onPlain(Probe* p, const char* data, size_t len) {
    if (p->h2) {
      std::string out;
      int status = p->h2->feed(data, len, out);
      if (status == 0 && !out.empty() && !send(p, out)) status = -1;
      if (status != 0) finish(p, status > 0 && expected(status));
      return;
    }
    llhttp_errno_t err = llhttp_execute(&p->parser, data, len);
    if (p->status != 0) {
      finish(p, expected(p->status));
    } else if (err != HPE_OK) {
      finish(p, false);
    }
  }

  bool send(Probe* p, const std::string& bytes) {
    std::string out;
    if (p->tls) {
      uv_buf_t b =
          uv_buf_init(const_cast<char*>(bytes.data()), static_cast<unsigned>(bytes.size()));
      if (!bytes.empty() && !p->tls->encrypt(&b, 1)) return false;
      p->tls->drain([&](const char* d, size_t n) {
        out.append(d, n);
        return true;
      });
    } else {
      out = bytes;
    }
    if (out.empty()) return true;
    struct W {
      uv_write_t req;
      std::string data;
    };
    auto* w = new W{{}, std::move(out)};
    uv_buf_t b = uv_buf_init(w->data.data(), static_cast<unsigned>(w->data.size()));
    int r = uv_write(&w->req, reinterpret_cast<uv_stream_t*>(&p->tcp), &b, 1,
                     [](uv_write_t* req, int) { delete reinterpret_cast<W*>(req); });
    if (r != 0) delete w;
    return r == 0;
  }

  // The request's bytes: HTTP/1.1, or an HTTP/2 session's preface and GET (started here).
  std::string request(Probe* p) const {
    std::string host =
        target.host.find(':') != std::string::npos ? "[" + target.host + "]" : target.host;
    if (h2) {
      std::string out;
      p->h2 = std::make_unique<H2Probe>();
      if (!p->h2->start(cfg.path, host, tls != nullptr, out)) return "";
      return out;
    }
    return "GET " + cfg.path + " HTTP/1.1\r\nhost: " + host +
           "\r\nuser-agent: sluice-health-check\r\nconnection: close\r\n\r\n";
  }

  void start() {
    if (stopping || probe != nullptr) return;
    auto* p = new Probe;
    p->owner = this;
    if (!uvCheck(uv_tcp_init(loop, &p->tcp), target.address, "health check uv_tcp_init")) {
      delete p;  // libuv keeps nothing of a handle whose init failed
      verdict(false);
      schedule();
      return;
    }
    probe = p;
    p->tcp.data = p;
    p->connect_req.data = p;
    llhttp_init(&p->parser, HTTP_RESPONSE, settings());
    p->parser.data = p;
    // A probe that cannot be timed out could hang forever: it fails instead (logged).
    if (!p->timeout.init(loop, "health check timeout", [p] { p->owner->finish(p, false); }) ||
        !p->timeout.start(static_cast<uint64_t>(cfg.timeout.count()))) {
      finish(p, false);
      return;
    }
    int r = uv_tcp_connect(&p->connect_req, &p->tcp,
                           reinterpret_cast<const sockaddr*>(&target.addr), onConnect);
    if (r != 0) finish(p, false);  // a connect refused at once is the probe's verdict
  }

  static void onConnect(uv_connect_t* req, int status) {
    auto* p = static_cast<Probe*>(req->data);
    Prober* self = p->owner;
    if (p->done) return;
    if (status != 0) {
      self->finish(p, false);
      return;
    }
    if (self->tls) {
      p->tls = std::make_unique<TlsSession>(self->tls->context(), false, self->server_name);
      if (self->tls->verify() && !self->server_name.empty()) {
        SSL_set1_host(p->tls->ssl(), self->server_name.c_str());
      }
      if (p->tls->start() != TlsSession::Status::Ok || !self->send(p, "")) {
        self->finish(p, false);
        return;
      }
    } else if (!self->send(p, self->request(p))) {
      self->finish(p, false);
      return;
    }
    int rc = uv_read_start(
        reinterpret_cast<uv_stream_t*>(&p->tcp),
        [](uv_handle_t*, size_t, uv_buf_t* buf) {
          thread_local char storage[16384];
          *buf = uv_buf_init(storage, sizeof storage);
        },
        [](uv_stream_t* s, ssize_t n, const uv_buf_t* buf) {
          auto* pr = static_cast<Probe*>(s->data);
          Prober* owner = pr->owner;
          if (pr->done) return;
          if (n < 0) {
            owner->finish(pr, false);
            return;
          }
          if (n == 0) return;
          if (!pr->tls) {
            owner->onPlain(pr, buf->base, static_cast<size_t>(n));
            return;
          }
          bool was_done = pr->tls->handshakeDone();
          auto st =
              pr->tls->feed(buf->base, static_cast<size_t>(n), [&](const char* d, size_t len) {
                owner->onPlain(pr, d, len);
                return !pr->done;
              });
          if (pr->done) return;
          if (st == TlsSession::Status::Error) {
            owner->finish(pr, false);
            return;
          }
          if (!was_done && pr->tls->handshakeDone()) {
            if (!owner->send(pr, owner->request(pr))) owner->finish(pr, false);
            return;
          }
          if (!owner->send(pr, "")) owner->finish(pr, false);  // handshake messages
        });
    if (!uvCheck(rc, self->target.address, "health check uv_read_start")) {
      self->finish(p, false);
    }
  }
};

HealthChecker::HealthChecker(uv_loop_t* loop, base::EventRecorder* events)
    : loop_(loop), events_(events) {}

HealthChecker::~HealthChecker() {
  stop();
}

void HealthChecker::apply(const SnapshotPtr& snapshot) {
  std::map<std::string, Prober*> next;
  for (const UpstreamRuntime& u : snapshot->upstreams) {
    if (!u.config->health_check) continue;
    for (size_t i = 0; i < u.targets.size(); ++i) {
      std::string key = settingsKey(*u.config, u.targets[i]);
      auto it = probers_.find(key);
      if (it != probers_.end()) {
        it->second->target = u.targets[i];  // a re-resolved address takes effect at the next probe
        next[key] = it->second;
        probers_.erase(it);
        continue;
      }
      auto* p = new Prober;
      p->loop = loop_;
      p->events = events_;
      p->upstream = u.config->name;
      p->target = u.targets[i];
      p->cfg = *u.config->health_check;
      p->state = u.target_states[i];
      p->tls = u.tls;
      p->h2 = u.config->protocol != config::UpstreamProtocol::Http1;
      if (u.tls) p->server_name = !u.tls->sni().empty() ? u.tls->sni() : u.targets[i].host;
      if (!p->timer.init(loop_, "health check timer", [p] { p->start(); })) {
        delete p;  // logged; this target is not probed
        continue;
      }
      p->start();  // first verdict as soon as possible
      next[key] = p;
    }
  }
  stop();  // what is left in probers_ is no longer wanted
  probers_ = std::move(next);
}

void HealthChecker::stop() {
  for (auto& [key, p] : probers_) {
    p->stopping = true;
    if (p->probe != nullptr) p->finish(p->probe, false);
    delete p;  // its timer closes (freed once closed); a finished probe no longer uses it
  }
  probers_.clear();
}

}  // namespace sluice::proxy
