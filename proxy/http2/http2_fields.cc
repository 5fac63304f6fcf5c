#include "proxy/http2/http2_fields.h"

#include <charconv>

#include "proxy/http1/http_serialize.h"

namespace sluice::proxy {

using namespace std::string_view_literals;

void FieldList::addUnindexed(std::string_view name, std::string_view value) {
  add(name, value);
  spans_.back().flags = NGHTTP2_NV_FLAG_NO_INDEX;
}

void FieldList::add(std::string_view name, std::string_view value) {
  Span s;
  s.flags = NGHTTP2_NV_FLAG_NONE;
  s.name_off = static_cast<uint32_t>(bytes_.size());
  s.name_len = static_cast<uint32_t>(name.size());
  bytes_.append(name);
  s.value_off = static_cast<uint32_t>(bytes_.size());
  s.value_len = static_cast<uint32_t>(value.size());
  bytes_.append(value);
  spans_.push_back(s);
}

void FieldList::clear() {
  bytes_.clear();
  spans_.clear();
  nv_.clear();
}

std::string_view FieldList::name(size_t i) const {
  return std::string_view(bytes_).substr(spans_[i].name_off, spans_[i].name_len);
}

std::string_view FieldList::value(size_t i) const {
  return std::string_view(bytes_).substr(spans_[i].value_off, spans_[i].value_len);
}

const nghttp2_nv* FieldList::nv() {
  nv_.resize(spans_.size());
  auto* base = reinterpret_cast<uint8_t*>(bytes_.data());
  for (size_t i = 0; i < spans_.size(); ++i) {
    const Span& s = spans_[i];
    nv_[i] = nghttp2_nv{base + s.name_off, base + s.value_off, s.name_len, s.value_len, s.flags};
  }
  return nv_.data();
}

bool connectionSpecificField(std::string_view n) {
  return n == "connection"sv || n == "keep-alive"sv || n == "proxy-connection"sv ||
         n == "transfer-encoding"sv || n == "upgrade"sv || n == "te"sv || n == "trailer"sv;
}

namespace {

// Whether a Connection line names a field other than the usual options (keep-alive, close,
// upgrade), which are dropped anyway: only then is every field checked against it.
bool namesOtherFields(const base::HeaderMap& headers) {
  for (const base::Header& h : headers) {
    if (h.name != "connection"sv) continue;
    if (base::anyListMember(h.value, [](std::string_view member) {
          std::string_view m = base::trimOws(member);
          return !m.empty() && !base::equalsIgnoreCase(m, "keep-alive"sv) &&
                 !base::equalsIgnoreCase(m, "close"sv) && !base::equalsIgnoreCase(m, "upgrade"sv);
        })) {
      return true;
    }
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

}  // namespace

void responseFields(const base::ResponseHead& head, const ResponseHeadInfo& info, FieldList& out) {
  out.clear();
  addStatus(head.status, out);
  const ProxiedFields* add = info.proxied;
  bool has_connection = namesOtherFields(head.headers);
  bool has_date = false;
  for (const base::Header& h : head.headers) {
    if (connectionSpecificField(h.name)) continue;
    if (h.name == "content-length"sv) {
      // A bodiless answer keeps its own length, unless sluice states it (proxied).
      if (info.bodiless && add == nullptr) out.add(h.name, h.value);
      continue;
    }
    if (h.name == "x-request-id"sv) {
      if (add == nullptr) out.addUnindexed(h.name, h.value);
      continue;  // a proxied response gets sluice's own
    }
    if (has_connection && namedByConnection(head.headers, h.name)) continue;
    has_date = has_date || h.name == "date"sv;
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
