// Parser of the ext_auth filter (spec/gateway.md, "Edge security filters"): forward auth to a
// named upstream, as nginx auth_request / Envoy ext_authz / Traefik forwardAuth.
#include "config/sections.h"
#include "config/units.h"

namespace sluice::config {

namespace {
void readHeaderNames(Reader& r, MapReader& m, std::string_view key, std::vector<std::string>* out) {
  if (!m.readStrings(key, out)) return;
  for (std::string& h : *out) {
    if (!isHttpToken(h)) r.error(m.get(key), std::string(key) + ": \"" + h + "\" is not a name");
    h = toLower(h);
  }
}
}  // namespace

ExtAuthFilter parseExtAuth(Reader& r, MapReader& m, RouteRefs* refs) {
  ExtAuthFilter f;
  if (m.require("upstream", "upstream: authz") && m.readString("upstream", &f.upstream)) {
    refs->filter_upstreams.emplace_back(r.origin(m.get("upstream")), f.upstream);
  }
  if (m.readString("path", &f.path) &&
      (f.path.empty() || f.path[0] != '/' || f.path.find_first_of(" \r\n#") != f.path.npos)) {
    r.error(m.get("path"), "path: write an origin-form target such as /check or /auth?x=1");
  }
  m.readDuration("timeout", &f.timeout);
  readHeaderNames(r, m, "send_headers", &f.send_headers);
  readHeaderNames(r, m, "copy_headers", &f.copy_headers);
  std::string on_error;
  if (m.readString("on_error", &on_error)) {
    if (on_error == "allow" || on_error == "deny") {
      f.allow_on_error = on_error == "allow";
    } else {
      r.error(m.get("on_error"), "on_error: write deny (503) or allow");
    }
  }
  return f;
}

}  // namespace sluice::config
