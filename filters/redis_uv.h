// hiredis on a libuv loop: the adapter of hiredis/adapters/libuv.h, fixed. The one Debian 12's
// hiredis 0.14 ships drops a poll callback with an error status, which is how libuv reports a
// refused connect or a connection reset by the peer (it then stops the handle): hiredis never
// learnt that the connection had failed, so a reconnect to a dead server hung and calls waited
// out their timeout. Here, as in hiredis 1.x, an error is handed to hiredis as readable and
// writable, and hiredis finds the socket error itself and runs the connect/disconnect callbacks.
// The only file of filters/ that calls libuv: the rest of the Redis client (redis_store.cc,
// redis_sentinel.cc) has its timers, clock and name lookups from filters::WorkerServices.
#pragma once

#include <uv.h>

#include <string_view>

#include "filters/worker_services.h"

struct redisAsyncContext;

namespace sluice::filters {

// Attaches `ac` (just connected with redisAsyncConnect, not attached yet) to `loop`, on the
// loop's thread. Its poll handle does not keep the loop alive. REDIS_OK or REDIS_ERR (then `ac`
// is untouched and the caller frees it).
int attachRedisToLoop(redisAsyncContext* ac, uv_loop_t* loop);
// The same on the loop of `worker` (WorkerServices::eventLoop), on that worker's thread.
int attachRedisToWorker(redisAsyncContext* ac, const WorkerServices& worker);

// True when `rc` (a uv_* result of the Redis client) is not an error; else a warning line
// "rate_limit_store: <what>: <error>" (rate-limited like the store's other warnings). The
// adapter's counterpart of proxy/net/uv_handle.h's uvCheck, which filters/ cannot include.
bool checkUv(int rc, std::string_view what);

}  // namespace sluice::filters
