#include "config/redis_url.h"

#include <charconv>

namespace sluice::config {

namespace {

bool number(std::string_view s, int* out, int min, int max) {
  int v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size() || v < min || v > max) return false;
  *out = v;
  return true;
}

}  // namespace

Parsed<RedisUrl> parseRedisUrl(std::string_view url) {
  constexpr std::string_view kScheme = "redis://";
  if (url.rfind("rediss://", 0) == 0) {
    return ParseError{"rediss:// (TLS) is not supported; use redis://host:port"};
  }
  if (url.rfind(kScheme, 0) != 0) return ParseError{"write redis://host:port[/db]"};
  std::string_view rest = url.substr(kScheme.size());
  size_t slash = rest.find('/');
  std::string_view hostport = rest.substr(0, slash);
  RedisUrl u;
  if (hostport.find('@') != std::string_view::npos) {
    return ParseError{"credentials in the URL (user:password@) are not supported"};
  }
  if (slash != std::string_view::npos && slash + 1 < rest.size() &&
      !number(rest.substr(slash + 1), &u.db, 0, 1 << 20)) {
    return ParseError{"the db after the / must be a number, e.g. redis://127.0.0.1:6379/0"};
  }
  if (!hostport.empty() && hostport.front() == '[') {
    size_t close = hostport.find(']');
    if (close == std::string_view::npos) return ParseError{"an IPv6 host needs its closing ]"};
    u.host = std::string(hostport.substr(1, close - 1));
    std::string_view after = hostport.substr(close + 1);
    if (!after.empty() && (after.front() != ':' || !number(after.substr(1), &u.port, 1, 65535))) {
      return ParseError{"the port must be 1-65535"};
    }
  } else {
    size_t colon = hostport.find(':');
    u.host = std::string(hostport.substr(0, colon));
    if (colon != std::string_view::npos && !number(hostport.substr(colon + 1), &u.port, 1, 65535)) {
      return ParseError{"the port must be 1-65535"};
    }
  }
  if (u.host.empty()) return ParseError{"no host; write e.g. redis://127.0.0.1:6379"};
  return u;
}

}  // namespace sluice::config
