// The one list of features that are parsed and validated but not served yet. When a feature
// lands, delete its line below; the parsers already report every use of it.
#include "config/feature_gate.h"

namespace sluice::config {
namespace {

struct Unsupported {
  Feature feature;
  const char* message;  // "<key>: <what> is not supported yet; <what to write instead>"
};

constexpr Unsupported kUnsupported[] = {
    {Feature::ProxyProtocol,
     "proxy_protocol: the PROXY protocol is not supported yet; set proxy_protocol: false"},
};

const Unsupported* findUnsupported(Feature feature) {
  for (const auto& u : kUnsupported) {
    if (u.feature == feature) return &u;
  }
  return nullptr;
}

}  // namespace

void useFeature(Reader& r, const YAML::Node& at, Feature feature) {
  if (const Unsupported* u = findUnsupported(feature)) r.error(at, u->message);
}

bool isFeatureSupported(Feature feature) {
  return findUnsupported(feature) == nullptr;
}

}  // namespace sluice::config
