// Value syntaxes of spec/config.md; see units.h.
#include "config/units.h"

#include <arpa/inet.h>

#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>

namespace sluice::config {
namespace {

std::string quoted(std::string_view s) {
  return "\"" + std::string(s) + "\"";
}

bool isDigits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

// Whole non-negative number; empty on junk or overflow.
std::optional<uint64_t> parseWhole(std::string_view s) {
  if (!isDigits(s)) return std::nullopt;
  uint64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return v;
}

// A plain decimal such as `2.5` (no sign, no exponent: config values are written by people).
std::optional<double> parseDecimal(std::string_view s) {
  if (s.empty() || s.front() == '.' || s.back() == '.') return std::nullopt;
  int dots = 0;
  for (char c : s) {
    if (c == '.') {
      ++dots;
    } else if (c < '0' || c > '9') {
      return std::nullopt;
    }
  }
  if (dots > 1) return std::nullopt;
  double v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size() || !std::isfinite(v)) return std::nullopt;
  return v;
}

// Splits `123unit` into the number and the unit.
std::pair<std::string_view, std::string_view> splitUnit(std::string_view s) {
  size_t i = 0;
  while (i < s.size() && ((s[i] >= '0' && s[i] <= '9') || s[i] == '.')) ++i;
  return {s.substr(0, i), s.substr(i)};
}

std::string formatNumber(double v) {
  if (v == std::floor(v) && std::fabs(v) < 1e15) {
    return std::to_string(static_cast<long long>(v));
  }
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  return ec == std::errc() ? std::string(buf, end) : std::to_string(v);
}

bool isHostChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_';
}

}  // namespace

Parsed<Duration> parseDuration(std::string_view s) {
  const ParseError bad{quoted(s) + " is not a duration; write e.g. 250ms, 10s, 5m, 1h"};
  if (s == "0") return Duration{0};
  auto [num, unit] = splitUnit(s);
  auto n = parseWhole(num);
  if (!n) return bad;
  uint64_t ms_per_unit = 0;
  if (unit == "ms") {
    ms_per_unit = 1;
  } else if (unit == "s") {
    ms_per_unit = 1000;
  } else if (unit == "m") {
    ms_per_unit = 60'000;
  } else if (unit == "h") {
    ms_per_unit = 3'600'000;
  } else {
    return bad;
  }
  // Far beyond any sensible timeout, and safe from overflow in later arithmetic.
  constexpr uint64_t kMaxMs = 1ull << 50;
  if (*n > kMaxMs / ms_per_unit) return ParseError{"duration " + quoted(s) + " is too large"};
  return Duration{static_cast<int64_t>(*n * ms_per_unit)};
}

Parsed<uint64_t> parseSize(std::string_view s) {
  auto [num, unit] = splitUnit(s);
  auto n = parseWhole(num);
  uint64_t mult = 0;
  if (unit.empty() || unit == "B") {
    mult = 1;
  } else if (unit == "KiB") {
    mult = 1ull << 10;
  } else if (unit == "MiB") {
    mult = 1ull << 20;
  } else if (unit == "GiB") {
    mult = 1ull << 30;
  }
  if (!n || mult == 0) {
    return ParseError{quoted(s) +
                      " is not a size; write bytes or a binary unit, e.g. 512, 64KiB, " +
                      "10MiB, 1GiB"};
  }
  if (*n > std::numeric_limits<uint64_t>::max() / mult) {
    return ParseError{"size " + quoted(s) + " is too large"};
  }
  return *n * mult;
}

