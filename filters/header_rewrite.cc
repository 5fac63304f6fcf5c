#include "filters/header_rewrite.h"

namespace sluice::filters {

namespace {
class HeaderRewriteFilter final : public Filter {
 public:
  HeaderRewriteFilter(const config::HeaderRewrite& req, const config::HeaderRewrite& resp)
      : req_(req), resp_(resp) {}
  FilterStatus onRequestHeaders(base::RequestHead& head, FilterCallbacks&) override {
    HeaderRewriteFactory::apply(req_, head.headers);
    return FilterStatus::Continue;
  }
  FilterStatus onResponseHeaders(base::ResponseHead& head, FilterCallbacks&) override {
    HeaderRewriteFactory::apply(resp_, head.headers);
    return FilterStatus::Continue;
  }

 private:
  const config::HeaderRewrite& req_;
  const config::HeaderRewrite& resp_;
};
}  // namespace

std::unique_ptr<Filter> HeaderRewriteFactory::create() const {
  return std::make_unique<HeaderRewriteFilter>(request_, response_);
}

void HeaderRewriteFactory::apply(const config::HeaderRewrite& rewrite, base::HeaderMap& headers) {
  for (const std::string& name : rewrite.remove) headers.remove(name);
  for (const auto& [name, value] : rewrite.set) headers.set(name, value);
}

}  // namespace sluice::filters
