// The ip_filter filter: the client address (as the rate-limit key `ip` sees it: trusted_proxies
// and the PROXY protocol honoured) must be in `allow` (when given) and in no `deny` block;
// anything else, an address that does not parse included, is answered 403.
#pragma once

#include <memory>

#include "config/config.h"
#include "filters/auth_decisions.h"
#include "filters/client_address.h"
#include "filters/filter.h"

namespace sluice::filters {

class IpFilterFactory final : public FilterFactory {
 public:
  IpFilterFactory(const config::IpFilter& cfg, std::vector<config::Cidr> trusted,
                  AuthCounters counters)
      : cfg_(cfg), client_(std::move(trusted)), counters_(counters) {}
  std::unique_ptr<Filter> create() const override;

  // Whether the request may pass; worker thread.
  bool allows(const base::RequestHead& head, const StreamInfo& info) const;
  const AuthCounters& counters() const { return counters_; }

 private:
  config::IpFilter cfg_;
  ClientAddress client_;
  AuthCounters counters_;
};

}  // namespace sluice::filters
