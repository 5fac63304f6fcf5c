// Resolving upstream target addresses without blocking a loop: IP literals are parsed in place,
// host names expand to every address they have (uv_getaddrinfo in libuv's thread pool, or c-ares
// with the config's `resolver:` servers), `srv:` targets to the addresses of their SRV records
// (c-ares). Runs on the main thread's loop at start, on every reload and every `resolve_every`.
#pragma once

#include <uv.h>

#include <functional>
#include <string>
#include <vector>

#include "config/config.h"
#include "proxy/runtime/snapshot.h"
#include "proxy/upstream/dns_client.h"

namespace sluice::proxy {

using ResolveDone = std::function<void(std::vector<ResolvedTarget> resolved, std::string error)>;

// Resolves every distinct target of `config` (each ResolvedTarget names its config target in
// `source`; expandTargets() turns them into an upstream's targets). A target that fails to
// resolve keeps its addresses from `previous` when it had some (logged when it first fails, and
// when it resolves again); otherwise `error` names it. `dns` serves the c-ares lookups. `done`
// runs on `loop`'s thread, possibly before resolveTargets returns.
void resolveTargets(uv_loop_t* loop, DnsClient& dns, const config::Config& config,
                    const std::vector<ResolvedTarget>& previous, ResolveDone done);

// Parses an IP literal host and port into `out`; false for a name.
bool parseIpLiteral(const std::string& host, uint16_t port, ResolvedTarget& out);

}  // namespace sluice::proxy
