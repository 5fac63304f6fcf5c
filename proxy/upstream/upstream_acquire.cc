#include "proxy/upstream/upstream_acquire.h"

#include "proxy/tls/tls_context.h"
#include "proxy/upstream/h2/h2_pool.h"

namespace sluice::proxy {

UpstreamConnection::Timeouts tryTimeouts(const config::Upstream& uc) {
  UpstreamConnection::Timeouts t;
  t.connect = uc.timeouts.connect;
  t.response = uc.timeouts.response;
  if (uc.retries.per_try_timeout && *uc.retries.per_try_timeout < t.response) {
    t.response = *uc.retries.per_try_timeout;
  }
  t.idle = uc.timeouts.idle;
  t.keepalive = uc.keepalive;
  return t;
}

const std::string& upstreamServerName(const UpstreamRuntime& upstream,
                                      const ResolvedTarget& target) {
  const TlsClientContext* tls = upstream.tls.get();
  return tls != nullptr && !tls->sni().empty() ? tls->sni() : target.host;
}

std::vector<std::string> upstreamPoolKeys(const Snapshot& snapshot) {
  std::vector<std::string> keys;
  for (const UpstreamRuntime& u : snapshot.upstreams) {
    for (const ResolvedTarget& t : u.targets) {
      keys.push_back(poolKey(t.address, u.tls.get(), upstreamServerName(u, t)));
    }
  }
  return keys;
}

UpstreamStream* acquireUpstream(WorkerContext& ctx, const UpstreamRuntime& upstream,
                                const ResolvedTarget& target, UpstreamHandler* handler,
                                bool allow_pooled, bool& pooled) {
  UpstreamConnection::Timeouts t = tryTimeouts(*upstream.config);
  pooled = false;
  const TlsClientContext* tls = upstream.tls.get();
  const std::string& name = upstreamServerName(upstream, target);
  if (upstream.config->protocol != config::UpstreamProtocol::Http1) {
    // A session is shared, so a stale one is noticed by all its streams: `allow_pooled` (the
    // one resend after a stale pooled connection) needs no fresh session here.
    if (tls == nullptr) {
      return ctx.pool.h2().acquire(ctx.loop, upstream, target, target.address, t, name, handler,
                                   pooled);
    }
    return ctx.pool.h2().acquire(ctx.loop, upstream, target, poolKey(target.address, tls, name), t,
                                 name, handler, pooled);
  }
  if (allow_pooled) {
    // A plain connection's key is its address: no string is built per request.
    UpstreamConnection* idle = tls == nullptr ? ctx.pool.take(target.address)
                                              : ctx.pool.take(poolKey(target.address, tls, name));
    if (idle != nullptr) {
      idle->attach(handler, t);
      pooled = true;
      return idle;
    }
  }
  return UpstreamConnection::connect(ctx.loop, &ctx.pool, target, t, handler, tls, name);
}

}  // namespace sluice::proxy
