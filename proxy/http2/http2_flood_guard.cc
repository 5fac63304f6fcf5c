#include "proxy/http2/http2_flood_guard.h"

namespace sluice::proxy {

const char* http2AbuseName(Http2Abuse a) {
  switch (a) {
    case Http2Abuse::RapidReset:
      return "rapid_reset";
    case Http2Abuse::ContinuationFlood:
      return "continuation_flood";
    case Http2Abuse::HpackBomb:
      return "hpack_bomb";
    case Http2Abuse::SettingsFlood:
      return "settings_flood";
    case Http2Abuse::PingFlood:
      return "ping_flood";
    case Http2Abuse::EmptyFrames:
      return "empty_frames";
    case Http2Abuse::AckFlood:
      return "ack_flood";
    case Http2Abuse::StreamExhaustion:
      return "stream_exhaustion";
    case Http2Abuse::ZeroWindow:
      return "zero_window";
    case Http2Abuse::HeaderTimeout:
      return "header_timeout";
    case Http2Abuse::Protocol:
      return "protocol";
  }
  return "protocol";
}

}  // namespace sluice::proxy
