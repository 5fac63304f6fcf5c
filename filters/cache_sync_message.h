// What one sluice instance tells the others on the cache-sync channel (filters/cache_sync.h), and
// the reconnect delays of that channel's connections. Pure: no I/O, no clock, no randomness of
// its own, so both are tested exactly (tests/filters/cache_sync_message_test.cc).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace sluice::filters {

// One admin purge as published: by whom, and what went. A message is one line of text,
//   sluice-purge 1 <instance> key|prefix <value>
// where <value> is everything after the fourth space (it may hold spaces, or be empty for a
// prefix purge of everything). Version 1; a receiver ignores messages of other versions.
struct PurgeMessage {
  enum class Kind { Key, Prefix };
  std::string instance;  // the sender's id (newInstanceId): a receiver skips its own echo
  Kind kind = Kind::Key;
  std::string value;  // the cache key (HOST/PATH?QUERY) or key prefix, as the admin gave it
  bool operator==(const PurgeMessage&) const = default;
};

std::string encodePurge(const PurgeMessage& m);
// Empty for anything that is not a well-formed version-1 message.
std::optional<PurgeMessage> decodePurge(std::string_view payload);

// An instance id: 16 lower-case hex digits of `random` (a process draws it once at start).
std::string newInstanceId(uint64_t random);

// The delay before reconnect attempt number `failures` + 1 (0 after the first loss): capped
// exponential backoff with equal jitter. The ceiling doubles from kSyncBackoffBaseMs up to
// kSyncBackoffMaxMs; the delay is half the ceiling plus `random` modulo the other half, so
// instances cut off together do not come back in lock step.
inline constexpr uint64_t kSyncBackoffBaseMs = 100;
inline constexpr uint64_t kSyncBackoffMaxMs = 2000;
uint64_t reconnectDelayMs(uint32_t failures, uint64_t random);

}  // namespace sluice::filters
