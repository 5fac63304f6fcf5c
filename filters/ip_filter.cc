#include "filters/ip_filter.h"

#include "ratelimit/key_expr.h"

namespace sluice::filters {

namespace {
class IpFilterInstance final : public Filter {
 public:
  explicit IpFilterInstance(const IpFilterFactory& f) : f_(f) {}

  FilterStatus onRequestHeaders(base::RequestHead& head, FilterCallbacks& cb) override {
    if (f_.allows(head, cb.info())) {
      f_.counters().allowed->inc();
      return FilterStatus::Continue;
    }
    f_.counters().denied->inc();
    cb.sendError(403, "the client address is not allowed on this route", nullptr);
    return FilterStatus::Stop;
  }

  bool wantsResponseHeaders() const override { return false; }

 private:
  const IpFilterFactory& f_;
};
}  // namespace

bool IpFilterFactory::allows(const base::RequestHead& head, const StreamInfo& info) const {
  std::string scratch;
  std::string_view ip = client_.find(head, info, scratch);
  unsigned char ip16[16];
  if (!ratelimit::parseIp16(ip, ip16)) return false;
  if (inAnyCidr(cfg_.deny, ip16)) return false;
  return cfg_.allow.empty() || inAnyCidr(cfg_.allow, ip16);
}

std::unique_ptr<Filter> IpFilterFactory::create() const {
  return std::make_unique<IpFilterInstance>(*this);
}

}  // namespace sluice::filters
