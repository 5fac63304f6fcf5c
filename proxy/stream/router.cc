#include "proxy/stream/router.h"

namespace sluice::proxy {

std::string_view stripPort(std::string_view authority) {
  if (!authority.empty() && authority.front() == '[') {
    size_t close = authority.find(']');
    return close == std::string_view::npos ? authority : authority.substr(0, close + 1);
  }
  size_t colon = authority.rfind(':');
  return colon == std::string_view::npos ? authority : authority.substr(0, colon);
}

bool Router::hostMatches(std::string_view pattern, std::string_view host) {
  if (pattern.size() > 2 && pattern[0] == '*' && pattern[1] == '.') {
    std::string_view suffix = pattern.substr(1);  // ".example.com"
    return host.size() > suffix.size() && host.substr(host.size() - suffix.size()) == suffix;
  }
  return pattern == host;
}

int Router::match(const base::RequestHead& head) const {
  std::string_view host = stripPort(head.host);
  std::string_view path = head.path();
  for (size_t i = 0; i < routes_->size(); ++i) {
    const config::RouteMatch& m = (*routes_)[i].match;
    if (m.host && !hostMatches(*m.host, host)) continue;
    if (m.path && path != *m.path) continue;
    if (m.path_prefix && path.substr(0, m.path_prefix->size()) != *m.path_prefix) continue;
    if (!m.methods.empty()) {
      bool any = false;
      for (const std::string& method : m.methods) any = any || method == head.method;
      if (!any) continue;
    }
    bool headers_ok = true;
    for (const auto& [name, value] : m.headers) {
      const std::string* got = head.headers.get(name);
      if (got == nullptr || *got != value) {
        headers_ok = false;
        break;
      }
    }
    if (!headers_ok) continue;
    return static_cast<int>(i);
  }
  return -1;
}

}  // namespace sluice::proxy
