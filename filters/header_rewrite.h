// `request_headers:` / `response_headers:` of a route: set and remove fields, as a filter.
#pragma once

#include "config/config.h"
#include "filters/filter.h"

namespace sluice::filters {

class HeaderRewriteFactory final : public FilterFactory {
 public:
  HeaderRewriteFactory(config::HeaderRewrite request, config::HeaderRewrite response)
      : request_(std::move(request)), response_(std::move(response)) {}
  std::unique_ptr<Filter> create() const override;

  // Applies `rewrite` to `headers`: removals first, then sets (a set wins over a remove).
  static void apply(const config::HeaderRewrite& rewrite, base::HeaderMap& headers);

 private:
  config::HeaderRewrite request_;
  config::HeaderRewrite response_;
};

}  // namespace sluice::filters
