// The admin listener's runtime API for upstream targets (issue 16 item 9), Kong-like:
//   GET  /upstreams                                       what is in force, as JSON
//   GET  /upstreams/NAME                                  one upstream
//   POST /upstreams/NAME/targets/ADDRESS/drain            no new requests; in-flight ones finish
//   POST /upstreams/NAME/targets/ADDRESS/enable           undoes drain
//   POST /upstreams/NAME/targets/ADDRESS/weight?value=N   weight N (0..1000000) instead of the
//                                                         config's
// ADDRESS is the target's address (percent-encoded or not: 127.0.0.1:8081, %5B%3A%3A1%5D%3A80):
// an `ip:port`, or a config target as written (a host name's `host:port`, `srv:NAME`) for every
// address it resolved to now (answered as {"source", "targets": [...]}). Changes go to the
// process-wide target state (balancer/target_override.h), so every worker sees them, and last until
// the next successful reload. Errors are JSON: 404 unknown upstream/target/endpoint, 405 wrong
// method, 400 bad weight.
#pragma once

#include <cstdint>
#include <string_view>

#include "proxy/admin/admin_server.h"
#include "proxy/runtime/snapshot.h"

namespace sluice::proxy {

// Whether `path` belongs to this API (/upstreams and below).
bool isRuntimeApiPath(std::string_view path);

// Answers one request of this API against `snapshot` (the one in force). Main thread.
AdminResponse runtimeApi(const AdminRequest& request, const Snapshot& snapshot, int64_t now_ms);

}  // namespace sluice::proxy
