// The one list of features that are parsed and validated but not served yet. When a feature
// lands, delete its line below; the parsers already report every use of it.
#include "config/feature_gate.h"

#include <array>

namespace sluice::config {
namespace {

struct Unsupported {
  Feature feature;
  const char* message;  // "<key>: <what> is not supported yet; <what to write instead>"
};

// Every feature of the schema is served now; the table stays for the next one.
constexpr std::array<Unsupported, 0> kUnsupported{};

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
