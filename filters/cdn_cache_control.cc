#include "filters/cdn_cache_control.h"

#include <string>

namespace sluice::filters {

namespace {

enum class Kind { Boolean, Integer, Decimal, String, Token, Bytes, InnerList };

struct Value {
  Kind kind = Kind::Boolean;
  bool boolean = true;
  int64_t integer = 0;
};

bool isDigit(char c) {
  return c >= '0' && c <= '9';
}
bool isLcAlpha(char c) {
  return c >= 'a' && c <= 'z';
}
bool isAlpha(char c) {
  return isLcAlpha(c) || (c >= 'A' && c <= 'Z');
}
bool isTchar(char c) {
  return isAlpha(c) || isDigit(c) ||
         std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

// RFC 8941 §4.2 parsing, over one input; every parse* returns false on a parse error.
class Parser {
 public:
  explicit Parser(std::string_view in) : in_(in) {}

  template <class Fn>
  bool dictionary(Fn&& member) {
    while (in_.size() > 0 && in_.front() == ' ') in_.remove_prefix(1);
    while (in_.size() > 0 && in_.back() == ' ') in_.remove_suffix(1);
    if (in_.empty()) return false;  // empty: ignored like an invalid one (RFC 9213 §2.1)
    while (true) {
      std::string key;
      if (!parseKey(key)) return false;
      Value v;
      if (peek() == '=') {
        in_.remove_prefix(1);
        if (peek() == '(') {
          if (!innerList()) return false;
          v.kind = Kind::InnerList;
        } else if (!bareItem(v) || !parameters()) {
          return false;
        }
      } else if (!parameters()) {
        return false;
      }
      member(key, v);
      skipOws();
      if (in_.empty()) return true;
      if (in_.front() != ',') return false;
      in_.remove_prefix(1);
      skipOws();
      if (in_.empty()) return false;  // a trailing comma
    }
  }

 private:
  char peek() const { return in_.empty() ? '\0' : in_.front(); }
  void skipOws() {
    while (!in_.empty() && (in_.front() == ' ' || in_.front() == '\t')) in_.remove_prefix(1);
  }

  bool parseKey(std::string& key) {
    char c = peek();
    if (!isLcAlpha(c) && c != '*') return false;
    while (!in_.empty()) {
      c = in_.front();
      if (!isLcAlpha(c) && !isDigit(c) && c != '_' && c != '-' && c != '.' && c != '*') break;
      key += c;
      in_.remove_prefix(1);
    }
    return true;
  }

  bool parameters() {
    while (peek() == ';') {
      in_.remove_prefix(1);
      while (peek() == ' ') in_.remove_prefix(1);
      std::string key;
      if (!parseKey(key)) return false;
      if (peek() == '=') {
        in_.remove_prefix(1);
        Value ignored;
        if (!bareItem(ignored)) return false;
      }
    }
    return true;
  }

  bool innerList() {
    in_.remove_prefix(1);  // '('
    while (!in_.empty()) {
      while (peek() == ' ') in_.remove_prefix(1);
      if (peek() == ')') {
        in_.remove_prefix(1);
        return parameters();
      }
      Value item;
      if (!bareItem(item) || !parameters()) return false;
      if (peek() != ' ' && peek() != ')') return false;
    }
    return false;
  }

  bool bareItem(Value& v) {
    char c = peek();
    if (c == '-' || isDigit(c)) return number(v);
    if (c == '"') return string(v);
    if (isAlpha(c) || c == '*') return token(v);
    if (c == ':') return bytes(v);
    if (c == '?') return boolean(v);
    return false;
  }

  bool number(Value& v) {
    bool negative = false;
    if (peek() == '-') {
      negative = true;
      in_.remove_prefix(1);
    }
    if (!isDigit(peek())) return false;
    int64_t n = 0;
    size_t int_digits = 0;
    while (isDigit(peek())) {
      if (++int_digits > 15) return false;
      n = n * 10 + (in_.front() - '0');
      in_.remove_prefix(1);
    }
    if (peek() != '.') {
      v.kind = Kind::Integer;
      v.integer = negative ? -n : n;
      return true;
    }
    if (int_digits > 12) return false;
    in_.remove_prefix(1);
    size_t frac = 0;
    while (isDigit(peek())) {
      if (++frac > 3) return false;
      in_.remove_prefix(1);
    }
    if (frac == 0) return false;
    v.kind = Kind::Decimal;
    return true;
  }

  bool string(Value& v) {
    in_.remove_prefix(1);
    while (!in_.empty()) {
      char c = in_.front();
      in_.remove_prefix(1);
      if (c == '"') {
        v.kind = Kind::String;
        return true;
      }
      if (c == '\\') {
        if (in_.empty() || (in_.front() != '"' && in_.front() != '\\')) return false;
        in_.remove_prefix(1);
      } else if (c < 0x20 || c > 0x7e) {
        return false;
      }
    }
    return false;
  }

  bool token(Value& v) {
    while (!in_.empty() && (isTchar(in_.front()) || in_.front() == ':' || in_.front() == '/')) {
      in_.remove_prefix(1);
    }
    v.kind = Kind::Token;
    return true;
  }

  bool bytes(Value& v) {
    in_.remove_prefix(1);
    while (!in_.empty()) {
      char c = in_.front();
      in_.remove_prefix(1);
      if (c == ':') {
        v.kind = Kind::Bytes;
        return true;
      }
      if (!isAlpha(c) && !isDigit(c) && c != '+' && c != '/' && c != '=') return false;
    }
    return false;
  }

  bool boolean(Value& v) {
    in_.remove_prefix(1);
    if (peek() != '0' && peek() != '1') return false;
    v.kind = Kind::Boolean;
    v.boolean = in_.front() == '1';
    in_.remove_prefix(1);
    return true;
  }

  std::string_view in_;
};

// A delta-seconds directive: a non-negative Integer, else ignored (RFC 9213 §2.1: values that
// violate the directive's type are not consumed).
void seconds(std::optional<int64_t>& slot, const Value& v) {
  if (v.kind != Kind::Integer || v.integer < 0) {
    slot.reset();
    return;
  }
  slot = std::min<int64_t>(v.integer, 2147483648LL);
}

}  // namespace

std::optional<CacheControl> parseCdnCacheControl(std::string_view value) {
  CacheControl cc;
  // Keys are lower-case by the grammar; a repeated key: the last one counts (RFC 8941 §3.2).
  bool ok = Parser(value).dictionary([&](const std::string& k, const Value& v) {
    bool yes = v.kind == Kind::Boolean && v.boolean;
    bool yes_or_list = yes || v.kind == Kind::String;  // no-cache / private may name fields
    if (k == "no-store")
      cc.no_store = yes;
    else if (k == "no-cache")
      cc.no_cache = yes_or_list;
    else if (k == "private")
      cc.is_private = yes_or_list;
    else if (k == "public")
      cc.is_public = yes;
    else if (k == "must-revalidate" || k == "proxy-revalidate")
      cc.must_revalidate |= yes;
    else if (k == "no-transform")
      cc.no_transform = yes;
    else if (k == "max-age")
      seconds(cc.max_age, v);
    else if (k == "s-maxage")
      seconds(cc.s_maxage, v);
    else if (k == "stale-while-revalidate")
      seconds(cc.stale_while_revalidate, v);
    else if (k == "stale-if-error")
      seconds(cc.stale_if_error, v);
  });
  if (!ok) return std::nullopt;
  return cc;
}

CacheControl responseDirectives(const base::HeaderMap& headers, bool use_cdn, bool* use_expires) {
  *use_expires = true;
  if (use_cdn) {
    std::string joined;
    bool present = false;
    for (const base::Header& h : headers) {
      if (h.name != "cdn-cache-control") continue;
      if (present) joined += ", ";
      joined += h.value;
      present = true;
    }
    if (present) {
      if (std::optional<CacheControl> cdn = parseCdnCacheControl(joined)) {
        *use_expires = false;
        return *cdn;
      }
    }
  }
  return parseCacheControl(headers);
}

}  // namespace sluice::filters
