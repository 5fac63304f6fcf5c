#include "proxy/http2/http2_fields.h"

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <cstring>
#include <memory>

#include "proxy/http1/http_serialize.h"

namespace sluice::proxy {

using namespace std::string_view_literals;

void FieldList::reserve(size_t fields, size_t bytes) {
  nv_.reserve(fields);
  if (bytes > cap_ - used_) grow(bytes);
}

void FieldList::grow(size_t more) {
  size_t need = used_ + more;
  if (need <= cap_) return;
  size_t cap = std::max(need, 2 * cap_);
  auto bytes = std::make_unique_for_overwrite<uint8_t[]>(cap);
  if (used_ > 0) std::memcpy(bytes.get(), bytes_.get(), used_);
  for (nghttp2_nv& f : nv_) {
    f.name = bytes.get() + (f.name - bytes_.get());
    f.value = bytes.get() + (f.value - bytes_.get());
  }
  bytes_ = std::move(bytes);
  cap_ = cap;
}

void FieldList::addUnindexed(std::string_view name, std::string_view value) {
  add(name, value);
  nv_.back().flags = NGHTTP2_NV_FLAG_NO_INDEX;
}

void FieldList::add(std::string_view name, std::string_view value) {
  if (name.size() + value.size() > cap_ - used_) grow(name.size() + value.size());
  uint8_t* p = bytes_.get() + used_;
  if (!name.empty()) std::memcpy(p, name.data(), name.size());
  if (!value.empty()) std::memcpy(p + name.size(), value.data(), value.size());
  used_ += name.size() + value.size();
  nv_.push_back(nghttp2_nv{p, p + name.size(), name.size(), value.size(), NGHTTP2_NV_FLAG_NONE});
}

void FieldList::clear() {
  used_ = 0;
  nv_.clear();
}

void FieldList::markNoCopy(bool names) {
  uint8_t flags = NGHTTP2_NV_FLAG_NO_COPY_VALUE | (names ? NGHTTP2_NV_FLAG_NO_COPY_NAME : 0);
  for (nghttp2_nv& f : nv_) f.flags |= flags;
}

std::string_view FieldList::name(size_t i) const {
  return std::string_view(reinterpret_cast<const char*>(nv_[i].name), nv_[i].namelen);
}

std::string_view FieldList::value(size_t i) const {
  return std::string_view(reinterpret_cast<const char*>(nv_[i].value), nv_[i].valuelen);
}

namespace {

// `n` is the lower-case literal `lit` (a comparison of known length, which the compiler inlines).
template <size_t N>
bool is(std::string_view n, const char (&lit)[N]) {
  return std::memcmp(n.data(), lit, N - 1) == 0;
}

// What a response field is to the HTTP/2 head, told by its length first (one comparison for most
// fields instead of one per special name).
enum class FieldKind { Plain, Hop, Connection, Length, RequestId, Date };

FieldKind fieldKind(std::string_view n) {
  switch (n.size()) {
    case 2:
      return is(n, "te") ? FieldKind::Hop : FieldKind::Plain;
    case 4:
      return is(n, "date") ? FieldKind::Date : FieldKind::Plain;
    case 7:
      return is(n, "upgrade") || is(n, "trailer") ? FieldKind::Hop : FieldKind::Plain;
    case 10:
      if (is(n, "connection")) return FieldKind::Connection;
      return is(n, "keep-alive") ? FieldKind::Hop : FieldKind::Plain;
    case 12:
      return is(n, "x-request-id") ? FieldKind::RequestId : FieldKind::Plain;
    case 14:
      return is(n, "content-length") ? FieldKind::Length : FieldKind::Plain;
    case 16:
      return is(n, "proxy-connection") ? FieldKind::Hop : FieldKind::Plain;
    case 17:
      return is(n, "transfer-encoding") ? FieldKind::Hop : FieldKind::Plain;
    default:
      return FieldKind::Plain;
  }
}

// ASCII case-insensitive equality with a lower-case literal.
bool equalsLower(std::string_view s, std::string_view lower) {
  if (s.size() != lower.size()) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != lower[i]) return false;
  }
  return true;
}

}  // namespace

bool connectionSpecificField(std::string_view n) {
  FieldKind k = fieldKind(n);
  return k == FieldKind::Hop || k == FieldKind::Connection;
}

