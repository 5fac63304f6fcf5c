// `request_headers:` / `response_headers:` of a route: set and remove fields, as a filter. Set
// values may hold variables (`${client_ip}`, config/value_template.h), expanded per request.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "config/config.h"
#include "config/value_template.h"
#include "filters/client_address.h"
#include "filters/filter.h"

namespace sluice::filters {

class HeaderRewriteFactory final : public FilterFactory {
 public:
  // Parses each set value once, here (the loader has checked that they parse). The registry
  // builds one factory for the response side, first in the chain (so its rewrite is the last
  // response phase), and one for the request side, after the route's filters (so the consumer
  // and JWT claims that auth filters establish are known to the variables).
  HeaderRewriteFactory(const config::HeaderRewrite& request, const config::HeaderRewrite& response,
                       std::vector<config::Cidr> trusted_proxies = {});
  std::unique_ptr<Filter> create() const override;

  // One compiled rewrite: removals, then sets of expanded values.
  struct Compiled {
    std::vector<std::string> remove;
    std::vector<std::pair<std::string, config::ValueTemplate>> set;
    bool empty() const { return remove.empty() && set.empty(); }
  };

  // Applies `rewrite` to `headers`: removals first, then sets (a set wins over a remove).
  // Literal values only (no variables expanded); kept for callers without a request.
  static void apply(const config::HeaderRewrite& rewrite, base::HeaderMap& headers);
  // Applies a compiled rewrite: every value is expanded from `vars` first (so ${header.NAME}
  // sees the fields before this rewrite), then removals, then sets. A value with variables that
  // expands to nothing or to CR, LF or NUL removes the field instead of setting it.
  static void apply(const Compiled& rewrite, const config::TemplateVariables& vars,
                    base::HeaderMap& headers);

 private:
  Compiled request_;
  Compiled response_;
  ClientAddress client_address_;
};

}  // namespace sluice::filters
