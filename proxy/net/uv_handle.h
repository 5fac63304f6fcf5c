// libuv handles with one owner and one way to end: uvCheck() logs a failed uv_* call with its
// context; UvHandle<T> (and Timer, Signal, Prepare on top of it) allocates a handle, initialises
// it checked, and on close() or destruction calls uv_close with a callback that frees the memory
// there and nowhere else (as uvw's handle.hpp). uvClose()/uvCloseDelete() do the same for a
// handle embedded in an object that itself lives until the close callback.
//
// Threads: a handle is used and closed on the thread of its loop only. The memory of a closed
// handle is freed when that loop next runs its close callbacks, so a loop must be run once more
// after its last handles are closed (the worker and the server do) before uv_loop_close.
#pragma once

#include <uv.h>

#include <cstdint>
#include <functional>
#include <string_view>
#include <utility>

namespace sluice::proxy {

// The out-of-line half of uvCheck: logs the line for a failed call and returns false.
bool uvFailed(int rc, std::string_view what, std::string_view call = {});

// Logs "<what>: <error name> (<message>)" at error level when `rc` is a libuv error (< 0).
// Returns true when the call succeeded. For the calls that cannot fail on a live, open handle
// (uv_timer_stop, uv_read_stop, ...), the line is the report of a broken invariant.
inline bool uvCheck(int rc, std::string_view what) {
  return rc >= 0 || uvFailed(rc, what);
}
// The same with "<context>: <call>: ..." put together only on failure (for the data path, where
// the context is e.g. a target's address).
inline bool uvCheck(int rc, std::string_view context, std::string_view call) {
  return rc >= 0 || uvFailed(rc, context, call);
}

template <typename H>
uv_handle_t* asUvHandle(H* h) {
  return reinterpret_cast<uv_handle_t*>(h);
}

// Closes `h`, embedded in an object that outlives the close callback (or that the callback
// frees), unless it is already closing. `cb` may be null (the handle's memory is the owner's).
template <typename H>
void uvClose(H* h, uv_close_cb cb = nullptr) {
  uv_handle_t* u = asUvHandle(h);
  if (!uv_is_closing(u)) uv_close(u, cb);
}

// Closes `h` (unless already closing) and deletes its owner, `static_cast<Owner*>(h->data)`,
// in the close callback: the owner embeds the handle and lives until libuv is done with it.
template <typename Owner, typename H>
void uvCloseDelete(H* h) {
  uvClose(h, [](uv_handle_t* u) { delete static_cast<Owner*>(u->data); });
}

namespace uv_detail {
struct NoExtra {};
}  // namespace uv_detail

// Owns one heap-allocated libuv handle of type T, with `Extra` (e.g. its callback) allocated
// beside it and freed with it. Move-only; empty until open() succeeds.
//
// close() (and the destructor) ask libuv to close the handle: no callback of the handle runs after
// that, and the memory is freed in libuv's close callback. The handle's `data` is the user's while
// it is open (the typed wrappers below use it themselves).
template <typename T, typename Extra = uv_detail::NoExtra>
class UvHandle {
 public:
  UvHandle() = default;
  UvHandle(const UvHandle&) = delete;
  UvHandle& operator=(const UvHandle&) = delete;
  UvHandle(UvHandle&& other) noexcept : box_(std::exchange(other.box_, nullptr)) {}
  UvHandle& operator=(UvHandle&& other) noexcept {
    if (this != &other) {
      close();
      box_ = std::exchange(other.box_, nullptr);
    }
    return *this;
  }
  ~UvHandle() { close(); }

  // Allocates the handle and runs `init(T*)` on it, e.g. `[loop](uv_tcp_t* t) { return
  // uv_tcp_init(loop, t); }`, and returns its result (check it: uvCheck). On failure nothing
  // stays allocated. An open handle is closed first.
  template <typename Init>
  [[nodiscard]] int open(Init&& init) {
    close();
    auto* b = new Box{};
    int rc = std::forward<Init>(init)(&b->handle);
    if (rc < 0) {
      delete b;  // libuv keeps nothing of a handle whose init failed
      return rc;
    }
    box_ = b;
    return rc;
  }

  // Idempotent. Safe from within the handle's own callbacks.
  void close() {
    Box* b = std::exchange(box_, nullptr);
    if (b == nullptr) return;
    uv_handle_t* h = asUvHandle(&b->handle);
    // Someone else closed it (a uv_walk over the loop) with a callback of their own: the memory
    // cannot be freed safely here nor there, so it stays (LeakSanitizer reports it).
    if (uv_is_closing(h)) return;
    h->data = b;
    uv_close(h, [](uv_handle_t* u) { delete static_cast<Box*>(u->data); });
  }

  explicit operator bool() const { return box_ != nullptr; }
  T* get() const { return box_ != nullptr ? &box_->handle : nullptr; }
  uv_handle_t* handle() const { return box_ != nullptr ? asUvHandle(&box_->handle) : nullptr; }
  bool active() const { return box_ != nullptr && uv_is_active(handle()) != 0; }
  // The handle no longer keeps its loop alive (uv_unref).
  void unref() const {
    if (box_ != nullptr) uv_unref(handle());
  }
  Extra& extra() const { return box_->extra; }

 private:
  struct Box {
    T handle;
    Extra extra;
  };
  Box* box_ = nullptr;
};

// A one-shot or repeating timer whose callback is fixed at init(): the callback is never replaced
// while it may be running, so it may stop, restart, close or destroy its own Timer.
class Timer {
 public:
  using Callback = std::function<void()>;

  // `name` (a literal) says whose timer it is in log lines. False (logged) if libuv refuses.
  bool init(uv_loop_t* loop, const char* name, Callback on_fire);
  // (Re)arms: first call after `timeout_ms`, then every `repeat_ms` (0: once).
  bool start(uint64_t timeout_ms, uint64_t repeat_ms = 0);
  void stop();
  bool active() const { return h_.active(); }
  explicit operator bool() const { return static_cast<bool>(h_); }
  void unref() const { h_.unref(); }
  void close() { h_.close(); }

 private:
  struct Extra {
    Callback cb;
    const char* name = "timer";
  };
  static void onFire(uv_timer_t* t);
  UvHandle<uv_timer_t, Extra> h_;
};

// A signal watcher (uv_signal_t); the callback gets the signal number.
class Signal {
 public:
  using Callback = std::function<void(int signum)>;

  bool init(uv_loop_t* loop, const char* name, Callback on_signal);
  bool start(int signum);
  void close() { h_.close(); }
  explicit operator bool() const { return static_cast<bool>(h_); }

 private:
  struct Extra {
    Callback cb;
    const char* name = "signal";
  };
  static void onSignal(uv_signal_t* s, int signum);
  UvHandle<uv_signal_t, Extra> h_;
};

// A prepare handle: the callback runs once per loop iteration, before the loop blocks for I/O.
class Prepare {
 public:
  using Callback = std::function<void()>;

  bool init(uv_loop_t* loop, const char* name, Callback on_prepare);
  bool start();
  void stop();
  bool active() const { return h_.active(); }
  void close() { h_.close(); }
  explicit operator bool() const { return static_cast<bool>(h_); }

 private:
  struct Extra {
    Callback cb;
    const char* name = "prepare";
  };
  static void onPrepare(uv_prepare_t* p);
  UvHandle<uv_prepare_t, Extra> h_;
};

}  // namespace sluice::proxy
