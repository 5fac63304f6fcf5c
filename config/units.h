// Parsers for the value syntaxes of spec/config.md (durations, sizes, rates, percentages, status
// ranges, addresses, CIDRs, names, header tokens) and their inverses for the JSON dump.
// Pure functions: no exceptions, no I/O; errors are sentences that say what to write instead.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "config/config.h"

namespace sluice::config {

struct ParseError {
  std::string message;
};

// The outcome of parsing one value: the value, or a sentence saying what to write instead.
template <typename T>
class Parsed {
 public:
  Parsed(T value) : value_(std::move(value)) {}           // NOLINT: implicit by design
  Parsed(ParseError e) : error_(std::move(e.message)) {}  // NOLINT
  bool ok() const { return value_.has_value(); }
  explicit operator bool() const { return ok(); }
  const T& operator*() const { return *value_; }
  const T* operator->() const { return &*value_; }
  const std::string& error() const { return error_; }

 private:
  std::optional<T> value_;
  std::string error_;
};

// `250ms`, `10s`, `5m`, `1h`, or `0`. Non-negative whole numbers only.
Parsed<Duration> parseDuration(std::string_view s);
// `512`, `64KiB`, `10MiB`, `1GiB` (binary units), in bytes.
Parsed<uint64_t> parseSize(std::string_view s);
// `100/s`, `6000/m`, `100000/h`; the count may have a fraction and must be above zero.
Parsed<Rate> parseRate(std::string_view s);
// `20%` -> 0.2; between 0% and 100%.
Parsed<double> parsePercent(std::string_view s);
// `200-399` or `404`, within 100-599.
Parsed<StatusRange> parseStatusRange(std::string_view s);
// `host:port`, `[v6]:port`, `0.0.0.0:8080`; port 1-65535. The host may be a DNS name.
Parsed<Address> parseAddress(std::string_view s);
// `10.0.0.0/8`, `::1/128`, or a bare address (= /32 or /128). Host bits must be zero.
Parsed<Cidr> parseCidr(std::string_view s);
// An IPv4 or IPv6 literal as 16 bytes, IPv4 mapped to ::ffff:a.b.c.d (the form Cidr::contains
// takes). Empty when `s` is not an IP literal.
std::optional<std::array<uint8_t, 16>> parseIp(std::string_view s);

// Inverses, for the JSON dump and messages: the largest exact unit (`90s` -> "90s", 120000ms ->
// "2m"), the rate as written ("100/s"), a fraction as a percentage (0.2 -> "20%").
std::string formatDuration(Duration d);
std::string formatRate(const Rate& r);
std::string formatPercent(double fraction);
std::string formatStatusRange(const StatusRange& r);

// Names of listeners, upstreams and routes become metric labels: non-empty [A-Za-z0-9_.-]+.
bool isValidName(std::string_view s);
// An HTTP token (RFC 9110 section 5.6.2), as header names and methods must be.
bool isHttpToken(std::string_view s);
// A header value may not carry CR, LF or NUL (they would split or truncate the header).
bool isValidHeaderValue(std::string_view s);
std::string toLower(std::string_view s);
std::string toUpper(std::string_view s);

}  // namespace sluice::config
