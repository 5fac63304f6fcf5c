#include "proxy/http_serialize.h"

#include <charconv>
#include <cstring>
#include <vector>

namespace sluice::proxy {

using filters::Header;
using filters::HeaderMap;

using namespace std::string_view_literals;

namespace {
// Fields that are hop-by-hop whatever Connection says (plus content-length, re-derived).
bool isAlwaysHopByHop(std::string_view n) {
  switch (n.size()) {
    case 2: return n == "te"sv;
    case 7: return n == "trailer"sv;
    case 10: return n == "connection"sv || n == "keep-alive"sv;
    case 14: return n == "content-length"sv;
    case 16: return n == "proxy-connection"sv;
    case 17: return n == "transfer-encoding"sv;
    default: return false;
  }
}

// Connection options that name no field of their own ("close", "keep-alive" and the fixed
// hop-by-hop names) need no extra pass over the fields.
bool namesExtraField(std::string_view lname, bool keep_upgrade) {
  if (lname == "close"sv || lname == "host"sv || isAlwaysHopByHop(lname)) return false;
  if (lname == "upgrade"sv) return !keep_upgrade;
  return true;
}
}  // namespace

void removeHopByHop(HeaderMap& headers, bool keep_upgrade, std::initializer_list<std::string_view> also) {
  std::vector<std::string> named;  // allocated only for options naming other fields
  for (const Header& h : headers) {
    if (h.name != "connection"sv) continue;
    std::string_view v = h.value;
    size_t pos = 0;
    while (pos < v.size()) {
      size_t comma = v.find(',', pos);
      std::string_view tok =
          filters::trimOws(v.substr(pos, comma == std::string_view::npos ? v.npos : comma - pos));
      if (!tok.empty()) {
        std::string name(tok);
        filters::toLowerInPlace(name);
        if (namesExtraField(name, keep_upgrade)) named.push_back(std::move(name));
      }
      if (comma == std::string_view::npos) break;
      pos = comma + 1;
    }
  }
  auto& f = headers.fields();
  std::erase_if(f, [&](const Header& h) {
    std::string_view n = h.name;
    if (isAlwaysHopByHop(n)) return true;
    if (n == "upgrade"sv) return !keep_upgrade;
    for (std::string_view x : also) {
      if (n == x) return true;
    }
    for (const std::string& x : named) {
      if (n == x) return true;
    }
    return false;
  });
}

namespace {
// One growth and one copy per field instead of four appends.
void appendField(std::string& out, std::string_view name, std::string_view value) {
  size_t at = out.size();
  out.resize(at + name.size() + value.size() + 4);
  char* p = out.data() + at;
  std::memcpy(p, name.data(), name.size());
  p += name.size();
  *p++ = ':';
  *p++ = ' ';
  std::memcpy(p, value.data(), value.size());
  p += value.size();
  *p++ = '\r';
  *p = '\n';
}

void appendFraming(std::string& out, BodyFraming framing, uint64_t length) {
  if (framing == BodyFraming::Length) {
    char buf[24];
    auto r = std::to_chars(buf, buf + sizeof buf, length);
    appendField(out, "content-length", std::string_view(buf, static_cast<size_t>(r.ptr - buf)));
  } else if (framing == BodyFraming::Chunked) {
    appendField(out, "transfer-encoding", "chunked");
  }
}

// Field names and most values are short: fixed-size (inlined) overlapping copies beat a call.
inline char* put(char* p, const char* src, size_t n) {
  if (n >= 8 && n <= 16) {
    std::memcpy(p, src, 8);
    std::memcpy(p + n - 8, src + n - 8, 8);
  } else if (n >= 4 && n < 8) {
    std::memcpy(p, src, 4);
    std::memcpy(p + n - 4, src + n - 4, 4);
  } else {
    std::memcpy(p, src, n);
  }
  return p + n;
}

char* putField(char* p, std::string_view name, std::string_view value) {
  p = put(p, name.data(), name.size());
  *p++ = ':';
  *p++ = ' ';
  p = put(p, value.data(), value.size());
  *p++ = '\r';
  *p++ = '\n';
  return p;
}

// The fields of `headers` except those named `skip`: one growth of `out`, then copies.
void appendFields(std::string& out, const HeaderMap& headers, std::string_view skip) {
  size_t total = 0;
  for (const Header& h : headers) total += h.name.size() + h.value.size() + 4;
  size_t at = out.size();
  out.resize(at + total);
  char* start = out.data();
  char* p = start + at;
  for (const Header& h : headers) {
    if (h.name.size() == skip.size() && h.name == skip) continue;
    p = putField(p, h.name, h.value);
  }
  out.resize(static_cast<size_t>(p - start));
}
}  // namespace

void appendRequestHead(const filters::RequestHead& head, BodyFraming framing, uint64_t length,
                       std::string& out) {
  out.append(head.method);
  out.push_back(' ');
  out.append(head.target);
  out.append(" HTTP/1.1\r\n"sv);
  appendField(out, "host", head.host);
  appendFields(out, head.headers, "host"sv);
  appendFraming(out, framing, length);
  out.append("\r\n"sv);
}

void appendResponseHead(const filters::ResponseHead& head, BodyFraming framing, uint64_t length,
                        const char* connection, std::string& out) {
  char code[8];
  auto r = std::to_chars(code, code + sizeof code, head.status);
  out.append("HTTP/1.1 "sv);
  out.append(code, static_cast<size_t>(r.ptr - code));
  out.push_back(' ');
  out.append(head.reason.empty() ? filters::reasonPhrase(head.status) : head.reason);
  out.append("\r\n"sv);
  appendFields(out, head.headers, {});
  appendFraming(out, framing, length);
  if (connection != nullptr) appendField(out, "connection", connection);
  out.append("\r\n"sv);
}

size_t formatChunkHeader(size_t size, char* buf) {
  auto r = std::to_chars(buf, buf + 16, size, 16);
  r.ptr[0] = '\r';
  r.ptr[1] = '\n';
  return static_cast<size_t>(r.ptr - buf) + 2;
}

}  // namespace sluice::proxy
