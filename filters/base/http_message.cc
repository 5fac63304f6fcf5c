#include "filters/base/http_message.h"

#include <algorithm>
#include <cstdint>
#include <cstring>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace sluice::base {

int hexDigitValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string formDecode(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  for (size_t i = 0; i < v.size(); ++i) {
    if (v[i] == '+') {
      out.push_back(' ');
    } else if (v[i] == '%' && i + 2 < v.size() && hexDigitValue(v[i + 1]) >= 0 &&
               hexDigitValue(v[i + 2]) >= 0) {
      out.push_back(static_cast<char>(hexDigitValue(v[i + 1]) * 16 + hexDigitValue(v[i + 2])));
      i += 2;
    } else {
      out.push_back(v[i]);
    }
  }
  return out;
}

namespace {
char lowerAscii(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c;
}
}  // namespace

bool equalsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (lowerAscii(a[i]) != lowerAscii(b[i])) return false;
  }
  return true;
}

std::string_view trimOws(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

const std::string* HeaderMap::get(std::string_view lname) const {
  for (const Header& h : fields_) {
    if (h.name == lname) return &h.value;
  }
  return nullptr;
}

std::optional<std::string_view> HeaderMap::combined(std::string_view lname,
                                                    std::string& scratch) const {
  const Header* first = nullptr;
  bool joined = false;
  for (const Header& h : fields_) {
    if (h.name != lname) continue;
    if (first == nullptr) {
      first = &h;
      continue;
    }
    if (!joined) {
      scratch.assign(first->value);
      joined = true;
    }
    scratch.append(lname == "cookie" ? "; " : ", ");
    scratch.append(h.value);
  }
  if (first == nullptr) return std::nullopt;
  return joined ? std::string_view(scratch) : std::string_view(first->value);
}

size_t HeaderMap::count(std::string_view lname) const {
  return static_cast<size_t>(std::count_if(fields_.begin(), fields_.end(),
                                           [&](const Header& h) { return h.name == lname; }));
}

void HeaderMap::add(std::string lname, std::string value) {
  fields_.push_back(Header{std::move(lname), std::move(value)});
}

void HeaderMap::set(std::string_view lname, std::string value) {
  auto it = std::find_if(fields_.begin(), fields_.end(),
                         [&](const Header& h) { return h.name == lname; });
  if (it == fields_.end()) {
    fields_.push_back(Header{std::string(lname), std::move(value)});
    return;
  }
  it->value = std::move(value);
  fields_.erase(
      std::remove_if(it + 1, fields_.end(), [&](const Header& h) { return h.name == lname; }),
      fields_.end());
}

void HeaderMap::appendToList(std::string_view lname, std::string_view item) {
  std::string* last = nullptr;
  for (Header& h : fields_) {
    if (h.name == lname) last = &h.value;
  }
  if (last == nullptr) {
    fields_.push_back(Header{std::string(lname), std::string(item)});
  } else if (trimOws(*last).empty()) {
    last->assign(item);
  } else {
    last->append(", ").append(item);
  }
}

size_t HeaderMap::remove(std::string_view lname) {
  auto it = std::remove_if(fields_.begin(), fields_.end(),
                           [&](const Header& h) { return h.name == lname; });
  size_t n = static_cast<size_t>(fields_.end() - it);
  fields_.erase(it, fields_.end());
  return n;
}

std::string_view RequestHead::path() const {
  std::string_view t = target;
  size_t q = t.find('?');
  return q == std::string_view::npos ? t : t.substr(0, q);
}

std::string_view RequestHead::query() const {
  std::string_view t = target;
  size_t q = t.find('?');
  return q == std::string_view::npos ? std::string_view() : t.substr(q + 1);
}

const char* reasonPhrase(int status) {
  switch (status) {
    case 100:
      return "Continue";
    case 101:
      return "Switching Protocols";
    case 103:
      return "Early Hints";
    case 200:
      return "OK";
    case 201:
      return "Created";
    case 202:
      return "Accepted";
    case 204:
      return "No Content";
    case 206:
      return "Partial Content";
    case 301:
      return "Moved Permanently";
    case 302:
      return "Found";
    case 303:
      return "See Other";
    case 304:
      return "Not Modified";
    case 307:
      return "Temporary Redirect";
    case 308:
      return "Permanent Redirect";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 408:
      return "Request Timeout";
    case 409:
      return "Conflict";
    case 410:
      return "Gone";
    case 411:
      return "Length Required";
    case 413:
      return "Content Too Large";
    case 414:
      return "URI Too Long";
    case 415:
      return "Unsupported Media Type";
    case 417:
      return "Expectation Failed";
    case 421:
      return "Misdirected Request";
    case 426:
      return "Upgrade Required";
    case 429:
      return "Too Many Requests";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 501:
      return "Not Implemented";
    case 502:
      return "Bad Gateway";
    case 503:
      return "Service Unavailable";
    case 504:
      return "Gateway Timeout";
    case 505:
      return "HTTP Version Not Supported";
    default:
      return "Unknown";
  }
}

bool headerHasToken(std::string_view value, std::string_view token) {
  size_t pos = 0;
  while (pos <= value.size()) {
    size_t comma = value.find(',', pos);
    std::string_view part =
        value.substr(pos, comma == std::string_view::npos ? std::string_view::npos : comma - pos);
    while (!part.empty() && (part.front() == ' ' || part.front() == '\t')) part.remove_prefix(1);
    while (!part.empty() && (part.back() == ' ' || part.back() == '\t')) part.remove_suffix(1);
    if (equalsIgnoreCase(part, token)) return true;
    if (comma == std::string_view::npos) break;
    pos = comma + 1;
  }
  return false;
}

namespace {

// A word of bytes at once (SWAR): bit 5 set in each byte that is 'A'..'Z'. Bytes >= 0x80 are
// left alone (their heptet might look like a letter).
template <typename Word>
Word lowerWord(Word x) {
  constexpr Word kOnes = static_cast<Word>(0x0101010101010101ull);
  constexpr Word kHigh = static_cast<Word>(0x8080808080808080ull);
  Word heptets = x & ~kHigh;
  Word ge_a = heptets + (0x80 - 'A') * kOnes;  // high bit: byte >= 'A'
  Word gt_z = heptets + (0x7f - 'Z') * kOnes;  // high bit: byte > 'Z'
  Word upper = (ge_a ^ gt_z) & ~x & kHigh;
  return x | (upper >> 2);
}

template <typename Word>
void lowerAt(char* p) {
  Word w;
  std::memcpy(&w, p, sizeof w);
  w = lowerWord(w);
  std::memcpy(p, &w, sizeof w);
}

}  // namespace

// Field names are mostly 4-16 bytes: whole words, the last one overlapping the one before
// (lower-casing twice changes nothing), so no byte loop runs for names of 4 bytes or more.
void toLowerInPlace(std::string& s) {
  char* p = s.data();
  size_t n = s.size();
  if (n < 8) {
    if (n >= 4) {
      lowerAt<uint32_t>(p);
      lowerAt<uint32_t>(p + n - 4);
      return;
    }
    for (size_t i = 0; i < n; ++i) p[i] = lowerAscii(p[i]);
    return;
  }
  size_t i = 0;
#if defined(__SSE2__)
  // Signed compares: bytes >= 0x80 are negative and so never in 'A'..'Z'.
  const __m128i before_a = _mm_set1_epi8('A' - 1);
  const __m128i after_z = _mm_set1_epi8('Z' + 1);
  const __m128i bit = _mm_set1_epi8(0x20);
  for (; i + 16 <= n; i += 16) {
    __m128i b = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i));
    __m128i upper = _mm_and_si128(_mm_cmpgt_epi8(b, before_a), _mm_cmplt_epi8(b, after_z));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(p + i), _mm_or_si128(b, _mm_and_si128(upper, bit)));
  }
#endif
  for (; i + 8 <= n; i += 8) lowerAt<uint64_t>(p + i);
  if (i < n) lowerAt<uint64_t>(p + n - 8);
}

bool isIdempotentMethod(std::string_view m) {
  return m == "GET" || m == "HEAD" || m == "OPTIONS" || m == "TRACE" || m == "PUT" || m == "DELETE";
}

}  // namespace sluice::base
