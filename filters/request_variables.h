// The values of the template variables (config/value_template.h) for one request: what a
// `${...}` in a header value (and, later, a redirect target) expands to.
#pragma once

#include <string>
#include <string_view>

#include "config/value_template.h"
#include "filters/client_address.h"
#include "filters/filter.h"

namespace sluice::filters {

// Views into `head` and `info`, which must outlive it. `head` is the request as it goes
// upstream (its method and fields); host, path and query are the client's own (info). Worker
// thread.
class RequestVariables final : public config::TemplateVariables {
 public:
  RequestVariables(const base::RequestHead& head, const StreamInfo& info,
                   const ClientAddress& client_address)
      : head_(head), info_(info), client_address_(client_address) {}
  std::string_view value(config::TemplateVar var, std::string_view arg) const override;

 private:
  const base::RequestHead& head_;
  const StreamInfo& info_;
  const ClientAddress& client_address_;
  mutable std::string scratch_;
};

// A template expanded for a header: nullopt when the result is empty or holds CR, LF or NUL
// (a claim or a field may carry anything), so that the caller drops the field instead.
std::optional<std::string> expandHeaderValue(const config::ValueTemplate& t,
                                             const config::TemplateVariables& vars);

}  // namespace sluice::filters
