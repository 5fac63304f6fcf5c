// From DNS answers to upstream targets: a target given by name becomes one target per address it
// resolves to, an `srv:` target one per address of its usable SRV records (RFC 2782: the lowest
// priority present, with the records' weights and ports). Pure logic, no loop: resolver.cc feeds
// it what the lookups answered, snapshot.cc expands each upstream's config targets with it.
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <string>
#include <vector>

#include "config/config.h"
#include "proxy/runtime/snapshot.h"

namespace sluice::proxy {

// One SRV record (RFC 2782); `host` without the trailing dot.
struct SrvRecord {
  std::string host;
  uint16_t port = 0;
  uint16_t priority = 0;
  uint16_t weight = 0;
};

// The records sluice uses: those of the lowest priority that has any (a "." target, "no such
// service here", is no record), weight 0 counting as 1 (sluice's weights start at 1), records
// naming the same host and port merged (weights summed). Ordered by host, then port.
std::vector<SrvRecord> usableSrvRecords(std::vector<SrvRecord> records);

// `ip:port`, or `[v6]:port`: the key of a resolved address.
std::string socketAddressText(const sockaddr* sa);

// The key of a config target's resolutions: its address as written, or `srv:NAME`.
std::string targetSource(const config::Target& t);

// One ResolvedTarget per distinct address in `addrs` (sockaddr_in/in6, their port replaced by
// `port`), ordered by address text, each with `source`, `host` and name `host:port`.
std::vector<ResolvedTarget> addressTargets(const std::string& source, const std::string& host,
                                           uint16_t port,
                                           const std::vector<const sockaddr*>& addrs);

// The targets of `u`: every config target expanded to its resolutions in `resolved` (matched by
// targetSource), in config order; an address reached through two entries is one target whose
// weight is the sum. An address target's weight is the config's, an srv one's the record's.
// Empty with `error` when a config target has no resolution at all. An upstream with
// `discovery:` has the resolutions of source discoverySource(name), possibly none.
std::vector<ResolvedTarget> expandTargets(const config::Upstream& u,
                                          const std::vector<ResolvedTarget>& resolved,
                                          std::string& error);

// Whether `a` and `b` give the same targets (source, address, weight, host), in any order: a
// re-resolution that changes nothing builds no new snapshot.
bool sameResolution(const std::vector<ResolvedTarget>& a, const std::vector<ResolvedTarget>& b);

}  // namespace sluice::proxy
