// W3C Trace Context (Level 1) for one request: the `traceparent` a client sent is continued
// (same trace id, its span as parent, its sampled flag followed) and an invalid or missing one
// starts a new trace. sluice is one hop: the request gets a server span id, and every upstream
// try a client span id of its own that the upstream sees as its parent. Ids are lower-case hex,
// kept in fixed buffers (no allocation); `tracestate` is kept only beside a valid parent.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "filters/base/http_message.h"

namespace sluice::base {

// The fields of a valid traceparent (version 00 layout; a later version is read the same way).
struct TraceParent {
  char trace_id[32];
  char parent_id[16];
  uint8_t flags = 0;
};

// Parses one traceparent value by the rules of W3C Trace Context §3.2: lower-case hex only,
// version ff invalid, version 00 exactly 55 characters, a later version at least 55 followed by
// '-', trace id and parent id not all zeros.
bool parseTraceParent(std::string_view value, TraceParent* out);

// Whether a tracestate value is a list of at most 32 `key=value` members of the §3.3 grammar
// (empty members between commas are allowed and ignored).
bool validTraceState(std::string_view value);

// 64 random bits per call (the worker's generator); ids drawn as zero are drawn again.
using RandomBits = uint64_t (*)(void* state);

class TraceContext {
 public:
  static constexpr size_t kTraceParentSize = 55;

  // Reads `traceparent` and `tracestate` from the client's fields. Several traceparent fields
  // count as one only when they are identical (a client that duplicated the field); otherwise
  // the trace restarts. `sample` (0..1) decides a new trace; `random` draws ids and the sample.
  void begin(const HeaderMap& headers, double sample, RandomBits random, void* state);

  // A new client span id for an upstream try (also returned by clientSpanId until the next).
  void beginTry(RandomBits random, void* state);

  std::string_view traceId() const { return {trace_id_, 32}; }
  std::string_view spanId() const { return {span_id_, 16}; }  // this hop's server span
  std::string_view parentSpanId() const {
    return has_parent_ ? std::string_view(parent_id_, 16) : "";
  }
  std::string_view clientSpanId() const { return {client_id_, 16}; }
  bool sampled() const { return sampled_; }
  bool continued() const { return has_parent_; }
  const std::string& traceState() const { return trace_state_; }

  // The traceparent the upstream gets: version 00, this trace, the current try's span, flags.
  std::string_view upstreamTraceParent() const { return {upstream_, kTraceParentSize}; }

 private:
  char trace_id_[32] = {};
  char span_id_[16] = {};
  char parent_id_[16] = {};
  char client_id_[16] = {};
  char upstream_[kTraceParentSize] = {};
  bool has_parent_ = false;
  bool sampled_ = false;
  std::string trace_state_;
};

}  // namespace sluice::base
