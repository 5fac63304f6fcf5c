// A Redis server URL as the Redis clients of sluice take it: redis://host[:port][/db]
// (port 6379 and db 0 by default; an IPv6 host in brackets). Pure parsing, shared by the config
// checks (`sluice -t`) and the cache-sync client, so that what -t accepts is what connects.
#pragma once

#include <string>
#include <string_view>

#include "config/units.h"

namespace sluice::config {

struct RedisUrl {
  std::string host;  // without brackets
  int port = 6379;
  int db = 0;
};

// The parts of `url`, or an error saying what is wrong with it ("redis://" missing, no host,
// a port out of 1-65535, a db that is not a number). rediss:// (TLS) and credentials in the URL
// (user:password@) are refused: the clients speak plain TCP without AUTH.
Parsed<RedisUrl> parseRedisUrl(std::string_view url);

}  // namespace sluice::config
