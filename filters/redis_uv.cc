#include "filters/redis_uv.h"

#include <hiredis/async.h>
#include <hiredis/hiredis.h>

#include <chrono>
#include <string>

#include "filters/base/warn_log.h"

namespace sluice::filters {

bool checkUv(int rc, std::string_view what) {
  if (rc >= 0) return true;
  static base::WarnLimiter warnings(std::chrono::seconds(10));
  warnings.warn("rate_limit_store: " + std::string(what) + ": " + uv_err_name(rc) + " (" +
                uv_strerror(rc) + ")");
  return false;
}

namespace {

struct Events {
  redisAsyncContext* context = nullptr;  // null once hiredis cleaned up
  uv_poll_t handle;
  int events = 0;
};

void onPoll(uv_poll_t* handle, int status, int events) {
  auto* e = static_cast<Events*>(handle->data);
  int ev = status != 0 ? e->events : events;
  if (e->context != nullptr && (ev & UV_READABLE) != 0) redisAsyncHandleRead(e->context);
  if (e->context != nullptr && (ev & UV_WRITABLE) != 0) redisAsyncHandleWrite(e->context);
}

void update(Events* e) {
  // uv_poll_start/stop only fail for a closing handle, which hiredis no longer drives.
  checkUv(e->events != 0 ? uv_poll_start(&e->handle, e->events, onPoll) : uv_poll_stop(&e->handle),
          "redis poll");
}

void addRead(void* p) {
  auto* e = static_cast<Events*>(p);
  e->events |= UV_READABLE;
  update(e);
}

void delRead(void* p) {
  auto* e = static_cast<Events*>(p);
  e->events &= ~UV_READABLE;
  update(e);
}

void addWrite(void* p) {
  auto* e = static_cast<Events*>(p);
  e->events |= UV_WRITABLE;
  update(e);
}

void delWrite(void* p) {
  auto* e = static_cast<Events*>(p);
  e->events &= ~UV_WRITABLE;
  update(e);
}

void cleanup(void* p) {
  auto* e = static_cast<Events*>(p);
  e->context = nullptr;
  uv_close(reinterpret_cast<uv_handle_t*>(&e->handle),
           [](uv_handle_t* h) { delete static_cast<Events*>(h->data); });
}

}  // namespace

int attachRedisToLoop(redisAsyncContext* ac, uv_loop_t* loop) {
  if (ac->ev.data != nullptr) return REDIS_ERR;
  auto* e = new Events;
  if (uv_poll_init(loop, &e->handle, ac->c.fd) != 0) {
    delete e;
    return REDIS_ERR;
  }
  e->handle.data = e;
  e->context = ac;
  // The store's connections must not keep a worker loop alive at shutdown.
  uv_unref(reinterpret_cast<uv_handle_t*>(&e->handle));
  ac->ev.data = e;
  ac->ev.addRead = addRead;
  ac->ev.delRead = delRead;
  ac->ev.addWrite = addWrite;
  ac->ev.delWrite = delWrite;
  ac->ev.cleanup = cleanup;
  return REDIS_OK;
}

}  // namespace sluice::filters
