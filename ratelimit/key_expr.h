// Rate-limit key expressions (`ip`, `route`, `consumer`, `header:NAME`, `cookie:NAME`,
// `query:NAME`, `jwt:CLAIM`, joined with `+`) and the pure string work of evaluating them: cookie
// and query lookups, and the walk over X-Forwarded-For that finds the client behind trusted
// proxies.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sluice::ratelimit {

struct KeyPart {
  enum class Kind { Ip, Route, Consumer, Header, Cookie, Query, JwtClaim };
  Kind kind = Kind::Ip;
  std::string name;  // header names lower-cased; cookie and query names as written
};

// Parses `text`; false with `error` set when a part is not one of the forms above.
bool parseKeyExpr(std::string_view text, std::vector<KeyPart>& out, std::string& error);

// The value of cookie `name` in a Cookie field value (`a=1; b=2`), or nullopt.
std::optional<std::string_view> cookieValue(std::string_view cookie_field, std::string_view name);

// The raw (still percent-encoded) value of parameter `name` in a query string, or nullopt.
std::optional<std::string_view> queryValue(std::string_view query, std::string_view name);

// The client address given the X-Forwarded-For hops (comma-separated, nearest last; the peer
// itself is the last hop): walking from the nearest, the first hop that is not trusted, or the
// farthest hop when all are trusted. Empty hops are skipped; `forwarded` empty gives "".
std::string_view clientFromForwarded(std::string_view forwarded,
                                     const std::function<bool(std::string_view)>& trusted);

// An IPv4 or IPv6 address as 16 bytes (IPv4 mapped to ::ffff:a.b.c.d); false if it is not one.
bool parseIp16(std::string_view text, unsigned char out[16]);

}  // namespace sluice::ratelimit
