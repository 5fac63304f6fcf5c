#include "ratelimit/key_expr.h"

#include <arpa/inet.h>

#include <cstring>

namespace sluice::ratelimit {

namespace {
std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}
}  // namespace

bool parseKeyExpr(std::string_view text, std::vector<KeyPart>& out, std::string& error) {
  out.clear();
  size_t pos = 0;
  while (true) {
    size_t plus = text.find('+', pos);
    std::string_view part =
        trim(text.substr(pos, plus == std::string_view::npos ? plus : plus - pos));
    KeyPart k;
    size_t colon = part.find(':');
    std::string_view kind = part.substr(0, colon);
    std::string_view name = colon == std::string_view::npos ? "" : part.substr(colon + 1);
    if (part == "ip") {
      k.kind = KeyPart::Kind::Ip;
    } else if (part == "route") {
      k.kind = KeyPart::Kind::Route;
    } else if (part == "consumer") {
      k.kind = KeyPart::Kind::Consumer;
    } else if (colon != std::string_view::npos && !name.empty() &&
               (kind == "header" || kind == "cookie" || kind == "query" || kind == "jwt")) {
      k.kind = kind == "header"   ? KeyPart::Kind::Header
               : kind == "cookie" ? KeyPart::Kind::Cookie
               : kind == "jwt"    ? KeyPart::Kind::JwtClaim
                                  : KeyPart::Kind::Query;
      k.name = std::string(name);
      if (k.kind == KeyPart::Kind::Header) {
        for (char& c : k.name) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c);
      }
    } else {
      error = "\"" + std::string(part) +
              "\" is not a rate-limit key; write ip, route, consumer, header:NAME, cookie:NAME, "
              "query:NAME or jwt:CLAIM, joined with +";
      return false;
    }
    out.push_back(std::move(k));
    if (plus == std::string_view::npos) return true;
    pos = plus + 1;
  }
}

std::optional<std::string_view> cookieValue(std::string_view field, std::string_view name) {
  while (!field.empty()) {
    size_t semi = field.find(';');
    std::string_view pair = trim(field.substr(0, semi));
    size_t eq = pair.find('=');
    if (eq != std::string_view::npos && trim(pair.substr(0, eq)) == name) {
      std::string_view v = trim(pair.substr(eq + 1));
      if (v.size() >= 2 && v.front() == '"' && v.back() == '"') v = v.substr(1, v.size() - 2);
      return v;
    }
    if (semi == std::string_view::npos) break;
    field.remove_prefix(semi + 1);
  }
  return std::nullopt;
}

std::optional<std::string_view> queryValue(std::string_view query, std::string_view name) {
  while (!query.empty()) {
    size_t amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    size_t eq = pair.find('=');
    if (pair.substr(0, eq) == name) {
      return eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1);
    }
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return std::nullopt;
}

std::string_view clientFromForwarded(std::string_view forwarded,
                                     const std::function<bool(std::string_view)>& trusted) {
  std::string_view farthest;
  while (!forwarded.empty()) {
    size_t comma = forwarded.rfind(',');
    std::string_view hop =
        trim(comma == std::string_view::npos ? forwarded : forwarded.substr(comma + 1));
    forwarded = comma == std::string_view::npos ? std::string_view() : forwarded.substr(0, comma);
    if (hop.empty()) continue;
    if (!trusted(hop)) return hop;
    farthest = hop;
  }
  return farthest;
}

namespace {
// Dotted-quad IPv4 as inet_pton(AF_INET) reads it (four decimal octets, no leading zeros), without
// copying to a C string: this runs for each X-Forwarded-For hop a trusted peer sends.
bool parseIp4(std::string_view text, unsigned char out[4]) {
  size_t i = 0;
  for (int octet = 0; octet < 4; ++octet) {
    if (octet > 0) {
      if (i >= text.size() || text[i] != '.') return false;
      ++i;
    }
    size_t start = i;
    unsigned value = 0;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9' && i - start < 3) {
      value = value * 10 + static_cast<unsigned>(text[i] - '0');
      ++i;
    }
    size_t digits = i - start;
    if (digits == 0 || value > 255 || (digits > 1 && text[start] == '0')) return false;
    out[octet] = static_cast<unsigned char>(value);
  }
  return i == text.size();
}
}  // namespace

bool parseIp16(std::string_view text, unsigned char out[16]) {
  unsigned char v4[4];
  if (parseIp4(text, v4)) {
    std::memset(out, 0, 10);
    out[10] = 0xff;
    out[11] = 0xff;
    std::memcpy(out + 12, v4, 4);
    return true;
  }
  char buf[64];
  if (text.size() >= 2 && text.front() == '[' && text.back() == ']') {
    text = text.substr(1, text.size() - 2);
  }
  if (text.empty() || text.size() >= sizeof buf) return false;
  std::memcpy(buf, text.data(), text.size());
  buf[text.size()] = '\0';
  return text.find(':') != std::string_view::npos && inet_pton(AF_INET6, buf, out) == 1;
}

}  // namespace sluice::ratelimit
