#include "proxy/upstream/h2/h2_request_fields.h"

#include <charconv>
#include <string_view>

namespace sluice::proxy {

namespace {

using namespace std::string_view_literals;

nghttp2_nv pair(std::string_view name, std::string_view value) {
  nghttp2_nv nv;
  nv.name = reinterpret_cast<uint8_t*>(const_cast<char*>(name.data()));
  nv.namelen = name.size();
  nv.value = reinterpret_cast<uint8_t*>(const_cast<char*>(value.data()));
  nv.valuelen = value.size();
  nv.flags = NGHTTP2_NV_FLAG_NONE;
  return nv;
}

// Connection-specific fields (RFC 9113 §8.2.2) and those the pseudo-fields or framing replace.
bool dropped(std::string_view n) {
  return n == "connection"sv || n == "keep-alive"sv || n == "proxy-connection"sv ||
         n == "transfer-encoding"sv || n == "upgrade"sv || n == "host"sv ||
         n == "content-length"sv || n == "te"sv || n == "http2-settings"sv;
}

bool hasUpper(std::string_view s) {
  for (char c : s) {
    if (c >= 'A' && c <= 'Z') return true;
  }
  return false;
}

}  // namespace

void buildH2RequestFields(const base::RequestHead& head, bool tls, BodyFraming framing,
                          uint64_t length, H2RequestFields& out) {
  out.nv.clear();
  out.owned.clear();
  out.nv.reserve(head.headers.size() + 6);
  out.nv.push_back(pair(":method", head.method));
  out.nv.push_back(pair(":scheme", tls ? "https"sv : "http"sv));
  out.nv.push_back(pair(":authority", head.host));
  out.nv.push_back(pair(":path", head.target.empty() ? "/"sv : std::string_view(head.target)));
  bool grpc = false;
  for (const base::Header& h : head.headers) {
    std::string_view name = h.name;
    if (name.empty() || name[0] == ':' || dropped(name)) continue;
    if (hasUpper(name)) {
      out.owned.emplace_back(h.name);
      base::toLowerInPlace(out.owned.back());
      name = out.owned.back();
      if (dropped(name)) continue;
    }
    if (name == "content-type"sv &&
        std::string_view(h.value).substr(0, 16) == "application/grpc"sv) {
      grpc = true;
    }
    out.nv.push_back(pair(name, h.value));
  }
  if (framing == BodyFraming::Length) {
    auto r = std::to_chars(out.length_digits, out.length_digits + sizeof out.length_digits, length);
    out.nv.push_back(
        pair("content-length",
             std::string_view(out.length_digits, static_cast<size_t>(r.ptr - out.length_digits))));
  }
  if (grpc) out.nv.push_back(pair("te", "trailers"));
}

bool h2TrailerAllowed(std::string_view n) {
  // The fields appendLastChunk leaves out of an HTTP/1.1 last chunk, and HTTP2-Settings.
  return !n.empty() && n[0] != ':' && !forbiddenTrailer(n) && n != "http2-settings"sv;
}

}  // namespace sluice::proxy
