#include "filters/registry.h"

#include "filters/direct_response.h"
#include "filters/header_rewrite.h"

namespace sluice::filters {

namespace {
using Builder = std::shared_ptr<const FilterFactory> (*)(const config::Route&,
                                                         const config::FilterEntry&);
struct Entry {
  const char* name;
  Builder build;
};

// One line per filter. The rate limits, cache, gzip and circuit breaker land with their issues.
constexpr Entry kFilters[] = {
    {"", nullptr},
};

const Entry* find(std::string_view name) {
  for (const Entry& e : kFilters) {
    if (e.build != nullptr && name == e.name) return &e;
  }
  return nullptr;
}
}  // namespace

bool isRegisteredFilter(std::string_view name) { return find(name) != nullptr; }

bool buildRouteChain(const config::Route& route, FactoryList& out, std::string& error) {
  out.clear();
  if (!route.request_headers.empty() || !route.response_headers.empty()) {
    out.push_back(
        std::make_shared<HeaderRewriteFactory>(route.request_headers, route.response_headers));
  }
  for (const config::FilterEntry& entry : route.filters) {
    const Entry* e = find(entry.name);
    if (e == nullptr) {
      error = "route " + route.name + ": filter " + entry.name + " is not built into this binary";
      return false;
    }
    out.push_back(e->build(route, entry));
  }
  if (route.respond) out.push_back(std::make_shared<DirectResponseFactory>(*route.respond));
  return true;
}

}  // namespace sluice::filters
