// Parser for a route's `mirror:` (spec/gateway.md, Routing): the upstream that gets a copy of the
// selected requests, the share selected, whether answers are compared, and the per-worker bound
// on mirrors in flight.
#include "config/sections.h"

namespace sluice::config {

Mirror parseMirror(Reader& r, const YAML::Node& node, RouteRefs* refs) {
  Mirror mirror;
  MapReader m(r, node, "mirror", {"upstream", "percent", "compare", "max_in_flight"});
  if (!m.ok()) return mirror;
  if (m.require("upstream", "mirror: {upstream: users-next}") &&
      m.readString("upstream", &mirror.upstream)) {
    // Checked against the upstreams once every file is merged, as filters' upstreams are.
    refs->filter_upstreams.emplace_back(r.origin(m.get("upstream")), mirror.upstream);
  }
  m.readNumber("percent", &mirror.percent, 0, 100);
  m.readBool("compare", &mirror.compare);
  m.readInt("max_in_flight", &mirror.max_in_flight, 1, 100'000);
  return mirror;
}

}  // namespace sluice::config
