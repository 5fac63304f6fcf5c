// Per-connection bounds on what a hostile HTTP/2 client can make sluice do cheaply and often
// (spec/gateway.md "Hostile peers"): reset streams it never let sluice answer (rapid reset,
// CVE-2023-44487), SETTINGS and PING frames (each forces an ACK), empty DATA frames
// (CVE-2019-9518). Each is counted in a window of kFloodWindowMs; a count above its bound
// means the connection goes away with ENHANCE_YOUR_CALM. Also the names of the
// `sluice_http2_protocol_errors_total{reason}` series. Pure: time comes in as a parameter.
#pragma once

#include <cstdint>

namespace sluice::proxy {

enum class Http2Abuse {
  RapidReset,         // RST_STREAM of streams not yet answered, over kMaxResets per window
  ContinuationFlood,  // a header block (HEADERS + CONTINUATION) far over the budget, or too many
                      // CONTINUATION frames
  HpackBomb,          // a header block that decodes to far more than the header list budget
  SettingsFlood,      // SETTINGS frames over kMaxSettings per window (or too many entries)
  PingFlood,          // PING frames over kMaxPings per window
  EmptyFrames,        // empty DATA frames (no END_STREAM) over kMaxEmptyFrames per window
  AckFlood,           // nghttp2's bound on queued ACKs (the client does not read them)
  StreamExhaustion,   // a stream opened over max_concurrent_streams (refused)
  ZeroWindow,         // a response stalled on a zero flow-control window for send_timeout
  HeaderTimeout,      // a header block left unfinished for limits.header_timeout
  Protocol,           // any other connection error nghttp2 reported (bad preface, framing)
};
inline constexpr int kHttp2AbuseCount = 11;

// The `reason` label value: rapid_reset, continuation_flood, hpack_bomb, ...
const char* http2AbuseName(Http2Abuse a);

inline constexpr uint64_t kFloodWindowMs = 10'000;
inline constexpr uint32_t kMaxResets = 100;
inline constexpr uint32_t kMaxSettings = 100;
inline constexpr uint32_t kMaxPings = 100;
inline constexpr uint32_t kMaxEmptyFrames = 100;

class Http2FloodGuard {
 public:
  // Each notes one event at `now_ms` and returns true when its bound is now exceeded.
  bool noteReset(uint64_t now_ms) { return resets_.note(now_ms, kMaxResets); }
  bool noteSettings(uint64_t now_ms) { return settings_.note(now_ms, kMaxSettings); }
  bool notePing(uint64_t now_ms) { return pings_.note(now_ms, kMaxPings); }
  bool noteEmptyFrame(uint64_t now_ms) { return empty_.note(now_ms, kMaxEmptyFrames); }

 private:
  // Events in the current fixed window (restarted when an event comes after it ended).
  struct Window {
    uint64_t start_ms = 0;
    uint32_t count = 0;
    bool note(uint64_t now_ms, uint32_t bound) {
      if (count == 0 || now_ms - start_ms >= kFloodWindowMs) {
        start_ms = now_ms;
        count = 0;
      }
      return ++count > bound;
    }
  };
  Window resets_, settings_, pings_, empty_;
};

}  // namespace sluice::proxy
