#include "proxy/upstream/h2/h2_probe.h"

#include <string_view>

namespace sluice::proxy {

namespace {
nghttp2_nv pair(std::string_view name, std::string_view value) {
  return {reinterpret_cast<uint8_t*>(const_cast<char*>(name.data())),
          reinterpret_cast<uint8_t*>(const_cast<char*>(value.data())), name.size(), value.size(),
          NGHTTP2_NV_FLAG_NONE};
}
}  // namespace

H2Probe::~H2Probe() {
  if (ng_ != nullptr) nghttp2_session_del(ng_);
}

int H2Probe::onHeader(nghttp2_session*, const nghttp2_frame* frame, const uint8_t* name,
                      size_t namelen, const uint8_t* value, size_t valuelen, uint8_t, void* user) {
  auto* p = static_cast<H2Probe*>(user);
  if (frame->hd.type != NGHTTP2_HEADERS || p->status_ != 0) return 0;
  if (std::string_view(reinterpret_cast<const char*>(name), namelen) != ":status") return 0;
  int status = 0;
  for (size_t i = 0; i < valuelen; ++i) status = status * 10 + (value[i] - '0');
  if (status >= 200) p->status_ = status;  // a 1xx is not the answer
  return 0;
}

int H2Probe::onStreamClose(nghttp2_session*, int32_t, uint32_t, void* user) {
  static_cast<H2Probe*>(user)->closed_ = true;
  return 0;
}

bool H2Probe::start(const std::string& path, const std::string& authority, bool tls,
                    std::string& out) {
  nghttp2_session_callbacks* cbs = nullptr;
  if (nghttp2_session_callbacks_new(&cbs) != 0) return false;
  nghttp2_session_callbacks_set_on_header_callback(cbs, onHeader);
  nghttp2_session_callbacks_set_on_stream_close_callback(cbs, onStreamClose);
  int rv = nghttp2_session_client_new(&ng_, cbs, this);
  nghttp2_session_callbacks_del(cbs);
  if (rv != 0) return false;
  nghttp2_settings_entry iv[] = {{NGHTTP2_SETTINGS_ENABLE_PUSH, 0}};
  if (nghttp2_submit_settings(ng_, NGHTTP2_FLAG_NONE, iv, 1) != 0) return false;
  nghttp2_nv nv[] = {pair(":method", "GET"), pair(":scheme", tls ? "https" : "http"),
                     pair(":authority", authority), pair(":path", path),
                     pair("user-agent", "sluice-health-check")};
  if (nghttp2_submit_request(ng_, nullptr, nv, sizeof nv / sizeof nv[0], nullptr, nullptr) < 0) {
    return false;
  }
  return drain(out);
}

int H2Probe::feed(const char* data, size_t len, std::string& out) {
  if (ng_ == nullptr) return -1;
  if (nghttp2_session_mem_recv(ng_, reinterpret_cast<const uint8_t*>(data), len) < 0) return -1;
  if (!drain(out)) return -1;
  if (status_ != 0) return status_;
  return closed_ ? -1 : 0;
}

bool H2Probe::drain(std::string& out) {
  for (;;) {
    const uint8_t* data = nullptr;
    ssize_t n = nghttp2_session_mem_send(ng_, &data);
    if (n < 0) return false;
    if (n == 0) return true;
    out.append(reinterpret_cast<const char*>(data), static_cast<size_t>(n));
  }
}

}  // namespace sluice::proxy
