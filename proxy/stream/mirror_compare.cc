#include "proxy/stream/mirror_compare.h"

#include <cstring>

#include "balancer/hash.h"

namespace sluice::proxy {

namespace {
constexpr uint64_t kFnvPrime = 0x100000001b3ull;

// A word in the machine's byte order: both answers are hashed by the same process, so the digest
// need not agree across machines.
uint64_t loadWord(const unsigned char* p) {
  uint64_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
}  // namespace

void BodyHash::update(const char* data, size_t len) {
  const auto* p = reinterpret_cast<const unsigned char*>(data);
  length_ += len;
  if (tail_len_ > 0) {  // finish the word a previous piece began
    size_t take = len < 8 - tail_len_ ? len : 8 - tail_len_;
    std::memcpy(tail_ + tail_len_, p, take);
    tail_len_ += take;
    p += take;
    len -= take;
    if (tail_len_ < 8) return;
    h_ = (h_ ^ loadWord(tail_)) * kFnvPrime;
    tail_len_ = 0;
  }
  for (; len >= 8; p += 8, len -= 8) h_ = (h_ ^ loadWord(p)) * kFnvPrime;
  std::memcpy(tail_, p, len);
  tail_len_ = len;
}

uint64_t BodyHash::digest() const {
  uint64_t h = h_;
  for (size_t i = 0; i < tail_len_; ++i) h = (h ^ tail_[i]) * kFnvPrime;
  return balancer::mix64(h ^ length_);
}

std::string_view mirrorResultName(MirrorResult r) {
  switch (r) {
    case MirrorResult::Match:
      return "match";
    case MirrorResult::StatusMismatch:
      return "status_mismatch";
    case MirrorResult::BodyMismatch:
      return "body_mismatch";
    case MirrorResult::Error:
      return "error";
    case MirrorResult::Sent:
      return "sent";
    case MirrorResult::PrimaryIncomplete:
      return "primary_incomplete";
  }
  return "error";
}

MirrorResult compareAnswers(const MirrorAnswer& primary, const MirrorAnswer& mirror) {
  if (!mirror.complete) return MirrorResult::Error;
  if (!primary.complete) return MirrorResult::PrimaryIncomplete;
  if (statusClass(primary.status) != statusClass(mirror.status)) {
    return MirrorResult::StatusMismatch;
  }
  if (primary.body_hash != mirror.body_hash) return MirrorResult::BodyMismatch;
  return MirrorResult::Match;
}

}  // namespace sluice::proxy