namespace {

// Whether a Connection line names a field other than the usual options (keep-alive, close,
// upgrade), which are dropped anyway: only then is every field checked against it.
bool namesOtherFields(std::string_view connection) {
  return base::anyListMember(connection, [](std::string_view member) {
    std::string_view m = base::trimOws(member);
    return !m.empty() && !equalsLower(m, "keep-alive"sv) && !equalsLower(m, "close"sv) &&
           !equalsLower(m, "upgrade"sv);
  });
}

bool namesOtherFields(const base::HeaderMap& headers) {
  for (const base::Header& h : headers) {
    if (h.name == "connection"sv && namesOtherFields(h.value)) return true;
  }
  return false;
}

// A field a Connection line names (RFC 9110 §7.6.1) is hop-by-hop too.
bool namedByConnection(const base::HeaderMap& headers, std::string_view name) {
  for (const base::Header& h : headers) {
    if (h.name != "connection"sv) continue;
    if (base::anyListMember(h.value, [name](std::string_view member) {
          return base::equalsIgnoreCase(base::trimOws(member), name);
        })) {
      return true;
    }
  }
  return false;
}

void addStatus(int status, FieldList& out) {
  char digits[8];
  auto r = std::to_chars(digits, digits + sizeof digits, status);
  out.add(":status"sv, std::string_view(digits, static_cast<size_t>(r.ptr - digits)));
}

// Room for the fields sluice adds to a head (:status, via, x-request-id, date, content-length).
constexpr size_t kAddedFields = 5;
constexpr size_t kAddedBytes = 7 + 3 + 3 + 12 + 4 + 14 + 20;

}  // namespace

void responseFields(const base::ResponseHead& head, const ResponseHeadInfo& info, FieldList& out) {
  out.clear();
  const ProxiedFields* add = info.proxied;
  // One pass sizes the list (so it is built without growing) and finds a Connection line that
  // names other fields.
  size_t bytes = kAddedBytes;
  bool has_connection = false;
  for (const base::Header& h : head.headers) {
    bytes += h.name.size() + h.value.size();
    if (!has_connection && h.name == "connection"sv) has_connection = namesOtherFields(h.value);
  }
  if (add != nullptr) {
    bytes +=
        add->via.size() + add->request_id.size() + add->date.size() + add->content_length.size();
  }
  out.reserve(head.headers.size() + kAddedFields, bytes);
  addStatus(head.status, out);
  bool has_date = false;
  for (const base::Header& h : head.headers) {
    FieldKind kind = fieldKind(h.name);
    switch (kind) {
      case FieldKind::Hop:
      case FieldKind::Connection:
        continue;
      case FieldKind::Length:
        // A bodiless answer keeps its own length, unless sluice states it (proxied).
        if (info.bodiless && add == nullptr) out.add(h.name, h.value);
        continue;
      case FieldKind::RequestId:
        if (add == nullptr) out.addUnindexed(h.name, h.value);
        continue;  // a proxied response gets sluice's own
      case FieldKind::Date:
      case FieldKind::Plain:
        break;
    }
    if (has_connection && namedByConnection(head.headers, h.name)) continue;
    has_date = has_date || kind == FieldKind::Date;
    out.add(h.name, h.value);
  }
  if (add != nullptr) {
    if (!add->via.empty()) out.add("via"sv, add->via);
    if (!add->request_id.empty()) out.addUnindexed("x-request-id"sv, add->request_id);
    if (!has_date && !add->date.empty()) out.add("date"sv, add->date);
    if (info.bodiless && !add->content_length.empty()) {
      out.add("content-length"sv, add->content_length);
    }
  }
  if (!info.bodiless && info.has_length && head.status != 204 && head.status != 304) {
    char digits[24];
    auto r = std::to_chars(digits, digits + sizeof digits, info.length);
    out.add("content-length"sv, std::string_view(digits, static_cast<size_t>(r.ptr - digits)));
  }
}

void interimFields(const base::ResponseHead* head, FieldList& out) {
  out.clear();
  addStatus(head != nullptr ? head->status : 100, out);
  if (head == nullptr) return;
  bool has_connection = namesOtherFields(head->headers);
  for (const base::Header& h : head->headers) {
    if (connectionSpecificField(h.name) || h.name == "content-length"sv) continue;
    if (has_connection && namedByConnection(head->headers, h.name)) continue;
    out.add(h.name, h.value);
  }
}

void trailerFields(const base::HeaderMap& trailers, FieldList& out) {
  out.clear();
  for (const base::Header& h : trailers) {
    if (h.name.empty() || h.name[0] == ':' || forbiddenTrailer(h.name)) continue;
    out.add(h.name, h.value);
  }
}

}  // namespace sluice::proxy
