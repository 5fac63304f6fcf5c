// Byte ranges answered by the `cache` filter from a stored complete 200 (RFC 9110 §14, RFC 9111
// §3.4): the Range field, If-Range, and the 206 (one part, or multipart/byteranges) or 416 built
// from the stored body. Pure functions; the filter decides when they apply.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "filters/base/http_message.h"

namespace sluice::filters {

struct ByteRange {
  uint64_t first = 0;
  uint64_t last = 0;  // inclusive
};

struct RangeSet {
  enum class Outcome {
    Ignore,         // not a bytes range, invalid, too many ranges, or an empty body: serve 200
    Satisfiable,    // `ranges` (at least one, clamped to the body, in the client's order)
    Unsatisfiable,  // 416
  };
  Outcome outcome = Outcome::Ignore;
  std::vector<ByteRange> ranges;
};

// More ranges than this in one request are ignored (the whole 200 is served, RFC 9110 §14.2
// lets a server ignore Range), so a request cannot make sluice build a body many times the size
// of the stored one.
inline constexpr size_t kMaxRanges = 16;

// The Range field value `value` against a representation of `length` bytes.
RangeSet parseRange(std::string_view value, uint64_t length);

// If-Range (RFC 9110 §13.1.5) against the stored response's fields: an entity-tag matches a
// strong ETag by strong comparison; an HTTP-date matches a Last-Modified equal to it that is
// strong (at least one second before the stored Date). Anything else does not match.
bool ifRangeMatches(std::string_view if_range, const base::HeaderMap& stored);

struct RangeReply {
  int status = 206;        // 206 or 416
  base::HeaderMap fields;  // Content-Range (one part or 416) or Content-Type (multipart) to set
  bool multipart = false;  // the stored Content-Type is replaced by multipart/byteranges
  std::string body;
};

// The 206 or 416 for `set` (Satisfiable or Unsatisfiable) over `body`; `content_type` (may be
// null) goes into each part of a multipart answer, which is delimited by `boundary`.
RangeReply buildRangeReply(const RangeSet& set, std::string_view body,
                           const std::string* content_type, std::string_view boundary);

// A boundary for multipart/byteranges (RFC 2046 §5.1.1): "sluice-" and 16 random hex digits.
std::string makeBoundary();

}  // namespace sluice::filters
