// The Lua scripts of the cluster rate limits, one per algorithm, in the order of RedisScript
// (filters/redis_store.h). Each runs atomically in Redis on Redis's own clock.
#pragma once

namespace sluice::filters {

inline constexpr int kScriptCount = 6;
extern const char* const kRedisScripts[kScriptCount];

}  // namespace sluice::filters
