// The parsed HTTP/1.x message heads that filters and the proxy work on. Field names are stored
// lower-case (HTTP field names are case-insensitive); values exactly as received, trimmed.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sluice::base {

struct Header {
  std::string name;  // lower-case
  std::string value;
};

// An ordered list of fields: duplicates are kept in order, lookups are linear (heads are small).
class HeaderMap {
 public:
  const std::string* get(std::string_view lname) const;
  bool has(std::string_view lname) const { return get(lname) != nullptr; }
  size_t count(std::string_view lname) const;
  // The field's value as one line (RFC 9110 5.3): its lines joined in order with ", " ("; " for
  // cookie, RFC 9113 8.2.3), built in `scratch` only when there are several; nullopt if absent.
  std::optional<std::string_view> combined(std::string_view lname, std::string& scratch) const;
  void add(std::string lname, std::string value);
  // Replaces every field of that name with one field (appended when absent).
  void set(std::string_view lname, std::string value);
  // Adds `item` to the comma-separated list in field `lname` (to its last line, so the combined
  // value of several lines ends with it), or adds the field when absent.
  void appendToList(std::string_view lname, std::string_view item);
  // Removes every field of that name; returns how many were removed.
  size_t remove(std::string_view lname);
  void clear() { fields_.clear(); }
  size_t size() const { return fields_.size(); }
  bool empty() const { return fields_.empty(); }
  std::vector<Header>::const_iterator begin() const { return fields_.begin(); }
  std::vector<Header>::const_iterator end() const { return fields_.end(); }
  std::vector<Header>& fields() { return fields_; }

 private:
  std::vector<Header> fields_;
};

struct RequestHead {
  std::string method;  // as received, upper-case token
  std::string target;  // origin-form path[?query] after normalisation of absolute-form
  std::string host;    // authority: from absolute-form target, else the Host field (lower-case)
  uint8_t version_major = 1;  // 2: the request came over HTTP/2 (Via says "2 sluice")
  uint8_t version_minor = 1;  // HTTP/1.x
  HeaderMap headers;

  std::string_view path() const;   // target without the query
  std::string_view query() const;  // after '?', without it; empty if none
};

struct ResponseHead {
  int status = 200;
  std::string reason;
  uint8_t version_major = 1;  // 2: the response came over HTTP/2
  uint8_t version_minor = 1;
  HeaderMap headers;
};

// The value of a hexadecimal digit, or -1.
int hexDigitValue(char c);

// An application/x-www-form-urlencoded (query) component decoded: %XX and '+'; a malformed
// escape stays as written.
std::string formDecode(std::string_view v);

// The standard reason phrase of a status code ("Bad Gateway"), or "Unknown".
const char* reasonPhrase(int status);

// Calls fn(member) for each comma-separated member of a field value (RFC 9110 §5.6.1), untrimmed;
// commas inside quoted strings do not split. Stops, and returns true, when fn returns true.
template <class Fn>
bool anyListMember(std::string_view value, Fn&& fn) {
  size_t start = 0;
  bool quoted = false;
  for (size_t i = 0; i <= value.size(); ++i) {
    if (i < value.size() && value[i] == '"') quoted = !quoted;
    if (i == value.size() || (value[i] == ',' && !quoted)) {
      if (fn(value.substr(start, i - start))) return true;
      start = i + 1;
    }
  }
  return false;
}

// Whether a comma-separated field value contains `token` (case-insensitive), e.g. for
// `Connection: keep-alive, Upgrade`.
bool headerHasToken(std::string_view value, std::string_view token);

// `s` without leading and trailing spaces and tabs (optional whitespace, RFC 9110 §5.6.3).
std::string_view trimOws(std::string_view s);

// ASCII case-insensitive equality (field names, tokens, media types).
bool equalsIgnoreCase(std::string_view a, std::string_view b);

// ASCII lower-casing in place.
void toLowerInPlace(std::string& s);

// Methods RFC 9110 defines as idempotent (GET HEAD OPTIONS TRACE PUT DELETE).
bool isIdempotentMethod(std::string_view method);

}  // namespace sluice::base
