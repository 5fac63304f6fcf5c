#include "proxy/stream/hash_key.h"

namespace sluice::proxy {

std::string_view cookieValue(std::string_view cookies, std::string_view name) {
  size_t pos = 0;
  while (pos < cookies.size()) {
    size_t end = cookies.find(';', pos);
    std::string_view pair =
        cookies.substr(pos, end == std::string_view::npos ? cookies.npos : end - pos);
    while (!pair.empty() && pair.front() == ' ') pair.remove_prefix(1);
    size_t eq = pair.find('=');
    if (eq != std::string_view::npos && pair.substr(0, eq) == name) return pair.substr(eq + 1);
    if (end == std::string_view::npos) break;
    pos = end + 1;
  }
  return {};
}

std::string_view queryValue(std::string_view query, std::string_view name) {
  size_t pos = 0;
  while (pos < query.size()) {
    size_t end = query.find('&', pos);
    std::string_view pair =
        query.substr(pos, end == std::string_view::npos ? query.npos : end - pos);
    size_t eq = pair.find('=');
    std::string_view key = pair.substr(0, eq);
    if (key == name) return eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1);
    if (end == std::string_view::npos) break;
    pos = end + 1;
  }
  return {};
}

std::string hashKeyText(std::string_view spec, std::string_view client_ip,
                        const base::RequestHead& head, std::string_view original_target) {
  if (spec == "ip") return std::string(client_ip);
  if (spec == "uri") return std::string(original_target);
  if (spec == "path") {
    size_t q = original_target.find('?');
    return std::string(original_target.substr(0, q));
  }
  size_t colon = spec.find(':');
  if (colon == std::string_view::npos) return {};
  std::string_view kind = spec.substr(0, colon);
  std::string name(spec.substr(colon + 1));
  if (kind == "header") {
    base::toLowerInPlace(name);
    const std::string* v = head.headers.get(name);
    return v != nullptr ? *v : std::string();
  }
  if (kind == "cookie") {
    const std::string* v = head.headers.get("cookie");
    return v != nullptr ? std::string(cookieValue(*v, name)) : std::string();
  }
  if (kind == "query") {
    size_t q = original_target.find('?');
    if (q == std::string_view::npos) return {};
    return std::string(queryValue(original_target.substr(q + 1), name));
  }
  return {};
}

}  // namespace sluice::proxy
