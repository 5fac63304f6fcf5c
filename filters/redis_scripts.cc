#include "filters/redis_scripts.h"

namespace sluice::filters {

// Each script returns {allowed, remaining, reset_ms, retry_ms, delay_ms}. Time is Redis's own
// (TIME), so every sluice process shares one clock.
const char* const kRedisScripts[kScriptCount] = {
    // TokenBucket: GCRA in microseconds. ARGV: interval_us, burst.
    R"lua(local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local tol = interval * tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1])) or now
if tat < now then tat = now end
local nxt = tat + interval
if nxt - now > tol then
  return {0, 0, math.ceil((tat - now) / 1000), math.ceil((nxt - now - tol) / 1000), 0}
end
redis.call('SET', KEYS[1], string.format('%.0f', nxt), 'PX', math.ceil((nxt - now) / 1000) + 1000)
return {1, math.floor((tol - (nxt - now)) / interval), math.ceil((nxt - now) / 1000), 0, 0})lua",
    // FixedWindow. ARGV: window_ms, limit.
    R"lua(local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local w = tonumber(ARGV[1])
local limit = tonumber(ARGV[2])
local start = now - (now % w)
local k = KEYS[1] .. ':' .. string.format('%.0f', start)
local c = tonumber(redis.call('GET', k)) or 0
local reset = start + w - now
if c >= limit then return {0, 0, reset, reset, 0} end
c = redis.call('INCR', k)
if c == 1 then redis.call('PEXPIRE', k, w + 1000) end
return {1, limit - c, reset, 0, 0})lua",
    // WeightedWindow (sliding_window, precision: approximate): the weighted two-window
    // counter. ARGV: window_ms, limit.
    R"lua(local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local w = tonumber(ARGV[1])
local limit = tonumber(ARGV[2])
local start = now - (now % w)
local kc = KEYS[1] .. ':' .. string.format('%.0f', start)
local kp = KEYS[1] .. ':' .. string.format('%.0f', start - w)
local prev = tonumber(redis.call('GET', kp)) or 0
local cur = tonumber(redis.call('GET', kc)) or 0
local el = now - start
if prev * (w - el) / w + cur + 1 > limit then
  local retry
  if cur + 1 <= limit and prev > 0 then
    retry = math.ceil(w - (limit - cur - 1) * w / prev - el)
  else
    local y = 0
    if cur > 0 then y = math.max(0, w - (limit - 1) * w / cur) end
    retry = math.ceil(w - el + y)
  end
  if retry < 1 then retry = 1 end
  return {0, 0, w - el, retry, 0}
end
cur = redis.call('INCR', kc)
if cur == 1 then redis.call('PEXPIRE', kc, 2 * w + 1000) end
local left = math.floor(limit - prev * (w - el) / w - cur)
if left < 0 then left = 0 end
return {1, left, w - el, 0, 0})lua",
    // LeakyBucket: nginx limit_req. ARGV: requests per microsecond, burst.
    R"lua(local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local v = redis.call('HMGET', KEYS[1], 'e', 'l')
if not v[1] then
  redis.call('HSET', KEYS[1], 'e', '0', 'l', string.format('%.0f', now))
  redis.call('PEXPIRE', KEYS[1], math.ceil(1 / rate / 1000) + 1000)
  return {1, burst, 0, 0, 0}
end
local e = tonumber(v[1]) - (now - tonumber(v[2])) * rate + 1
if e < 0 then e = 0 end
if e > burst then
  return {0, 0, math.ceil((e - 1) / rate / 1000), math.ceil((e - burst) / rate / 1000), 0}
end
redis.call('HSET', KEYS[1], 'e', string.format('%.6f', e), 'l', string.format('%.0f', now))
redis.call('PEXPIRE', KEYS[1], math.ceil((e + 1) / rate / 1000) + 1000)
local delay = math.ceil(e / rate / 1000)
return {1, math.floor(burst - e), delay, 0, delay})lua",
    // SlidingLog (sliding_window, limit <= 128): the exact log, admission times as the scores
    // of a sorted set. ARGV: window_us, limit. A member is "time-count", unique per admission.
    R"lua(local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local w = tonumber(ARGV[1])
local limit = tonumber(ARGV[2])
local last = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
local newest = now
if last[2] then newest = tonumber(last[2]) end
if newest > now then now = newest end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', string.format('%.0f', now - w))
local n = redis.call('ZCARD', KEYS[1])
if n >= limit then
  local first = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  local retry = math.ceil((tonumber(first[2]) + w - now) / 1000)
  if retry < 1 then retry = 1 end
  return {0, 0, math.ceil((newest + w - now) / 1000), retry, 0}
end
local at = string.format('%.0f', now)
redis.call('ZADD', KEYS[1], at, at .. '-' .. n)
redis.call('PEXPIRE', KEYS[1], math.ceil(w / 1000) + 1000)
return {1, limit - n - 1, math.ceil(w / 1000), 0, 0})lua",
    // SlidingRing (sliding_window, limit > 128): counts per sub-window of g = window / buckets
    // in a hash (field: sub-window index); the oldest, partly expired one counts whole, as in
    // ratelimit/sliding_ring.h. ARGV: window_us, limit, buckets.
    R"lua(local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local w = tonumber(ARGV[1])
local limit = tonumber(ARGV[2])
local b = tonumber(ARGV[3])
local g = math.ceil(w / b)
local k = math.floor(now / g)
local all = redis.call('HGETALL', KEYS[1])
local counts = {}
for i = 1, #all, 2 do
  local idx = tonumber(all[i])
  counts[idx] = tonumber(all[i + 1])
  if idx > k then k = idx end
end
local at = math.max(now, k * g)
local total = 0
local stale = {}
for idx, c in pairs(counts) do
  if idx < k - b then stale[#stale + 1] = string.format('%.0f', idx) else total = total + c end
end
if #stale > 0 then redis.call('HDEL', KEYS[1], unpack(stale)) end
local reset = math.ceil(((k + b + 1) * g - at) / 1000)
if total >= limit then
  local left = total
  local j = 1
  while j <= b do
    left = left - (counts[k - b + j - 1] or 0)
    if left + 1 <= limit then break end
    j = j + 1
  end
  local retry = math.ceil(((k + j) * g - at) / 1000)
  if retry < 1 then retry = 1 end
  return {0, 0, reset, retry, 0}
end
redis.call('HINCRBY', KEYS[1], string.format('%.0f', k), 1)
redis.call('PEXPIRE', KEYS[1], math.ceil((w + g) / 1000) + 1000)
return {1, limit - total - 1, reset, 0, 0})lua",
};

}  // namespace sluice::filters
