#include "filters/direct_response.h"

namespace sluice::filters {

namespace {
class DirectResponseFilter final : public Filter {
 public:
  DirectResponseFilter(const config::DirectResponse& r, const base::HeaderMap& h) : r_(r), h_(h) {}
  FilterStatus onRequestHeaders(base::RequestHead&, FilterCallbacks& cb) override {
    cb.sendLocalReply(r_.status, r_.body, &h_);
    return FilterStatus::Stop;
  }

 private:
  const config::DirectResponse& r_;
  const base::HeaderMap& h_;
};
}  // namespace

DirectResponseFactory::DirectResponseFactory(config::DirectResponse response)
    : response_(std::move(response)) {
  for (const auto& [name, value] : response_.headers) headers_.add(name, value);
}

std::unique_ptr<Filter> DirectResponseFactory::create() const {
  return std::make_unique<DirectResponseFilter>(response_, headers_);
}

}  // namespace sluice::filters
