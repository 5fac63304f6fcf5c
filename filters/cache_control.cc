#include "filters/cache_control.h"

#include <charconv>
#include <cstring>
#include <ctime>

namespace sluice::filters {

namespace {
std::string_view trim(std::string_view s) {
  return base::trimOws(s);
}
bool iequals(std::string_view a, std::string_view b) {
  return base::equalsIgnoreCase(a, b);
}

// delta-seconds; invalid -> 0, overflow -> 2^31 (RFC 9111 §1.2.2).
int64_t deltaSeconds(std::string_view v) {
  if (v.size() >= 2 && v.front() == '"' && v.back() == '"') v = v.substr(1, v.size() - 2);
  if (v.empty()) return 0;
  int64_t n = 0;
  for (char c : v) {
    if (c < '0' || c > '9') return 0;
    n = n * 10 + (c - '0');
    if (n > 2147483648LL) return 2147483648LL;
  }
  return n;
}

// The directives of a Cache-Control value: name, argument, whether there was an "=".
template <class Fn>
void forEachDirective(std::string_view value, Fn&& fn) {
  base::anyListMember(value, [&](std::string_view member) {
    std::string_view d = trim(member);
    if (!d.empty()) {
      size_t eq = d.find('=');
      std::string_view name = trim(d.substr(0, eq));
      std::string_view arg =
          eq == std::string_view::npos ? std::string_view{} : trim(d.substr(eq + 1));
      fn(name, arg, eq != std::string_view::npos);
    }
    return false;
  });
}

// HTTP-dates are case-sensitive (RFC 9110 §5.6.7): "Jan", not "jan".
int monthIndex(std::string_view m) {
  static const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                  "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  for (int i = 0; i < 12; ++i) {
    if (m == kMonths[i]) return i;
  }
  return -1;
}

// day-name (IMF-fixdate, asctime) or day-name-l (RFC 850), case-sensitive.
bool dayName(std::string_view d, bool long_form) {
  static const char* kShort[] = {"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"};
  static const char* kLong[] = {"Monday", "Tuesday",  "Wednesday", "Thursday",
                                "Friday", "Saturday", "Sunday"};
  for (int i = 0; i < 7; ++i) {
    if (d == (long_form ? kLong[i] : kShort[i])) return true;
  }
  return false;
}

bool digits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

bool number(std::string_view s, int& out) {
  if (!digits(s)) return false;
  auto r = std::from_chars(s.data(), s.data() + s.size(), out);
  return r.ec == std::errc() && r.ptr == s.data() + s.size();
}

bool parseClock(std::string_view s, std::tm& tm) {
  if (s.size() != 8 || s[2] != ':' || s[5] != ':') return false;
  return number(s.substr(0, 2), tm.tm_hour) && number(s.substr(3, 2), tm.tm_min) &&
         number(s.substr(6, 2), tm.tm_sec);
}
}  // namespace

CacheControl parseCacheControl(std::string_view value) {
  CacheControl cc;
  // A directive given twice: the first counts (RFC 9111 §4.2.1).
  auto first = [](std::optional<int64_t>& slot, int64_t v) {
    if (!slot) slot = v;
  };
  forEachDirective(value, [&](std::string_view name, std::string_view arg, bool has_arg) {
    if (iequals(name, "no-store"))
      cc.no_store = true;
    else if (iequals(name, "no-cache"))
      cc.no_cache = true;
    else if (iequals(name, "private"))
      cc.is_private = true;
    else if (iequals(name, "public"))
      cc.is_public = true;
    else if (iequals(name, "must-revalidate") || iequals(name, "proxy-revalidate"))
      cc.must_revalidate = true;
    else if (iequals(name, "no-transform"))
      cc.no_transform = true;
    else if (iequals(name, "only-if-cached"))
      cc.only_if_cached = true;
    else if (iequals(name, "min-fresh"))
      first(cc.min_fresh, deltaSeconds(arg));
    else if (iequals(name, "max-stale"))
      first(cc.max_stale, has_arg ? deltaSeconds(arg) : kAnyStale);
    else if (iequals(name, "max-age"))
      first(cc.max_age, deltaSeconds(arg));
    else if (iequals(name, "s-maxage"))
      first(cc.s_maxage, deltaSeconds(arg));
    else if (iequals(name, "stale-while-revalidate"))
      first(cc.stale_while_revalidate, deltaSeconds(arg));
    else if (iequals(name, "stale-if-error"))
      first(cc.stale_if_error, deltaSeconds(arg));
  });
  return cc;
}

