// The HTTP/2 form of an active health probe (upstreams with protocol h2 or h2c): a client
// session of its own on the probe's connection that sends one GET and reports the answer's
// :status. No socket here: the health checker moves the bytes. Main thread.
#pragma once

#include <nghttp2/nghttp2.h>

#include <string>

namespace sluice::proxy {

class H2Probe {
 public:
  H2Probe() = default;
  ~H2Probe();
  H2Probe(const H2Probe&) = delete;
  H2Probe& operator=(const H2Probe&) = delete;

  // Starts the session (preface, SETTINGS) with one GET of `path` at `authority`; the bytes to
  // send are appended to `out`. False when nghttp2 refuses.
  bool start(const std::string& path, const std::string& authority, bool tls, std::string& out);
  // Bytes from the server; what to send back (SETTINGS ack...) is appended to `out`. The
  // response's status once its head arrived, 0 before, -1 when the exchange failed.
  int feed(const char* data, size_t len, std::string& out);

 private:
  bool drain(std::string& out);
  static int onHeader(nghttp2_session*, const nghttp2_frame* frame, const uint8_t* name,
                      size_t namelen, const uint8_t* value, size_t valuelen, uint8_t, void* user);
  static int onStreamClose(nghttp2_session*, int32_t, uint32_t, void* user);

  nghttp2_session* ng_ = nullptr;
  int status_ = 0;
  bool closed_ = false;  // the stream ended (reset, or without a head)
};

}  // namespace sluice::proxy
