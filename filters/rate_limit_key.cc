#include "filters/rate_limit_key.h"

namespace sluice::filters {

bool RateLimitKey::init(const std::string& expr, const std::vector<config::Cidr>& trusted,
                        std::string& error) {
  trusted_ = trusted;
  return ratelimit::parseKeyExpr(expr, parts_, error);
}

bool RateLimitKey::trusted(std::string_view ip) const {
  unsigned char a[16];
  return ratelimit::parseIp16(ip, a) && trusted(a);
}

bool RateLimitKey::trusted(const unsigned char ip16[16]) const {
  for (const config::Cidr& c : trusted_) {
    if (c.contains(ip16)) return true;
  }
  return false;
}

void RateLimitKey::appendIp(const base::RequestHead& head, const StreamInfo& info,
                            std::string& out) const {
  // Common case first: an untrusted peer is the client, whatever it claims.
  bool peer_trusted =
      !trusted_.empty() &&
      (info.client_addr16 != nullptr ? trusted(info.client_addr16) : trusted(info.client_ip));
  if (!peer_trusted) {
    out.append(info.client_ip);
    return;
  }
  size_t n = head.headers.count("x-forwarded-for");
  if (n == 0) {
    out.append(info.client_ip);
    return;
  }
  std::string joined;
  const std::string* only = nullptr;
  if (n == 1) {
    only = head.headers.get("x-forwarded-for");
  } else {
    for (const base::Header& h : head.headers) {
      if (h.name != "x-forwarded-for") continue;
      if (!joined.empty()) joined.push_back(',');
      joined.append(h.value);
    }
  }
  std::string_view list = only != nullptr ? std::string_view(*only) : std::string_view(joined);
  std::string_view client =
      ratelimit::clientFromForwarded(list, [this](std::string_view ip) { return trusted(ip); });
  out.append(client.empty() ? info.client_ip : client);
}

void RateLimitKey::evaluate(const base::RequestHead& head, const StreamInfo& info,
                            std::string& out) const {
  out.clear();
  bool first = true;
  for (const ratelimit::KeyPart& p : parts_) {
    if (!first) out.push_back('\x1f');  // a separator no field value can hold
    first = false;
    switch (p.kind) {
      case ratelimit::KeyPart::Kind::Ip:
        appendIp(head, info, out);
        break;
      case ratelimit::KeyPart::Kind::Route:
        break;  // one table per route already: the route is the whole key
      case ratelimit::KeyPart::Kind::Header:
        if (const std::string* v = head.headers.get(p.name)) out.append(*v);
        break;
      case ratelimit::KeyPart::Kind::Cookie:
        for (const base::Header& h : head.headers) {
          if (h.name != "cookie") continue;
          if (auto v = ratelimit::cookieValue(h.value, p.name)) {
            out.append(*v);
            break;
          }
        }
        break;
      case ratelimit::KeyPart::Kind::Query:
        if (auto v = ratelimit::queryValue(head.query(), p.name)) out.append(*v);
        break;
    }
  }
  // Only separators: no part had a value.
  if (out.find_first_not_of('\x1f') == std::string::npos) out.clear();
}

}  // namespace sluice::filters
