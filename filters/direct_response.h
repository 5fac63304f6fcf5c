// `respond:` of a route: sluice answers with a fixed status, body and fields, as a filter.
#pragma once

#include "config/config.h"
#include "filters/filter.h"

namespace sluice::filters {

class DirectResponseFactory final : public FilterFactory {
 public:
  explicit DirectResponseFactory(config::DirectResponse response);
  std::unique_ptr<Filter> create() const override;

 private:
  config::DirectResponse response_;
  base::HeaderMap headers_;
};

}  // namespace sluice::filters
