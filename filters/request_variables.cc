#include "filters/request_variables.h"

#include "config/units.h"

namespace sluice::filters {

std::string_view RequestVariables::value(config::TemplateVar var, std::string_view arg) const {
  using config::TemplateVar;
  std::string_view target = info_.original_target;
  size_t q = target.find('?');
  switch (var) {
    case TemplateVar::ClientIp:
      return client_address_.find(head_, info_, scratch_);
    case TemplateVar::RequestId:
      return info_.request_id;
    case TemplateVar::Host:
      return info_.original_host;
    case TemplateVar::Path:
      return q == std::string_view::npos ? target : target.substr(0, q);
    case TemplateVar::Query:
      return q == std::string_view::npos ? std::string_view() : target.substr(q + 1);
    case TemplateVar::Method:
      return head_.method;
    case TemplateVar::Scheme:
      return info_.secure ? "https" : "http";
    case TemplateVar::Route:
      return info_.route_name;
    case TemplateVar::Header: {
      const std::string* v = head_.headers.get(arg);
      return v != nullptr ? std::string_view(*v) : std::string_view();
    }
    case TemplateVar::Jwt: {
      const std::string* v = info_.jwt_claims != nullptr ? info_.jwt_claims->find(arg) : nullptr;
      return v != nullptr ? std::string_view(*v) : std::string_view();
    }
    case TemplateVar::Consumer:
      return info_.consumer;
  }
  return {};
}

std::optional<std::string> expandHeaderValue(const config::ValueTemplate& t,
                                             const config::TemplateVariables& vars) {
  std::string v = t.expand(vars);
  if (v.empty() || !config::isValidHeaderValue(v)) return std::nullopt;
  return v;
}

}  // namespace sluice::filters
