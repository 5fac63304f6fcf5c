#include "filters/header_rewrite.h"

#include <optional>

#include "filters/request_variables.h"

namespace sluice::filters {

namespace {
HeaderRewriteFactory::Compiled compile(const config::HeaderRewrite& rw) {
  HeaderRewriteFactory::Compiled c;
  c.remove = rw.remove;
  for (const auto& [name, value] : rw.set) {
    std::string error;
    auto t = config::ValueTemplate::parse(value, &error);
    c.set.emplace_back(name, t ? std::move(*t) : config::ValueTemplate::literal(value));
  }
  return c;
}

class HeaderRewriteFilter final : public Filter {
 public:
  HeaderRewriteFilter(const HeaderRewriteFactory::Compiled& req,
                      const HeaderRewriteFactory::Compiled& resp, const ClientAddress& client)
      : req_(req), resp_(resp), client_(client) {}
  FilterStatus onRequestHeaders(base::RequestHead& head, FilterCallbacks& cb) override {
    if (!req_.empty()) {
      RequestVariables vars(head, cb.info(), client_);
      HeaderRewriteFactory::apply(req_, vars, head.headers);
    }
    return FilterStatus::Continue;
  }
  FilterStatus onResponseHeaders(base::ResponseHead& head, FilterCallbacks& cb) override {
    RequestVariables vars(cb.request(), cb.info(), client_);
    HeaderRewriteFactory::apply(resp_, vars, head.headers);
    return FilterStatus::Continue;
  }
  bool wantsResponseHeaders() const override { return !resp_.empty(); }

 private:
  const HeaderRewriteFactory::Compiled& req_;
  const HeaderRewriteFactory::Compiled& resp_;
  const ClientAddress& client_;
};
}  // namespace

HeaderRewriteFactory::HeaderRewriteFactory(const config::HeaderRewrite& request,
                                           const config::HeaderRewrite& response,
                                           std::vector<config::Cidr> trusted_proxies)
    : request_(compile(request)),
      response_(compile(response)),
      client_address_(std::move(trusted_proxies)) {}

std::unique_ptr<Filter> HeaderRewriteFactory::create() const {
  return std::make_unique<HeaderRewriteFilter>(request_, response_, client_address_);
}

void HeaderRewriteFactory::apply(const config::HeaderRewrite& rewrite, base::HeaderMap& headers) {
  for (const std::string& name : rewrite.remove) headers.remove(name);
  for (const auto& [name, value] : rewrite.set) headers.set(name, value);
}

void HeaderRewriteFactory::apply(const Compiled& rewrite, const config::TemplateVariables& vars,
                                 base::HeaderMap& headers) {
  std::vector<std::optional<std::string>> values;
  values.reserve(rewrite.set.size());
  for (const auto& [name, t] : rewrite.set) {
    if (t.isLiteral()) {
      values.emplace_back(t.expand(vars));
    } else {
      values.push_back(expandHeaderValue(t, vars));
    }
  }
  for (const std::string& name : rewrite.remove) headers.remove(name);
  for (size_t i = 0; i < rewrite.set.size(); ++i) {
    if (values[i]) {
      headers.set(rewrite.set[i].first, std::move(*values[i]));
    } else {
      headers.remove(rewrite.set[i].first);
    }
  }
}

}  // namespace sluice::filters
