#include "filters/base/trace_context.h"

#include <cstring>

namespace sluice::base {
namespace {

constexpr char kHex[] = "0123456789abcdef";

int hexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;  // upper case is invalid in traceparent
}

bool isLowerHex(std::string_view s) {
  for (char c : s) {
    if (hexValue(c) < 0) return false;
  }
  return true;
}

bool allZeros(std::string_view s) {
  return s.find_first_not_of('0') == std::string_view::npos;
}

void putHex(uint64_t v, char* out, size_t digits) {
  for (size_t i = 0; i < digits; ++i) out[digits - 1 - i] = kHex[(v >> (4 * i)) & 15];
}

uint64_t nonZero(RandomBits random, void* state) {
  uint64_t v = 0;
  while (v == 0) v = random(state);
  return v;
}

bool isKeyChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '*' ||
         c == '/' || c == '@';
}

// key = simple-key / multi-tenant-key (§3.3.1.3.1), at most 256 characters.
bool validKey(std::string_view key) {
  if (key.empty() || key.size() > 256) return false;
  size_t at = key.find('@');
  if (at != std::string_view::npos &&
      (at == 0 || at + 1 == key.size() || key.size() - at > 15 || at > 241 ||
       key.find('@', at + 1) != std::string_view::npos)) {
    return false;
  }
  char first = key[0];
  if (!((first >= 'a' && first <= 'z') || (first >= '0' && first <= '9'))) return false;
  for (char c : key) {
    if (!isKeyChar(c)) return false;
  }
  return true;
}

// value = 0*255(chr) nblk-chr, chr = %x20 / nblk-chr, nblk-chr = %x21-2B / %x2D-3C / %x3E-7E.
bool validValue(std::string_view value) {
  if (value.empty() || value.size() > 256 || value.back() == ' ') return false;
  for (char c : value) {
    auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u > 0x7e || c == ',' || c == '=') return false;
  }
  return true;
}

}  // namespace

bool parseTraceParent(std::string_view v, TraceParent* out) {
  v = trimOws(v);
  if (v.size() < TraceContext::kTraceParentSize) return false;
  std::string_view version = v.substr(0, 2);
  if (!isLowerHex(version) || version == "ff") return false;
  if (version == "00" && v.size() != TraceContext::kTraceParentSize) return false;
  if (v.size() > TraceContext::kTraceParentSize && v[TraceContext::kTraceParentSize] != '-') {
    return false;
  }
  if (v[2] != '-' || v[35] != '-' || v[52] != '-') return false;
  std::string_view trace = v.substr(3, 32), parent = v.substr(36, 16), flags = v.substr(53, 2);
  if (!isLowerHex(trace) || !isLowerHex(parent) || !isLowerHex(flags)) return false;
  if (allZeros(trace) || allZeros(parent)) return false;
  std::memcpy(out->trace_id, trace.data(), 32);
  std::memcpy(out->parent_id, parent.data(), 16);
  out->flags = static_cast<uint8_t>(hexValue(flags[0]) * 16 + hexValue(flags[1]));
  return true;
}

bool validTraceState(std::string_view value) {
  size_t members = 0;
  while (!value.empty()) {
    size_t comma = value.find(',');
    std::string_view member = trimOws(value.substr(0, comma));
    value = comma == std::string_view::npos ? std::string_view() : value.substr(comma + 1);
    if (member.empty()) continue;
    size_t eq = member.find('=');
    if (eq == std::string_view::npos) return false;
    if (!validKey(member.substr(0, eq)) || !validValue(member.substr(eq + 1))) return false;
    if (++members > 32) return false;
  }
  return true;
}

void TraceContext::begin(const HeaderMap& headers, double sample, RandomBits random, void* state) {
  const std::string* first = nullptr;
  bool consistent = true;
  for (const Header& h : headers) {
    if (h.name != "traceparent") continue;
    if (first == nullptr) {
      first = &h.value;
    } else if (trimOws(h.value) != trimOws(*first)) {
      consistent = false;
    }
  }
  TraceParent parent;
  has_parent_ = first != nullptr && consistent && parseTraceParent(*first, &parent);
  trace_state_.clear();
  if (has_parent_) {
    std::memcpy(trace_id_, parent.trace_id, 32);
    std::memcpy(parent_id_, parent.parent_id, 16);
    sampled_ = (parent.flags & 1) != 0;
    for (const Header& h : headers) {
      if (h.name != "tracestate" || trimOws(h.value).empty()) continue;
      if (!trace_state_.empty()) trace_state_ += ',';
      trace_state_ += trimOws(h.value);
    }
    if (!validTraceState(trace_state_)) trace_state_.clear();
  } else {
    putHex(nonZero(random, state), trace_id_, 16);
    putHex(random(state), trace_id_ + 16, 16);
    // The top 53 bits of a draw, as a fraction in [0, 1).
    double draw = static_cast<double>(random(state) >> 11) * 0x1.0p-53;
    sampled_ = draw < sample;
  }
  putHex(nonZero(random, state), span_id_, 16);
  std::memcpy(client_id_, span_id_, 16);
  std::memcpy(upstream_, "00-", 3);
  std::memcpy(upstream_ + 3, trace_id_, 32);
  upstream_[35] = '-';
  std::memcpy(upstream_ + 36, span_id_, 16);
  upstream_[52] = '-';
  upstream_[53] = '0';
  upstream_[54] = sampled_ ? '1' : '0';
}

void TraceContext::beginTry(RandomBits random, void* state) {
  putHex(nonZero(random, state), client_id_, 16);
  std::memcpy(upstream_ + 36, client_id_, 16);
}

}  // namespace sluice::base