CacheControl parseCacheControl(const base::HeaderMap& headers) {
  CacheControl cc;
  bool first = true;
  for (const base::Header& h : headers) {
    if (h.name != "cache-control") continue;
    CacheControl one = parseCacheControl(h.value);
    if (first) {
      cc = one;
      first = false;
      continue;
    }
    cc.no_store |= one.no_store;
    cc.no_cache |= one.no_cache;
    cc.is_private |= one.is_private;
    cc.is_public |= one.is_public;
    cc.must_revalidate |= one.must_revalidate;
    cc.no_transform |= one.no_transform;
    cc.only_if_cached |= one.only_if_cached;
    // A directive given twice: the first counts (RFC 9111 §4.2.1).
    if (!cc.max_age) cc.max_age = one.max_age;
    if (!cc.s_maxage) cc.s_maxage = one.s_maxage;
    if (!cc.stale_while_revalidate) cc.stale_while_revalidate = one.stale_while_revalidate;
    if (!cc.stale_if_error) cc.stale_if_error = one.stale_if_error;
    if (!cc.min_fresh) cc.min_fresh = one.min_fresh;
    if (!cc.max_stale) cc.max_stale = one.max_stale;
  }
  return cc;
}

std::optional<int64_t> parseHttpDate(std::string_view v) {
  // Exactly the grammar of RFC 9110 §5.6.7 (one SP where it says SP), around optional OWS.
  v = trim(v);
  std::tm tm{};
  size_t comma = v.find(',');
  if (comma != std::string_view::npos) {
    if (comma + 1 >= v.size() || v[comma + 1] != ' ') return std::nullopt;
    std::string_view rest = v.substr(comma + 2);
    if (rest.size() == 24 && rest[2] == ' ' && dayName(v.substr(0, comma), false)) {
      // IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT"
      int year = 0;
      if (rest[6] != ' ' || rest[11] != ' ' || rest[20] != ' ' ||
          !number(rest.substr(0, 2), tm.tm_mday) ||
          (tm.tm_mon = monthIndex(rest.substr(3, 3))) < 0 || !number(rest.substr(7, 4), year) ||
          !parseClock(rest.substr(12, 8), tm) || rest.substr(21) != "GMT") {
        return std::nullopt;
      }
      tm.tm_year = year - 1900;
    } else if (rest.size() == 22 && rest[2] == '-' && dayName(v.substr(0, comma), true)) {
      // RFC 850: "Sunday, 06-Nov-94 08:49:37 GMT"
      int year = 0;
      if (rest[6] != '-' || rest[9] != ' ' || rest[18] != ' ' ||
          !number(rest.substr(0, 2), tm.tm_mday) ||
          (tm.tm_mon = monthIndex(rest.substr(3, 3))) < 0 || !number(rest.substr(7, 2), year) ||
          !parseClock(rest.substr(10, 8), tm) || rest.substr(19) != "GMT") {
        return std::nullopt;
      }
      tm.tm_year = year < 70 ? year + 100 : year;
    } else {
      return std::nullopt;
    }
  } else if (v.size() == 24) {  // asctime: "Sun Nov  6 08:49:37 1994"
    int year = 0;
    std::string_view day = v.substr(8, 2);
    if (day[0] == ' ') day.remove_prefix(1);
    if (!dayName(v.substr(0, 3), false) || v[3] != ' ' || v[7] != ' ' || v[10] != ' ' ||
        v[19] != ' ' || (tm.tm_mon = monthIndex(v.substr(4, 3))) < 0 || !number(day, tm.tm_mday) ||
        !parseClock(v.substr(11, 8), tm) || !number(v.substr(20, 4), year)) {
      return std::nullopt;
    }
    tm.tm_year = year - 1900;
  } else {
    return std::nullopt;
  }
  if (tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour > 23 || tm.tm_min > 59 || tm.tm_sec > 60) {
    return std::nullopt;
  }
  return static_cast<int64_t>(timegm(&tm));
}

