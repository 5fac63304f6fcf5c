// Resolving upstream target addresses without blocking a loop: IP literals are parsed in place,
// host names go through uv_getaddrinfo (libuv's thread pool). Runs on the main thread's loop at
// start and on every reload.
#pragma once

#include <uv.h>

#include <functional>
#include <string>
#include <vector>

#include "config/config.h"
#include "proxy/runtime/snapshot.h"

namespace sluice::proxy {

using ResolveDone = std::function<void(std::vector<ResolvedTarget> resolved, std::string error)>;

// Resolves every distinct target address of `config`. A name that fails to resolve keeps its
// address from `previous` when it had one (logged); otherwise `error` names it. `done` runs on
// `loop`'s thread, possibly before resolveTargets returns.
void resolveTargets(uv_loop_t* loop, const config::Config& config,
                    const std::vector<ResolvedTarget>& previous, ResolveDone done);

// Parses an IP literal host and port into `out`; false for a name.
bool parseIpLiteral(const std::string& host, uint16_t port, ResolvedTarget& out);

}  // namespace sluice::proxy
