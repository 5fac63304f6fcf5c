// Parsers for what sluice asks DNS itself: the top-level `resolver:` section (the servers c-ares
// asks) and an upstream target's `srv:` name (targets from SRV records, RFC 2782).
#include "config/sections.h"

namespace sluice::config {

Resolver parseResolver(Reader& r, const YAML::Node& node) {
  Resolver res;
  MapReader m(r, node, "resolver", {"servers"});
  if (!m.ok()) return res;
  if (!m.require("servers", "servers: [127.0.0.1:53]")) return res;
  r.addressList(m.get("servers"), "servers", "servers: list at least one ip:port", &res.servers,
                [](const Address& a) {
                  return parseIp(a.host) ? std::string()
                                         : "\"" + a.host +
                                               "\" is not an IP address; a DNS server is named by "
                                               "its address, e.g. 127.0.0.1:53 or [::1]:53";
                });
  return res;
}

bool isValidSrvName(std::string_view name) {
  if (name.empty() || name.size() > 253 || name.front() == '.') return false;
  size_t label = 0;
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_' || c == '.';
    if (!ok) return false;
    label = c == '.' ? 0 : label + 1;
    if (label > 63) return false;
  }
  return name.find("..") == std::string_view::npos;
}

}  // namespace sluice::config
