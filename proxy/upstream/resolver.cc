#include "proxy/upstream/resolver.h"

#include <arpa/inet.h>
#include <netdb.h>

#include <cstring>
#include <memory>

#include "proxy/runtime/log.h"
#include "proxy/upstream/target_expansion.h"

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
using BatchPtr = std::shared_ptr<Batch>;

void finishOne(const BatchPtr& batch) {
  if (--batch->pending == 0) batch->done(std::move(batch->resolved), std::move(batch->error));
}

// The outcome of one config target (`source`, described as `what` in log lines): its addresses,
// or, when it found none, the addresses the previous resolution had for it.
void settle(const BatchPtr& batch, const std::string& source, const std::string& what,
            std::vector<ResolvedTarget> found, const std::string& error) {
  Batch& b = *batch;
  bool was_stale = false;
  std::vector<ResolvedTarget> kept;
  for (const ResolvedTarget& p : b.previous) {
    if (p.source != source) continue;
    was_stale = was_stale || p.stale;
    kept.push_back(p);
  }
  if (!found.empty()) {
    if (was_stale) logInfo(what + " resolves again");
    for (ResolvedTarget& t : found) b.resolved.push_back(std::move(t));
  } else if (!kept.empty()) {
    if (!was_stale) {
      logWarn(what + " did not resolve (" + error + "); keeping its last addresses");
    }
    for (ResolvedTarget& t : kept) {
      t.stale = true;
      b.resolved.push_back(std::move(t));
    }
  } else if (b.error.empty()) {
    b.error = what + " does not resolve: " + error;
  }
  finishOne(batch);
}

std::vector<const sockaddr*> pointers(const std::vector<sockaddr_storage>& addrs) {
  std::vector<const sockaddr*> out;
  for (const sockaddr_storage& a : addrs) out.push_back(reinterpret_cast<const sockaddr*>(&a));
  return out;
}

struct Lookup {
  uv_getaddrinfo_t req;
  BatchPtr batch;
  config::Target target;
};

void onResolved(uv_getaddrinfo_t* req, int status, addrinfo* res) {
  std::unique_ptr<Lookup> lookup(static_cast<Lookup*>(req->data));
  const config::Target& t = lookup->target;
  std::vector<const sockaddr*> addrs;
  for (addrinfo* a = status == 0 ? res : nullptr; a != nullptr; a = a->ai_next) {
    if (a->ai_addr != nullptr) addrs.push_back(a->ai_addr);
  }
  auto found = addressTargets(t.address, t.parsed.host, t.parsed.port, addrs);
  std::string error = status != 0 ? uv_strerror(status) : "no addresses";
  if (res != nullptr) uv_freeaddrinfo(res);
  settle(lookup->batch, t.address, "target " + t.address, std::move(found), error);
}

// A name through libuv's getaddrinfo (nsswitch: /etc/hosts, DNS, ...).
void lookUpName(uv_loop_t* loop, const BatchPtr& batch, const config::Target& t) {
  auto lookup = std::make_unique<Lookup>();
  lookup->batch = batch;
  lookup->target = t;
  lookup->req.data = lookup.get();
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  std::string port = std::to_string(t.parsed.port);
  int rc =
      uv_getaddrinfo(loop, &lookup->req, onResolved, t.parsed.host.c_str(), port.c_str(), &hints);
  if (rc != 0) {
    settle(batch, t.address, "target " + t.address, {}, uv_strerror(rc));
    return;
  }
  lookup.release();
}

// A name through c-ares and the `resolver:` servers.
void lookUpNameAres(DnsClient& dns, const BatchPtr& batch, const config::Target& t) {
  dns.lookup(t.parsed.host, t.parsed.port,
             [batch, t](std::vector<sockaddr_storage> addrs, std::string error) {
               auto found =
                   addressTargets(t.address, t.parsed.host, t.parsed.port, pointers(addrs));
               settle(batch, t.address, "target " + t.address, std::move(found), error);
             });
}

// An `srv:` target: its SRV records, then the addresses of the usable ones. A record whose host
// does not resolve is left out; the target fails when none resolves.
void lookUpSrv(DnsClient& dns, const BatchPtr& batch, const config::Target& t) {
  std::string source = targetSource(t);
  std::string what = "target srv " + t.srv;
  DnsClient* client = &dns;
  dns.querySrv(t.srv, [client, batch, source, what](std::vector<SrvRecord> records,
                                                    std::string error) {
    std::vector<SrvRecord> usable = usableSrvRecords(std::move(records));
    if (!error.empty() || usable.empty()) {
      settle(batch, source, what, {}, error.empty() ? "no usable SRV records" : error);
      return;
    }
    struct Gather {
      size_t remaining = 0;
      std::vector<ResolvedTarget> found;
      std::string first_error;
    };
    auto g = std::make_shared<Gather>();
    g->remaining = usable.size();
    for (const SrvRecord& rec : usable) {
      client->lookup(
          rec.host, rec.port,
          [batch, source, what, g, rec](std::vector<sockaddr_storage> addrs, std::string e) {
            for (ResolvedTarget& r : addressTargets(source, rec.host, rec.port, pointers(addrs))) {
              r.weight = rec.weight;
              g->found.push_back(std::move(r));
            }
            if (!e.empty() && g->first_error.empty()) g->first_error = rec.host + ": " + e;
            if (--g->remaining == 0)
              settle(batch, source, what, std::move(g->found), g->first_error);
          });
    }
  });
}
}  // namespace

void resolveTargets(uv_loop_t* loop, DnsClient& dns, const config::Config& config,
                    const std::vector<ResolvedTarget>& previous, ResolveDone done) {
  auto batch = std::make_shared<Batch>();
  batch->previous = previous;
  batch->done = std::move(done);
  batch->pending = 1;  // held until every lookup is started
  bool any_srv = false;
  for (const config::Upstream& u : config.upstreams) {
    for (const config::Target& t : u.targets) any_srv = any_srv || !t.srv.empty();
  }
  if (any_srv || config.resolver) {
    std::string error;  // when c-ares cannot start, its lookups fail with it
    dns.use(config.resolver ? config.resolver->servers : std::vector<config::Address>{}, error);
  }
  std::vector<std::string> seen;
  for (const config::Upstream& u : config.upstreams) {
    for (const config::Target& t : u.targets) {
      std::string source = targetSource(t);
      bool dup = false;
      for (const std::string& s : seen) dup = dup || s == source;
      if (dup) continue;
      seen.push_back(source);
      batch->pending++;
      ResolvedTarget r;
      if (!t.srv.empty()) {
        lookUpSrv(dns, batch, t);
      } else if (parseIpLiteral(t.parsed.host, t.parsed.port, r)) {
        r.address = t.address;
        r.host = t.parsed.host;
        r.name = t.address;
        r.source = source;
        batch->resolved.push_back(r);
        finishOne(batch);
      } else if (config.resolver) {
        lookUpNameAres(dns, batch, t);
      } else {
        lookUpName(loop, batch, t);
      }
    }
  }
  finishOne(batch);
}

}  // namespace sluice::proxy
