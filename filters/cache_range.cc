#include "filters/cache_range.h"

#include <random>

#include "filters/cache_control.h"

namespace sluice::filters {

namespace {

constexpr uint64_t kHuge = uint64_t{1} << 62;

// 1*DIGIT, saturating at kHuge; false when `s` is empty or has another character.
bool position(std::string_view s, uint64_t& out) {
  if (s.empty()) return false;
  out = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    out = out >= kHuge / 10 ? kHuge : out * 10 + static_cast<uint64_t>(c - '0');
  }
  return true;
}

std::string contentRange(const ByteRange& r, uint64_t length) {
  return "bytes " + std::to_string(r.first) + "-" + std::to_string(r.last) + "/" +
         std::to_string(length);
}

}  // namespace

RangeSet parseRange(std::string_view value, uint64_t length) {
  RangeSet out;
  value = base::trimOws(value);
  size_t eq = value.find('=');
  if (eq == std::string_view::npos ||
      !base::equalsIgnoreCase(base::trimOws(value.substr(0, eq)), "bytes")) {
    return out;  // another range unit, or no ranges-specifier: ignored (RFC 9110 §14.2)
  }
  bool any = false;
  bool valid = true;
  std::vector<ByteRange> ranges;
  base::anyListMember(value.substr(eq + 1), [&](std::string_view member) {
    std::string_view spec = base::trimOws(member);
    if (spec.empty()) return false;  // empty list elements are allowed (RFC 9110 §5.6.1)
    any = true;
    size_t dash = spec.find('-');
    if (dash == std::string_view::npos) {
      valid = false;
      return true;
    }
    std::string_view a = spec.substr(0, dash);
    std::string_view b = spec.substr(dash + 1);
    uint64_t first = 0;
    uint64_t last = 0;
    if (a.empty()) {  // suffix-range "-N": the last N bytes
      if (!position(b, last)) {
        valid = false;
        return true;
      }
      if (last > 0 && length > 0) ranges.push_back({length - std::min(last, length), length - 1});
      return false;
    }
    if (!position(a, first) || (!b.empty() && !position(b, last))) {
      valid = false;
      return true;
    }
    if (b.empty()) last = kHuge;  // "N-": to the end
    if (last < first) {
      valid = false;  // an invalid range-spec makes the whole field invalid (RFC 9110 §14.1.1)
      return true;
    }
    if (first < length) ranges.push_back({first, std::min(last, length - 1)});
    return false;
  });
  if (!valid || !any || length == 0) return out;
  if (ranges.size() > kMaxRanges) return out;
  if (ranges.empty()) {
    out.outcome = RangeSet::Outcome::Unsatisfiable;
    return out;
  }
  out.outcome = RangeSet::Outcome::Satisfiable;
  out.ranges = std::move(ranges);
  return out;
}

bool ifRangeMatches(std::string_view if_range, const base::HeaderMap& stored) {
  if_range = base::trimOws(if_range);
  if (if_range.empty()) return false;
  if (if_range.front() == '"' || if_range.substr(0, 2) == "W/") {
    const std::string* etag = stored.get("etag");
    // Strong comparison: neither may be weak, the opaque tags equal.
    return etag != nullptr && if_range.front() == '"' && base::trimOws(*etag) == if_range;
  }
  std::optional<int64_t> when = parseHttpDate(if_range);
  const std::string* lm_text = stored.get("last-modified");
  const std::string* date_text = stored.get("date");
  if (!when || lm_text == nullptr || date_text == nullptr) return false;
  std::optional<int64_t> lm = parseHttpDate(*lm_text);
  std::optional<int64_t> date = parseHttpDate(*date_text);
  return lm && date && *lm == *when && *date - *lm >= 1;
}

RangeReply buildRangeReply(const RangeSet& set, std::string_view body,
                           const std::string* content_type, std::string_view boundary) {
  RangeReply out;
  uint64_t length = body.size();
  if (set.outcome != RangeSet::Outcome::Satisfiable || set.ranges.empty()) {
    out.status = 416;
    out.fields.add("content-range", "bytes */" + std::to_string(length));
    return out;
  }
  if (set.ranges.size() == 1) {
    const ByteRange& r = set.ranges[0];
    out.fields.add("content-range", contentRange(r, length));
    out.body.assign(body.substr(r.first, r.last - r.first + 1));
    return out;
  }
  out.multipart = true;
  out.fields.add("content-type", "multipart/byteranges; boundary=" + std::string(boundary));
  for (const ByteRange& r : set.ranges) {
    out.body.append("--").append(boundary).append("\r\n");
    if (content_type != nullptr)
      out.body.append("content-type: ").append(*content_type).append("\r\n");
    out.body.append("content-range: ").append(contentRange(r, length)).append("\r\n\r\n");
    out.body.append(body.substr(r.first, r.last - r.first + 1)).append("\r\n");
  }
  out.body.append("--").append(boundary).append("--\r\n");
  return out;
}

std::string makeBoundary() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  static const char kHex[] = "0123456789abcdef";
  uint64_t v = rng();
  std::string out = "sluice-";
  for (int i = 0; i < 16; ++i) out += kHex[(v >> (i * 4)) & 0xf];
  return out;
}

}  // namespace sluice::filters
