// Picks a request's route: the first route of the config, in file order, whose match holds.
// Built per config snapshot, then read-only (shared by every worker).
#pragma once

#include <string_view>
#include <vector>

#include "config/config.h"
#include "filters/base/http_message.h"

namespace sluice::proxy {

class Router {
 public:
  explicit Router(const std::vector<config::Route>& routes) : routes_(&routes) {}
  // Index into the config's routes of the first match, or -1 (answered 404).
  int match(const base::RequestHead& head) const;

  // Exposed for tests: host without port, compared case-insensitively by the caller's contract
  // (both sides lower-case).
  static bool hostMatches(std::string_view pattern, std::string_view host);

 private:
  const std::vector<config::Route>* routes_;
};

// The host part of an authority (`example.com:8080` -> `example.com`, `[::1]:80` -> `[::1]`).
std::string_view stripPort(std::string_view authority);

}  // namespace sluice::proxy
