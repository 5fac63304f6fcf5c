// Getting a stream to a chosen target for one request: for HTTP/1.1 a pooled idle connection
// when allowed, otherwise a new one (over TLS when the upstream has `tls:`); for HTTP/2 a stream
// on a shared session; with the upstream's timeouts.
// Shared by the Exchange and background fetches.
#pragma once

#include <string>
#include <vector>

#include "proxy/runtime/snapshot.h"
#include "proxy/runtime/worker_context.h"
#include "proxy/upstream/upstream_connection.h"

namespace sluice::proxy {

// The connection timeouts a try to `upstream` uses (per_try_timeout caps the response timeout).
UpstreamConnection::Timeouts tryTimeouts(const config::Upstream& upstream);

// The TLS server name (SNI, verified name) for `target`: the upstream's `sni`, else the host.
const std::string& upstreamServerName(const UpstreamRuntime& upstream,
                                      const ResolvedTarget& target);

// The pool keys of every target of `snapshot`: idle connections under other keys belong to
// upstreams or TLS settings a reload removed.
std::vector<std::string> upstreamPoolKeys(const Snapshot& snapshot);

// A pooled connection (attached to `handler`, `pooled` set: the caller sends at once) or a new
// one connecting (the handler hears onUpstreamConnected). Null when a connect could not start.
// For an HTTP/2 upstream (h2, h2c): a stream on a shared session (H2Pool), `pooled` when the
// session is already up.
UpstreamStream* acquireUpstream(WorkerContext& ctx, const UpstreamRuntime& upstream,
                                const ResolvedTarget& target, UpstreamHandler* handler,
                                bool allow_pooled, bool& pooled);

}  // namespace sluice::proxy
