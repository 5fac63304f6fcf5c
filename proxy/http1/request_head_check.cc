#include "proxy/http1/request_head_check.h"

#include "proxy/http1/byte_scan.h"
#include "proxy/http1/request_line.h"

namespace sluice::proxy {

namespace {
bool startsWithIgnoreCase(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (size_t i = 0; i < prefix.size(); ++i) {
    char c = s[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c + 32);
    if (c != prefix[i]) return false;
  }
  return true;
}

HeadVerdict reject(HeadVerdict& v, int status) {
  v.status = status;
  return v;
}
}  // namespace

HeadVerdict checkRequestHead(base::RequestHead& h, const ParsedHead& parsed,
                             uint64_t max_body_bytes) {
  HeadVerdict v;
  RequestMeta& m = v.meta;
  if (parsed.http_major != 1 || parsed.version_unsupported) return reject(v, 505);
  h.version_minor = static_cast<uint8_t>(parsed.http_minor);
  m.keep_alive = parsed.keep_alive;
  bool upgrade = parsed.upgrade;
  if (h.version_minor == 0) upgrade = false;  // RFC 9110 §7.8: Upgrade in HTTP/1.0 is ignored
  // h2c (RFC 9113 §3.1 deprecates it; sluice does not speak HTTP/2) is ignored too: the request
  // goes on as HTTP/1.1 without Upgrade and HTTP2-Settings, which its Connection names.
  if (upgrade && h.method != "CONNECT") {
    const std::string* up = h.headers.get("upgrade");
    if (up == nullptr || base::headerHasToken(*up, "h2c")) upgrade = false;
  }
  m.upgrade = upgrade;
  // A reverse proxy does not open tunnels to arbitrary hosts.
  if (h.method == "CONNECT") return reject(v, 405);
  // Request target forms (RFC 9112 §3.2): origin, absolute (Host then comes from it), asterisk.
  std::string& t = h.target;
  if (startsWithIgnoreCase(t, "http://") || startsWithIgnoreCase(t, "https://")) {
    size_t start = t.find("://") + 3;
    size_t slash = t.find_first_of("/?", start);
    std::string authority =
        t.substr(start, slash == std::string::npos ? std::string::npos : slash - start);
    if (authority.empty() || !validHostAuthority(authority)) return reject(v, 400);
    // RFC 9112 §3.2.4: OPTIONS with an empty path asks about the server itself, as OPTIONS *.
    std::string rest = slash != std::string::npos ? t.substr(slash)
                       : h.method == "OPTIONS"    ? "*"
                                                  : "/";
    if (rest[0] == '?') rest.insert(0, "/");
    base::toLowerInPlace(authority);
    h.host = std::move(authority);
    t = std::move(rest);
    m.absolute_form = true;
  } else if (!(t.size() > 0 && t[0] == '/') && !(t == "*" && h.method == "OPTIONS")) {
    return reject(v, 400);
  }
  // RFC 9112 §3.2: no fragment in a request target.
  if (t.find('#') != std::string::npos) return reject(v, 400);
  // RFC 9112 §3.2: exactly one Host in HTTP/1.1 (also with an absolute-form target, which
  // then wins), and a valid one whenever it is there.
  size_t hosts = h.headers.count("host");
  const std::string* host = hosts == 1 ? h.headers.get("host") : nullptr;
  if (hosts > 1 || (hosts == 0 && h.version_minor == 1) ||
      (host != nullptr && !validHostAuthority(*host))) {
    return reject(v, 400);
  }
  if (!m.absolute_form && host != nullptr) {
    h.host = *host;
    base::toLowerInPlace(h.host);
  }
  // Framing. llhttp already refused Content-Length with Transfer-Encoding, bad or differing
  // lengths and a final coding other than chunked; we accept exactly `chunked`.
  if (const std::string* te = h.headers.get("transfer-encoding")) {
    // RFC 9112 §6.3: chunked not last -> 400 and close; §6.1: a coding we do not implement
    // before it -> 501.
    std::string last = *te;
    size_t comma = last.rfind(',');
    if (comma != std::string::npos) last.erase(0, comma + 1);
    if (h.headers.count("transfer-encoding") != 1 || !base::headerHasToken(last, "chunked")) {
      return reject(v, 400);
    }
    if (comma != std::string::npos) return reject(v, 501);
    // RFC 9112 §6.1: chunked is not HTTP/1.0.
    if (h.version_minor == 0) return reject(v, 400);
    m.framing = BodyFraming::Chunked;
  } else if (h.headers.has("content-length")) {
    m.content_length = parsed.content_length;
    m.framing = m.content_length > 0 ? BodyFraming::Length : BodyFraming::None;
    if (m.content_length > max_body_bytes) return reject(v, 413);
  }
  if (const std::string* expect = h.headers.get("expect")) {
    if (h.version_minor == 1) {
      if (!base::headerHasToken(*expect, "100-continue")) return reject(v, 417);
      m.expect_continue = m.framing != BodyFraming::None;
    }
    h.headers.remove("expect");
  }
  return v;
}

int checkFieldLine(std::string_view name, std::string& v) {
  if (name.empty()) return 400;  // ": value": llhttp 8.1 lets an empty field name through
  while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.pop_back();
  // RFC 9110 §5.5: CR, LF and NUL are never valid in a field value; other controls are
  // rejected too, since a downstream parser might split on them.
  if (hasFieldValueControlBytes(v)) return 400;
  return 0;
}

}  // namespace sluice::proxy
