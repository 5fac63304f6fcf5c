// The pure part of request mirroring (spec/gateway.md, Routing): a cheap incremental hash of a
// response body, and the verdict on a primary's and a mirror's answers. No loop, no I/O, so the
// rules are unit-tested exactly (tests/proxy/stream/mirror_compare_test.cc).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace sluice::proxy {

// A 64-bit hash of a byte stream fed in pieces of any size: the same bytes give the same digest
// however they were split (the primary's and the mirror's bodies arrive in different reads).
// FNV-1a over 64-bit words (a partial word waits for the next piece: one multiply
// per 8 bytes), then the length and a splitmix64 finaliser; no copy of the body. Not a
// cryptographic hash: it tells two honest answers apart, it does not resist a forger.
class BodyHash {
 public:
  void update(const char* data, size_t len);
  void update(std::string_view s) { update(s.data(), s.size()); }
  uint64_t digest() const;
  uint64_t length() const { return length_; }

 private:
  uint64_t h_ = 0xcbf29ce484222325ull;  // FNV offset basis
  uint64_t length_ = 0;
  unsigned char tail_[8] = {};
  size_t tail_len_ = 0;
};

// 1 for 1xx ... 5xx; 0 for anything else (no answer).
inline int statusClass(int status) {
  return status >= 100 && status <= 599 ? status / 100 : 0;
}

// One side's answer as the comparison sees it.
struct MirrorAnswer {
  bool complete = false;  // a whole response arrived (head and body to its end)
  int status = 0;
  uint64_t body_hash = 0;
};

// What sluice_mirror_requests_total counts for one mirrored request.
enum class MirrorResult {
  Match,              // compare: same status class and body hash
  StatusMismatch,     // compare: the status classes differ
  BodyMismatch,       // compare: same class, different bodies
  Error,              // the mirror gave no whole answer (connect, timeout, reset, no target)
  Sent,               // no compare: the mirror answered (any status)
  PrimaryIncomplete,  // compare: the client's response did not end whole (nothing to compare)
};
inline constexpr size_t kMirrorResults = 6;

// The label value of `r` (result="...").
std::string_view mirrorResultName(MirrorResult r);

// The verdict for a compared pair. A failed mirror is an Error whatever the primary did.
MirrorResult compareAnswers(const MirrorAnswer& primary, const MirrorAnswer& mirror);

}  // namespace sluice::proxy
