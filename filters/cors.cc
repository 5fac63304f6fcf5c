#include "filters/cors.h"

#include <algorithm>

namespace sluice::filters {

namespace {
constexpr const char* kCorsFields[] = {
    "access-control-allow-origin",   "access-control-allow-credentials",
    "access-control-allow-methods",  "access-control-allow-headers",
    "access-control-expose-headers", "access-control-max-age"};

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const std::string& s : items) {
    if (!out.empty()) out += ", ";
    out += s;
  }
  return out;
}

// Adds `Origin` to Vary unless it is there (or Vary is `*`).
void addVaryOrigin(base::HeaderMap& headers) {
  for (const base::Header& h : headers) {
    if (h.name != "vary") continue;
    if (base::headerHasToken(h.value, "*") || base::headerHasToken(h.value, "origin")) return;
  }
  headers.add("vary", "Origin");
}

class Cors final : public Filter {
 public:
  explicit Cors(const CorsFactory& f) : f_(f) {}

  FilterStatus onRequestHeaders(base::RequestHead& head, FilterCallbacks& cb) override {
    const std::string* origin = head.headers.get("origin");
    if (origin != nullptr && f_.originAllowed(*origin)) origin_ = *origin;
    const std::string* method = head.headers.get("access-control-request-method");
    if (head.method != "OPTIONS" || origin == nullptr || method == nullptr) {
      return FilterStatus::Continue;
    }
    // A preflight: answered here, never forwarded.
    base::HeaderMap extra;
    if (!origin_.empty() && f_.methodAllowed(*method)) {
      extra.add("access-control-allow-origin", origin_);
      if (f_.config().credentials) extra.add("access-control-allow-credentials", "true");
      extra.add("access-control-allow-methods", f_.methods());
      if (!f_.headers().empty()) extra.add("access-control-allow-headers", f_.headers());
      if (!f_.maxAge().empty()) extra.add("access-control-max-age", f_.maxAge());
    }
    extra.add("vary", "Origin");
    preflight_ = true;
    cb.sendLocalReply(204, {}, &extra);
    return FilterStatus::Stop;
  }

  FilterStatus onResponseHeaders(base::ResponseHead& head, FilterCallbacks&) override {
    if (preflight_) return FilterStatus::Continue;  // the local reply carries its own fields
    for (const char* name : kCorsFields) head.headers.remove(name);
    addVaryOrigin(head.headers);
    if (origin_.empty()) return FilterStatus::Continue;
    head.headers.add("access-control-allow-origin", origin_);
    if (f_.config().credentials) head.headers.add("access-control-allow-credentials", "true");
    if (!f_.exposeHeaders().empty()) {
      head.headers.add("access-control-expose-headers", f_.exposeHeaders());
    }
    return FilterStatus::Continue;
  }

 private:
  const CorsFactory& f_;
  std::string origin_;  // the request's Origin when allowed, else empty
  bool preflight_ = false;
};
}  // namespace

CorsFactory::CorsFactory(const config::CorsFilter& cfg)
    : cfg_(cfg),
      methods_(join(cfg.methods)),
      headers_(join(cfg.headers)),
      expose_(join(cfg.expose_headers)) {
  if (cfg.max_age) max_age_ = std::to_string(cfg.max_age->count() / 1000);
}

bool CorsFactory::originAllowed(std::string_view origin) const {
  for (const std::string& o : cfg_.origins) {
    if (o == "*") return true;
    if (o.size() > 1 && o[0] == '*') {
      // "*.example.com": any scheme, a host under the domain, any port.
      size_t sep = origin.find("://");
      if (sep == origin.npos) continue;
      std::string_view host = origin.substr(sep + 3);
      if (size_t colon = host.rfind(':'); colon != host.npos && host.find(']') == host.npos) {
        host = host.substr(0, colon);
      }
      std::string_view suffix = std::string_view(o).substr(1);  // ".example.com"
      if (host.size() > suffix.size() &&
          base::equalsIgnoreCase(host.substr(host.size() - suffix.size()), suffix)) {
        return true;
      }
    } else if (base::equalsIgnoreCase(origin, o)) {
      return true;
    }
  }
  return false;
}

bool CorsFactory::methodAllowed(std::string_view method) const {
  return std::find(cfg_.methods.begin(), cfg_.methods.end(), method) != cfg_.methods.end();
}

std::unique_ptr<Filter> CorsFactory::create() const {
  return std::make_unique<Cors>(*this);
}

}  // namespace sluice::filters
