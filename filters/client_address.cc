#include "filters/client_address.h"

#include <optional>

#include "ratelimit/key_expr.h"

namespace sluice::filters {

bool ClientAddress::trusted(std::string_view ip) const {
  unsigned char a[16];
  return ratelimit::parseIp16(ip, a) && trusted(a);
}

bool inAnyCidr(const std::vector<config::Cidr>& blocks, const unsigned char ip16[16]) {
  for (const config::Cidr& c : blocks) {
    if (c.contains(ip16)) return true;
  }
  return false;
}

bool ClientAddress::trusted(const unsigned char ip16[16]) const {
  return inAnyCidr(trusted_, ip16);
}

std::string_view ClientAddress::find(const base::RequestHead& head, const StreamInfo& info,
                                     std::string& scratch) const {
  // Common case first: an untrusted peer is the client, whatever it claims.
  bool peer_trusted =
      !trusted_.empty() &&
      (info.client_addr16 != nullptr ? trusted(info.client_addr16) : trusted(info.client_ip));
  if (!peer_trusted) return info.client_ip;
  // Several lines are one list (the walk trims the space after each comma).
  std::optional<std::string_view> list = head.headers.combined("x-forwarded-for", scratch);
  if (!list) return info.client_ip;
  std::string_view client =
      ratelimit::clientFromForwarded(*list, [this](std::string_view ip) { return trusted(ip); });
  return client.empty() ? info.client_ip : client;
}

}  // namespace sluice::filters
