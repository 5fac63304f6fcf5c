#include "filters/rate_limit_key.h"

namespace sluice::filters {

bool RateLimitKey::init(const std::string& expr, const std::vector<config::Cidr>& trusted,
                        std::string& error) {
  client_ = ClientAddress(trusted);
  return ratelimit::parseKeyExpr(expr, parts_, error);
}

bool RateLimitKey::readsFields() const {
  for (const ratelimit::KeyPart& p : parts_) {
    switch (p.kind) {
      case ratelimit::KeyPart::Kind::Header:
      case ratelimit::KeyPart::Kind::Cookie:
        return true;
      default:  // ip too: see ClientAddress::find
        break;
    }
  }
  return false;
}

void RateLimitKey::evaluate(const base::RequestHead& head, const StreamInfo& info,
                            std::string& out) const {
  out.clear();
  bool first = true;
  for (const ratelimit::KeyPart& p : parts_) {
    if (!first) out.push_back('\x1f');  // a separator no field value can hold
    first = false;
    switch (p.kind) {
      case ratelimit::KeyPart::Kind::Ip: {
        std::string scratch;
        out.append(client_.find(head, info, scratch));
        break;
      }
      case ratelimit::KeyPart::Kind::Consumer:
        out.append(info.consumer);
        break;
      case ratelimit::KeyPart::Kind::JwtClaim:
        if (info.jwt_claims != nullptr) {
          if (const std::string* v = info.jwt_claims->find(p.name)) out.append(*v);
        }
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