int64_t correctedInitialAge(const ResponseTiming& t) {
  int64_t apparent = 0;
  if (t.date_s) {
    int64_t response_s = t.response_time_ms / 1000 - (t.response_time_ms % 1000 < 0 ? 1 : 0);
    apparent = std::max<int64_t>(0, (response_s - *t.date_s) * 1000);
  }
  int64_t delay = std::max<int64_t>(0, t.response_time_ms - t.request_time_ms);
  int64_t corrected_age = (t.age_s ? *t.age_s * 1000 : 0) + delay;
  return std::max(apparent, corrected_age);
}

std::optional<int64_t> parseAgeField(const base::HeaderMap& headers) {
  const std::string* age = nullptr;
  for (const base::Header& h : headers) {
    if (h.name != "age") continue;
    if (age != nullptr) return std::nullopt;  // a list: invalid
    age = &h.value;
  }
  if (age == nullptr) return std::nullopt;
  std::string_view v = trim(*age);
  if (!digits(v)) return std::nullopt;  // "1.5", "-1", "1, 2", "1a": ignored
  int64_t a = 0;
  for (char ch : v) {
    a = a * 10 + (ch - '0');
    if (a > 2147483648LL) return 2147483648LL;
  }
  return a;
}

std::optional<int64_t> explicitLifetime(const CacheControl& cc, const base::HeaderMap& headers,
                                        int64_t date_s, bool use_expires) {
  if (cc.s_maxage) return *cc.s_maxage * 1000;
  if (cc.max_age) return *cc.max_age * 1000;
  if (!use_expires) return std::nullopt;
  if (const std::string* expires = headers.get("expires")) {
    std::optional<int64_t> e = parseHttpDate(*expires);
    if (!e) return 0;  // invalid Expires (e.g. "0") means already expired
    return std::max<int64_t>(0, (*e - date_s) * 1000);
  }
  return std::nullopt;
}

std::optional<int64_t> heuristicLifetime(const base::HeaderMap& headers, int64_t date_s,
                                         double fraction, int64_t max_ms) {
  const std::string* lm_text = headers.get("last-modified");
  std::optional<int64_t> lm = lm_text != nullptr ? parseHttpDate(*lm_text) : std::nullopt;
  if (!lm || *lm >= date_s) return std::nullopt;
  double ms = static_cast<double>(date_s - *lm) * 1000.0 * fraction;
  int64_t lifetime = ms >= static_cast<double>(max_ms) ? max_ms : static_cast<int64_t>(ms);
  if (lifetime <= 0) return std::nullopt;
  return lifetime;
}

bool heuristicallyCacheable(int status) {
  switch (status) {
    case 200:
    case 203:
    case 204:
    case 206:
    case 300:
    case 301:
    case 308:
    case 404:
    case 405:
    case 410:
    case 414:
    case 501:
      return true;
    default:
      return false;
  }
}

bool etagListMatches(std::string_view inm, std::string_view etag) {
  if (etag.empty()) return false;
  auto opaque = [](std::string_view t) {
    t = trim(t);
    if (t.size() >= 2 && t[0] == 'W' && t[1] == '/') t.remove_prefix(2);
    return t;
  };
  std::string_view want = opaque(etag);
  if (trim(inm) == "*") return true;
  return base::anyListMember(inm, [&](std::string_view member) { return opaque(member) == want; });
}

}  // namespace sluice::filters
