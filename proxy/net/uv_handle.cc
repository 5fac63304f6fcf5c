#include "proxy/net/uv_handle.h"

#include <string>

#include "proxy/runtime/log.h"

namespace sluice::proxy {

bool uvFailed(int rc, std::string_view what, std::string_view call) {
  std::string line(what);
  if (!call.empty()) {
    line += ": ";
    line += call;
  }
  line += ": ";
  line += uv_err_name(rc);
  line += " (";
  line += uv_strerror(rc);
  line += ")";
  logError(line);
  return false;
}

// ---- Timer ----------------------------------------------------------------------------------

bool Timer::init(uv_loop_t* loop, const char* name, Callback on_fire) {
  if (!uvCheck(h_.open([loop](uv_timer_t* t) { return uv_timer_init(loop, t); }), name,
               "uv_timer_init"))
    return false;
  h_.extra().cb = std::move(on_fire);
  h_.extra().name = name;
  h_.get()->data = &h_.extra();
  return true;
}

bool Timer::start(uint64_t timeout_ms, uint64_t repeat_ms) {
  if (!h_) return uvCheck(UV_EINVAL, "uv_timer_start on a timer not initialised");
  return uvCheck(uv_timer_start(h_.get(), onFire, timeout_ms, repeat_ms), h_.extra().name,
                 "uv_timer_start");
}

void Timer::stop() {
  if (h_) uvCheck(uv_timer_stop(h_.get()), h_.extra().name, "uv_timer_stop");
}

void Timer::onFire(uv_timer_t* t) {
  static_cast<Extra*>(t->data)->cb();
}

// ---- Signal ---------------------------------------------------------------------------------

bool Signal::init(uv_loop_t* loop, const char* name, Callback on_signal) {
  if (!uvCheck(h_.open([loop](uv_signal_t* s) { return uv_signal_init(loop, s); }), name,
               "uv_signal_init"))
    return false;
  h_.extra().cb = std::move(on_signal);
  h_.extra().name = name;
  h_.get()->data = &h_.extra();
  return true;
}

bool Signal::start(int signum) {
  if (!h_) return uvCheck(UV_EINVAL, "uv_signal_start on a signal not initialised");
  return uvCheck(uv_signal_start(h_.get(), onSignal, signum), h_.extra().name, "uv_signal_start");
}

void Signal::onSignal(uv_signal_t* s, int signum) {
  static_cast<Extra*>(s->data)->cb(signum);
}

// ---- Prepare --------------------------------------------------------------------------------

bool Prepare::init(uv_loop_t* loop, const char* name, Callback on_prepare) {
  if (!uvCheck(h_.open([loop](uv_prepare_t* p) { return uv_prepare_init(loop, p); }), name,
               "uv_prepare_init"))
    return false;
  h_.extra().cb = std::move(on_prepare);
  h_.extra().name = name;
  h_.get()->data = &h_.extra();
  return true;
}

bool Prepare::start() {
  if (!h_) return uvCheck(UV_EINVAL, "uv_prepare_start on a prepare handle not initialised");
  return uvCheck(uv_prepare_start(h_.get(), onPrepare), h_.extra().name, "uv_prepare_start");
}

void Prepare::stop() {
  if (h_) uvCheck(uv_prepare_stop(h_.get()), h_.extra().name, "uv_prepare_stop");
}

void Prepare::onPrepare(uv_prepare_t* p) {
  static_cast<Extra*>(p->data)->cb();
}

}  // namespace sluice::proxy