Parsed<Rate> parseRate(std::string_view s) {
  const ParseError bad{quoted(s) + " is not a rate; write e.g. 100/s, 6000/m, 100000/h"};
  auto slash = s.find('/');
  if (slash == std::string_view::npos) return bad;
  auto count = parseDecimal(s.substr(0, slash));
  std::string_view unit = s.substr(slash + 1);
  Rate r;
  if (unit == "s") {
    r.per = Duration{1000};
  } else if (unit == "m") {
    r.per = Duration{60'000};
  } else if (unit == "h") {
    r.per = Duration{3'600'000};
  } else {
    return bad;
  }
  if (!count) return bad;
  if (*count <= 0) return ParseError{"rate " + quoted(s) + " must be above zero, e.g. 1/s"};
  r.count = *count;
  return r;
}

Parsed<double> parsePercent(std::string_view s) {
  const ParseError bad{quoted(s) + " is not a percentage; write e.g. 20% (between 0% and 100%)"};
  if (s.empty() || s.back() != '%') return bad;
  auto v = parseDecimal(s.substr(0, s.size() - 1));
  if (!v || *v > 100) return bad;
  return *v / 100.0;
}

Parsed<StatusRange> parseStatusRange(std::string_view s) {
  const ParseError bad{quoted(s) + " is not a status or status range; write e.g. 404 or 200-399"};
  auto dash = s.find('-');
  std::string_view lo_text = dash == std::string_view::npos ? s : s.substr(0, dash);
  std::string_view hi_text = dash == std::string_view::npos ? s : s.substr(dash + 1);
  auto lo = parseWhole(lo_text);
  auto hi = parseWhole(hi_text);
  if (!lo || !hi) return bad;
  if (*lo < 100 || *lo > 599 || *hi < 100 || *hi > 599) {
    return ParseError{"status " + quoted(s) + " is outside 100-599"};
  }
  if (*lo > *hi) {
    return ParseError{"status range " + quoted(s) + " is reversed; write the lower status first"};
  }
  return StatusRange{static_cast<int>(*lo), static_cast<int>(*hi)};
}

std::optional<std::array<uint8_t, 16>> parseIp(std::string_view s) {
  if (s.empty() || s.size() > 45) return std::nullopt;
  std::string text(s);  // inet_pton wants a terminated string
  std::array<uint8_t, 16> out{};
  in_addr v4;
  if (inet_pton(AF_INET, text.c_str(), &v4) == 1) {
    out[10] = 0xff;
    out[11] = 0xff;
    std::memcpy(&out[12], &v4, 4);
    return out;
  }
  in6_addr v6;
  if (inet_pton(AF_INET6, text.c_str(), &v6) == 1) {
    std::memcpy(out.data(), &v6, 16);
    return out;
  }
  return std::nullopt;
}

Parsed<Address> parseAddress(std::string_view s) {
  const std::string hint = "; write host:port, e.g. 0.0.0.0:8080, 127.0.0.1:9001 or [::1]:8080";
  Address a;
  std::string_view port_text;
  if (!s.empty() && s.front() == '[') {
    auto close = s.find(']');
    if (close == std::string_view::npos || close + 1 >= s.size() || s[close + 1] != ':') {
      return ParseError{quoted(s) + " is not an address" + hint};
    }
    a.host = std::string(s.substr(1, close - 1));
    port_text = s.substr(close + 2);
    if (a.host.find(':') == std::string::npos || !parseIp(a.host)) {
      return ParseError{quoted(s) + ": \"" + a.host + "\" in brackets is not an IPv6 address" +
                        hint};
    }
  } else {
    auto colon = s.rfind(':');
    if (colon == std::string_view::npos) return ParseError{quoted(s) + " has no port" + hint};
    a.host = std::string(s.substr(0, colon));
    port_text = s.substr(colon + 1);
    if (a.host.find(':') != std::string::npos) {
      return ParseError{quoted(s) + ": an IPv6 address needs brackets, e.g. [::1]:8080"};
    }
    if (a.host.empty()) return ParseError{quoted(s) + " has no host" + hint};
    for (char c : a.host) {
      if (!isHostChar(c)) {
        return ParseError{quoted(s) + ": \"" + a.host + "\" is not a host name or IP address" +
                          hint};
      }
    }
  }
  auto port = parseWhole(port_text);
  if (!port)
    return ParseError{quoted(s) + ": port \"" + std::string(port_text) + "\" is not a number" +
                      hint};
  if (*port < 1 || *port > 65535) {
    return ParseError{quoted(s) + ": port " + std::string(port_text) +
                      " is out of range; use 1-65535"};
  }
  a.port = static_cast<uint16_t>(*port);
  return a;
}

std::string Address::text() const {
  std::string out = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  return out + ":" + std::to_string(port);
}

Parsed<Cidr> parseCidr(std::string_view s) {
  const std::string hint = "; write e.g. 10.0.0.0/8, 127.0.0.1, ::1/128";
  auto slash = s.find('/');
  std::string_view ip_text = s.substr(0, slash);
  auto ip = parseIp(ip_text);
  if (!ip) return ParseError{quoted(s) + " is not an IP address or CIDR block" + hint};
  const bool v4 = ip_text.find(':') == std::string_view::npos;
  const unsigned max_len = v4 ? 32 : 128;
  unsigned len = max_len;
  if (slash != std::string_view::npos) {
    auto n = parseWhole(s.substr(slash + 1));
    if (!n || *n > max_len) {
      return ParseError{quoted(s) + ": the prefix length must be 0-" + std::to_string(max_len) +
                        hint};
    }
    len = static_cast<unsigned>(*n);
  }
  Cidr c;
  std::memcpy(c.addr, ip->data(), 16);
  c.prefix_len = static_cast<uint8_t>(v4 ? len + 96 : len);
  c.text = std::string(s);
  // Set host bits usually mean a typo in the prefix length; say so rather than guess.
  for (unsigned bit = c.prefix_len; bit < 128; ++bit) {
    if (c.addr[bit / 8] & (0x80 >> (bit % 8))) {
      return ParseError{quoted(s) + " has bits set after the /" + std::to_string(len) +
                        " prefix; write the network address of the block"};
    }
  }
  return c;
}

bool Cidr::contains(const uint8_t ip16[16]) const {
  unsigned full = prefix_len / 8;
  if (std::memcmp(addr, ip16, full) != 0) return false;
  unsigned rest = prefix_len % 8;
  if (rest == 0) return true;
  uint8_t mask = static_cast<uint8_t>(0xff << (8 - rest));
  return (addr[full] & mask) == (ip16[full] & mask);
}

std::string formatDuration(Duration d) {
  int64_t ms = d.count();
  if (ms == 0) return "0s";
  if (ms % 3'600'000 == 0) return std::to_string(ms / 3'600'000) + "h";
  if (ms % 60'000 == 0) return std::to_string(ms / 60'000) + "m";
  if (ms % 1000 == 0) return std::to_string(ms / 1000) + "s";
  return std::to_string(ms) + "ms";
}

std::string formatRate(const Rate& r) {
  switch (r.per.count()) {
    case 1000:
      return formatNumber(r.count) + "/s";
    case 60'000:
      return formatNumber(r.count) + "/m";
    case 3'600'000:
      return formatNumber(r.count) + "/h";
    default:
      return formatNumber(r.perSecond()) + "/s";
  }
}

std::string formatPercent(double fraction) {
  return formatNumber(fraction * 100.0) + "%";
}

std::string formatStatusRange(const StatusRange& r) {
  if (r.lo == r.hi) return std::to_string(r.lo);
  return std::to_string(r.lo) + "-" + std::to_string(r.hi);
}

bool isValidName(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!isHostChar(c)) return false;
  }
  return true;
}

bool isHttpToken(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    if (!alnum && !std::strchr("!#$%&'*+-.^_`|~", c)) return false;
    if (c == '\0') return false;  // strchr matches the terminator
  }
  return true;
}

bool isValidHeaderValue(std::string_view s) {
  return s.find_first_of(std::string_view("\r\n\0", 3)) == std::string_view::npos;
}

std::string toLower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

std::string toUpper(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  }
  return out;
}

}  // namespace sluice::config
