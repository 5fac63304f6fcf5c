// The client's address as sluice reasons about it: the peer (the PROXY protocol source when the
// listener takes one), or, when the peer is one of `trusted_proxies`, the nearest untrusted hop
// of X-Forwarded-For. The rate-limit key `ip` and ip_filter both ask this, so they always agree.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"
#include "filters/filter.h"

namespace sluice::filters {

// Whether `ip16` (16 bytes, IPv4 mapped) is inside one of `blocks`.
bool inAnyCidr(const std::vector<config::Cidr>& blocks, const unsigned char ip16[16]);

class ClientAddress {
 public:
  explicit ClientAddress(std::vector<config::Cidr> trusted) : trusted_(std::move(trusted)) {}

  // The client's address, textual, as a view into `head`, `info` or `scratch` (valid while they
  // are). `head` is the request as received or as edited for upstream: the address sluice
  // appends to X-Forwarded-For is the peer's, and the list is read only when the peer is
  // trusted, so the walk skips it and both give the same client (as nginx's realip module reads
  // the field as received). Worker thread; no allocation unless the request has several
  // X-Forwarded-For fields.
  std::string_view find(const base::RequestHead& head, const StreamInfo& info,
                        std::string& scratch) const;

 private:
  bool trusted(std::string_view ip) const;
  bool trusted(const unsigned char ip16[16]) const;

  std::vector<config::Cidr> trusted_;
};

}  // namespace sluice::filters
