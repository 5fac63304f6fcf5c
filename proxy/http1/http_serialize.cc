#include "proxy/http1/http_serialize.h"

#include <charconv>
#include <cstring>
#include <span>
#include <vector>

namespace sluice::proxy {

using base::Header;
using base::HeaderMap;

using namespace std::string_view_literals;

namespace {
// Fields that are hop-by-hop whatever Connection says (plus content-length, re-derived).
bool isAlwaysHopByHop(std::string_view n) {
  switch (n.size()) {
    case 2:
      return n == "te"sv;
    case 7:
      return n == "trailer"sv;
    case 10:
      return n == "connection"sv || n == "keep-alive"sv;
    case 14:
      return n == "content-length"sv;
    case 16:
      return n == "proxy-connection"sv;
    case 17:
      return n == "transfer-encoding"sv;
    default:
      return false;
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

namespace {
// The lower-case field names Connection options name, beyond the fixed hop-by-hop ones. Empty
// (no allocation) for the usual "keep-alive" or "close".
std::vector<std::string> connectionNamedFields(const HeaderMap& headers, bool keep_upgrade) {
  std::vector<std::string> named;
  for (const Header& h : headers) {
    if (h.name != "connection"sv) continue;
    std::string_view v = h.value;
    size_t pos = 0;
    while (pos < v.size()) {
      size_t comma = v.find(',', pos);
      std::string_view tok =
          base::trimOws(v.substr(pos, comma == std::string_view::npos ? v.npos : comma - pos));
      // The usual options first, without building a lower-case copy.
      if (!tok.empty() && !base::equalsIgnoreCase(tok, "keep-alive") &&
          !base::equalsIgnoreCase(tok, "close")) {
        std::string name(tok);
        base::toLowerInPlace(name);
        if (namesExtraField(name, keep_upgrade)) named.push_back(std::move(name));
      }
      if (comma == std::string_view::npos) break;
      pos = comma + 1;
    }
  }
  return named;
}

// Lengths (bit n for a length n < 64; bit 63 for any longer) of the names a removal can match:
// most fields are told apart by their length alone.
uint64_t lengthBit(size_t n) {
  return uint64_t{1} << (n < 63 ? n : 63);
}

uint64_t removableLengths(std::initializer_list<std::string_view> also,
                          const std::vector<std::string>& named) {
  uint64_t m = lengthBit(2) | lengthBit(7) | lengthBit(10) | lengthBit(14) | lengthBit(16) |
               lengthBit(17);  // isAlwaysHopByHop and "upgrade"
  for (std::string_view x : also) m |= lengthBit(x.size());
  for (const std::string& x : named) m |= lengthBit(x.size());
  return m;
}

bool isRemoved(std::string_view n, bool keep_upgrade, std::initializer_list<std::string_view> also,
               const std::vector<std::string>& named, uint64_t lengths) {
  if ((lengths & lengthBit(n.size())) == 0) return false;
  if (isAlwaysHopByHop(n)) return true;
  if (n == "upgrade"sv) return !keep_upgrade;
  for (std::string_view x : also) {
    if (n == x) return true;
  }
  for (const std::string& x : named) {
    if (n == x) return true;
  }
  return false;
}
}  // namespace

void removeHopByHop(HeaderMap& headers, bool keep_upgrade,
                    std::initializer_list<std::string_view> also) {
  std::vector<std::string> named = connectionNamedFields(headers, keep_upgrade);
  uint64_t lengths = removableLengths(also, named);
  std::erase_if(headers.fields(), [&](const Header& h) {
    return isRemoved(h.name, keep_upgrade, also, named, lengths);
  });
}

namespace {
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

// One growth and one copy per field instead of four appends.
void appendField(std::string& out, std::string_view name, std::string_view value) {
  size_t at = out.size();
  out.resize(at + name.size() + value.size() + 4);
  putField(out.data() + at, name, value);
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

// "HTTP/1.1 <status> <reason>\r\n"
void appendStatusLine(const base::ResponseHead& head, std::string& out) {
  char code[8];
  auto r = std::to_chars(code, code + sizeof code, head.status);
  out.append("HTTP/1.1 "sv);
  out.append(code, static_cast<size_t>(r.ptr - code));
  out.push_back(' ');
  out.append(head.reason.empty() ? base::reasonPhrase(head.status) : head.reason);
  out.append("\r\n"sv);
}

// "<method> <target> HTTP/1.1\r\nhost: <host>\r\n": Host always first, from the parsed head.
void appendRequestLineAndHost(const base::RequestHead& head, std::string& out) {
  out.append(head.method);
  out.push_back(' ');
  out.append(head.target);
  out.append(" HTTP/1.1\r\n"sv);
  appendField(out, "host", head.host);
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

void appendRequestHead(const base::RequestHead& head, BodyFraming framing, uint64_t length,
                       std::string& out) {
  appendRequestLineAndHost(head, out);
  appendFields(out, head.headers, "host"sv);
  appendFraming(out, framing, length);
  out.append("\r\n"sv);
}

void appendResponseHead(const base::ResponseHead& head, BodyFraming framing, uint64_t length,
                        const char* connection, std::string& out) {
  appendStatusLine(head, out);
  appendFields(out, head.headers, {});
  appendFraming(out, framing, length);
  if (connection != nullptr) appendField(out, "connection", connection);
  out.append("\r\n"sv);
}

namespace {
// A comma-separated list field sluice adds an item to (Via, X-Forwarded-For).
struct ListItem {
  std::string_view name;
  std::string_view item;
  bool present = false;  // the head kept a field of that name (else it is added at the end)
};

// The surviving fields of `headers` (not hop-by-hop for `keep_upgrade`, not in `own`, not
// `skip`), with each list's item appended to the last line of its field, the way
// removeHopByHop + HeaderMap::appendToList + serialising would write them. Sets `present` on
// the lists and returns whether a field named `probe` survived.
bool appendEditedFields(const HeaderMap& headers, bool keep_upgrade,
                        std::initializer_list<std::string_view> own, std::string_view skip,
                        std::span<ListItem> lists, std::string_view probe, std::string& out) {
  std::vector<std::string> named = connectionNamedFields(headers, keep_upgrade);
  const uint64_t lengths = removableLengths(own, named);
  auto removed = [&](const Header& h) {
    return isRemoved(h.name, keep_upgrade, own, named, lengths) || h.name == skip;
  };
  const auto f = headers.begin();  // random access: f[i]
  const size_t n = headers.size();
  uint64_t dropped = 0;  // bit i: field i goes (fields past 64 are asked again)
  size_t last[2] = {n, n};
  bool probed = false;
  size_t total = 0;
  for (size_t i = 0; i < n; ++i) {
    const Header& h = f[i];
    if (removed(h)) {
      if (i < 64) dropped |= uint64_t{1} << i;
      continue;
    }
    total += h.name.size() + h.value.size() + 4;
    for (size_t k = 0; k < lists.size() && k < 2; ++k) {
      if (h.name == lists[k].name) last[k] = i;
    }
    if (h.name == probe) probed = true;
  }
  for (size_t k = 0; k < lists.size() && k < 2; ++k) {
    lists[k].present = last[k] < n;
    if (lists[k].present) total += 2 + lists[k].item.size();
  }
  size_t at = out.size();
  out.resize(at + total);
  char* start = out.data();
  char* p = start + at;
  for (size_t i = 0; i < n; ++i) {
    const Header& h = f[i];
    if (i < 64 ? (dropped >> i) & 1 : removed(h)) continue;
    size_t k = 0;
    while (k < lists.size() && k < 2 && last[k] != i) ++k;
    if (k == lists.size() || k == 2) {
      p = putField(p, h.name, h.value);
    } else if (base::trimOws(h.value).empty()) {
      p = putField(p, h.name, lists[k].item);
    } else {  // "name: value, item"
      p = put(p, h.name.data(), h.name.size());
      *p++ = ':';
      *p++ = ' ';
      p = put(p, h.value.data(), h.value.size());
      *p++ = ',';
      *p++ = ' ';
      p = put(p, lists[k].item.data(), lists[k].item.size());
      *p++ = '\r';
      *p++ = '\n';
    }
  }
  out.resize(static_cast<size_t>(p - start));
  return probed;
}
}  // namespace

void applyProxiedResponseEdits(HeaderMap& headers, const ProxiedFields& add, bool keep_upgrade) {
  removeHopByHop(headers, keep_upgrade, {"x-request-id"sv});
  headers.appendToList("via", add.via);
  headers.add("x-request-id", std::string(add.request_id));
  // RFC 9110 §6.6.1: a recipient with a clock adds Date to a response that has none.
  if (!add.date.empty() && !headers.has("date")) headers.add("date", std::string(add.date));
  if (!add.content_length.empty()) headers.add("content-length", std::string(add.content_length));
}

void applyProxiedRequestEdits(HeaderMap& headers, const ProxiedRequestFields& add) {
  removeHopByHop(headers, add.upgrade,
                 {"x-forwarded-proto"sv, "x-forwarded-host"sv, "x-request-id"sv,
                  add.client_subject_name, "traceparent"sv, "tracestate"sv});
  headers.appendToList("x-forwarded-for", add.forwarded_for);
  headers.add("x-forwarded-proto", std::string(add.forwarded_proto));
  if (!add.client_subject.empty()) {
    headers.add(std::string(add.client_subject_name), std::string(add.client_subject));
  }
  headers.add("x-forwarded-host", std::string(add.forwarded_host));
  headers.appendToList("via", add.via);
  headers.add("x-request-id", std::string(add.request_id));
  if (!add.traceparent.empty()) headers.add("traceparent", std::string(add.traceparent));
  if (!add.tracestate.empty()) headers.add("tracestate", std::string(add.tracestate));
  if (add.upgrade) headers.set("connection", "upgrade");
}

void appendProxiedResponseHead(const base::ResponseHead& head, const ProxiedFields& add,
                               BodyFraming framing, uint64_t length, const char* connection,
                               std::string& out) {
  appendStatusLine(head, out);
  ListItem via[1] = {{"via"sv, add.via}};
  bool has_date =
      appendEditedFields(head.headers, false, {"x-request-id"sv}, {}, via, "date"sv, out);
  if (!via[0].present) appendField(out, "via", add.via);
  appendField(out, "x-request-id", add.request_id);
  if (!has_date && !add.date.empty()) appendField(out, "date", add.date);
  if (!add.content_length.empty()) appendField(out, "content-length", add.content_length);
  appendFraming(out, framing, length);
  if (connection != nullptr) appendField(out, "connection", connection);
  out.append("\r\n"sv);
}

void appendProxiedRequestHead(const base::RequestHead& head, const ProxiedRequestFields& add,
                              BodyFraming framing, uint64_t length, std::string& out) {
  appendRequestLineAndHost(head, out);
  ListItem lists[2] = {{"x-forwarded-for"sv, add.forwarded_for}, {"via"sv, add.via}};
  appendEditedFields(head.headers, add.upgrade,
                     {"x-forwarded-proto"sv, "x-forwarded-host"sv, "x-request-id"sv,
                      add.client_subject_name, "traceparent"sv, "tracestate"sv},
                     "host"sv, lists, {}, out);
  if (!lists[0].present) appendField(out, "x-forwarded-for", add.forwarded_for);
  appendField(out, "x-forwarded-proto", add.forwarded_proto);
  if (!add.client_subject.empty()) appendField(out, add.client_subject_name, add.client_subject);
  appendField(out, "x-forwarded-host", add.forwarded_host);
  if (!lists[1].present) appendField(out, "via", add.via);
  appendField(out, "x-request-id", add.request_id);
  if (!add.traceparent.empty()) appendField(out, "traceparent", add.traceparent);
  if (!add.tracestate.empty()) appendField(out, "tracestate", add.tracestate);
  if (add.upgrade) appendField(out, "connection", "upgrade");
  appendFraming(out, framing, length);
  out.append("\r\n"sv);
}

size_t formatChunkHeader(size_t size, char* buf) {
  auto r = std::to_chars(buf, buf + 16, size, 16);
  r.ptr[0] = '\r';
  r.ptr[1] = '\n';
  return static_cast<size_t>(r.ptr - buf) + 2;
}

bool forbiddenTrailer(std::string_view name) {
  return name == "content-length"sv || name == "transfer-encoding"sv || name == "host"sv ||
         name == "connection"sv || name == "keep-alive"sv || name == "proxy-connection"sv ||
         name == "te"sv || name == "trailer"sv || name == "upgrade"sv;
}

void appendLastChunk(const base::HeaderMap& trailers, std::string& out) {
  out.append("0\r\n"sv);
  for (const base::Header& h : trailers) {
    if (forbiddenTrailer(h.name)) continue;
    out.append(h.name).append(": "sv).append(h.value).append("\r\n"sv);
  }
  out.append("\r\n"sv);
}

}  // namespace sluice::proxy
