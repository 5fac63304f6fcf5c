#include "proxy/upstream/resolver.h"

#include <arpa/inet.h>
#include <netdb.h>

#include <cstring>
#include <memory>

#include "proxy/runtime/log.h"

namespace sluice::proxy {

bool parseIpLiteral(const std::string& host, uint16_t port, ResolvedTarget& out) {
  auto* v4 = reinterpret_cast<sockaddr_in*>(&out.addr);
  if (inet_pton(AF_INET, host.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(port);
    out.addr_len = sizeof(sockaddr_in);
    return true;
  }
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&out.addr);
  if (inet_pton(AF_INET6, host.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(port);
    out.addr_len = sizeof(sockaddr_in6);
    return true;
  }
  return false;
}

namespace {
struct Batch {
  std::vector<ResolvedTarget> resolved;
  std::vector<ResolvedTarget> previous;
  std::string error;
  size_t pending = 0;
  ResolveDone done;
};

struct Lookup {
  uv_getaddrinfo_t req;
  std::shared_ptr<Batch> batch;
  std::string address;
  uint16_t port;
};

void finishOne(const std::shared_ptr<Batch>& batch) {
  if (--batch->pending == 0) batch->done(std::move(batch->resolved), std::move(batch->error));
}

void onResolved(uv_getaddrinfo_t* req, int status, addrinfo* res) {
  std::unique_ptr<Lookup> lookup(static_cast<Lookup*>(req->data));
  Batch& b = *lookup->batch;
  if (status == 0 && res != nullptr) {
    ResolvedTarget t;
    t.address = lookup->address;
    std::memcpy(&t.addr, res->ai_addr, res->ai_addrlen);
    t.addr_len = static_cast<socklen_t>(res->ai_addrlen);
    b.resolved.push_back(t);
  } else {
    const ResolvedTarget* old = nullptr;
    for (const ResolvedTarget& p : b.previous) {
      if (p.address == lookup->address) old = &p;
    }
    if (old != nullptr) {
      logWarn("target " + lookup->address + " did not resolve (" + uv_strerror(status) +
              "); keeping its last address");
      b.resolved.push_back(*old);
    } else if (b.error.empty()) {
      b.error = "target " + lookup->address + " does not resolve: " + uv_strerror(status);
    }
  }
  if (res != nullptr) uv_freeaddrinfo(res);
  finishOne(lookup->batch);
}
}  // namespace

void resolveTargets(uv_loop_t* loop, const config::Config& config,
                    const std::vector<ResolvedTarget>& previous, ResolveDone done) {
  auto batch = std::make_shared<Batch>();
  batch->previous = previous;
  batch->done = std::move(done);
  batch->pending = 1;  // held until every lookup is started
  std::vector<std::string> seen;
  for (const config::Upstream& u : config.upstreams) {
    for (const config::Target& t : u.targets) {
      bool dup = false;
      for (const std::string& s : seen) dup = dup || s == t.address;
      if (dup) continue;
      seen.push_back(t.address);
      ResolvedTarget r;
      r.address = t.address;
      if (parseIpLiteral(t.parsed.host, t.parsed.port, r)) {
        batch->resolved.push_back(r);
        continue;
      }
      auto lookup = std::make_unique<Lookup>();
      lookup->batch = batch;
      lookup->address = t.address;
      lookup->port = t.parsed.port;
      lookup->req.data = lookup.get();
      addrinfo hints{};
      hints.ai_family = AF_UNSPEC;
      hints.ai_socktype = SOCK_STREAM;
      std::string port = std::to_string(t.parsed.port);
      batch->pending++;
      int r2 = uv_getaddrinfo(loop, &lookup->req, onResolved, t.parsed.host.c_str(), port.c_str(),
                              &hints);
      if (r2 != 0) {
        batch->pending--;
        if (batch->error.empty())
          batch->error = "cannot resolve " + t.address + ": " + uv_strerror(r2);
        continue;
      }
      lookup.release();
    }
  }
  finishOne(batch);
}

}  // namespace sluice::proxy
