// `redirect:` of a route: sluice answers with a 301/302/303/307/308 and a Location, as the last
// filter of the route's chain (so the route's own filters, e.g. authentication, run first).
// `{scheme, host}` keeps the request's path and query; `{to}` is a template with variables
// (config/value_template.h).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "config/config.h"
#include "config/value_template.h"
#include "filters/client_address.h"
#include "filters/filter.h"

namespace sluice::filters {

class RedirectFactory final : public FilterFactory {
 public:
  // `trusted` are the config's trusted_proxies (what ${client_ip} sees). Main thread.
  RedirectFactory(config::Redirect redirect, std::vector<config::Cidr> trusted);
  std::unique_ptr<Filter> create() const override;

  // The Location for a request, or nullopt when none can be written: no Host to keep, or a
  // variable's value that a field cannot carry (CR, LF, NUL) or that leaves it empty. `head` is
  // the request as the chain sees it; its host, path and query come from `info` (the client's).
  // Worker thread.
  std::optional<std::string> location(const base::RequestHead& head, const StreamInfo& info) const;
  int status() const { return redirect_.status; }

 private:
  config::Redirect redirect_;
  std::optional<config::ValueTemplate> to_;
  ClientAddress client_address_;
};

}  // namespace sluice::filters
