#include "filters/max_body.h"

#include <charconv>

namespace sluice::filters {

namespace {
class MaxBody final : public Filter {
 public:
  explicit MaxBody(uint64_t bytes) : bytes_(bytes) {}

  FilterStatus onRequestHeaders(base::RequestHead& head, FilterCallbacks& cb) override {
    const std::string* cl = head.headers.get("content-length");
    uint64_t n = 0;
    if (cl != nullptr &&
        std::from_chars(cl->data(), cl->data() + cl->size(), n).ec == std::errc() && n > bytes_) {
      cb.sendError(413, "request body over the route's max_body", nullptr);
      return FilterStatus::Stop;
    }
    return FilterStatus::Continue;
  }

  FilterStatus onRequestBody(std::string& data, bool, FilterCallbacks& cb) override {
    seen_ += data.size();
    if (seen_ <= bytes_) return FilterStatus::Continue;
    cb.sendError(413, "request body over the route's max_body", nullptr);
    return FilterStatus::Stop;
  }

  bool wantsResponseHeaders() const override { return false; }

 private:
  uint64_t bytes_;
  uint64_t seen_ = 0;
};
}  // namespace

std::unique_ptr<Filter> MaxBodyFactory::create() const {
  return std::make_unique<MaxBody>(bytes_);
}

}  // namespace sluice::filters
