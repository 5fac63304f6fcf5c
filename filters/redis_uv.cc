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

// The poll handle of one hiredis connection and the events hiredis wants of it, owned by hiredis
// as ev.data from attach to cleanup. Close-then-free: close() (hiredis's cleanup) closes the
// handle, and the object is freed in libuv's close callback and nowhere else, so a poll callback
// during which hiredis cleaned up can still read context_ (null by then) afterwards.
class RedisPoll {
 public:
  // Null (logged) when libuv refuses the socket; nothing stays allocated then.
  static RedisPoll* open(uv_loop_t* loop, redisAsyncContext* ac) {
    auto* p = new RedisPoll;
    if (!checkUv(uv_poll_init(loop, &p->handle_, ac->c.fd), "redis poll: uv_poll_init")) {
      delete p;  // libuv keeps nothing of a handle whose init failed
      return nullptr;
    }
    p->handle_.data = p;
    p->context_ = ac;
    // The store's connections must not keep a worker loop alive at shutdown.
    uv_unref(reinterpret_cast<uv_handle_t*>(&p->handle_));
    return p;
  }

  void want(int event, bool on) {
    events_ = on ? events_ | event : events_ & ~event;
    // uv_poll_start/stop only fail for a closing handle, which hiredis no longer drives.
    checkUv(events_ != 0 ? uv_poll_start(&handle_, events_, onPoll) : uv_poll_stop(&handle_),
            "redis poll");
  }

  // At most once; no poll callback runs after it.
  void close() {
    context_ = nullptr;
    auto* h = reinterpret_cast<uv_handle_t*>(&handle_);
    if (uv_is_closing(h) == 0) {
      uv_close(h, [](uv_handle_t* u) { delete static_cast<RedisPoll*>(u->data); });
    }
  }

 private:
  RedisPoll() = default;
  ~RedisPoll() = default;

  // libuv reports a socket error (a refused connect, a reset) as a negative status and stops the
  // handle; hiredis finds the error itself when told the socket is readable and writable.
  static void onPoll(uv_poll_t* handle, int status, int events) {
    auto* p = static_cast<RedisPoll*>(handle->data);
    int ev = status != 0 ? p->events_ : events;
    if (p->context_ != nullptr && (ev & UV_READABLE) != 0) redisAsyncHandleRead(p->context_);
    if (p->context_ != nullptr && (ev & UV_WRITABLE) != 0) redisAsyncHandleWrite(p->context_);
  }

  redisAsyncContext* context_ = nullptr;  // null once hiredis cleaned up
  uv_poll_t handle_;
  int events_ = 0;
};

void addRead(void* p) {
  static_cast<RedisPoll*>(p)->want(UV_READABLE, true);
}
void delRead(void* p) {
  static_cast<RedisPoll*>(p)->want(UV_READABLE, false);
}
void addWrite(void* p) {
  static_cast<RedisPoll*>(p)->want(UV_WRITABLE, true);
}
void delWrite(void* p) {
  static_cast<RedisPoll*>(p)->want(UV_WRITABLE, false);
}
void cleanup(void* p) {
  static_cast<RedisPoll*>(p)->close();
}

}  // namespace

int attachRedisToLoop(redisAsyncContext* ac, uv_loop_t* loop) {
  if (ac->ev.data != nullptr) return REDIS_ERR;
  RedisPoll* p = RedisPoll::open(loop, ac);
  if (p == nullptr) return REDIS_ERR;
  ac->ev.data = p;
  ac->ev.addRead = addRead;
  ac->ev.delRead = delRead;
  ac->ev.addWrite = addWrite;
  ac->ev.delWrite = delWrite;
  ac->ev.cleanup = cleanup;
  return REDIS_OK;
}

int attachRedisToWorker(redisAsyncContext* ac, const WorkerServices& worker) {
  // The one place filters/ turns the worker's opaque loop back into libuv's type.
  return attachRedisToLoop(ac, static_cast<uv_loop_t*>(worker.eventLoop()));
}

}  // namespace sluice::filters
