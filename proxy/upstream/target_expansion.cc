#include "proxy/upstream/target_expansion.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <cstring>
#include <tuple>

#include "proxy/upstream/discovery/discovery_targets.h"

namespace sluice::proxy {

std::vector<SrvRecord> usableSrvRecords(std::vector<SrvRecord> records) {
  std::erase_if(records, [](const SrvRecord& r) { return r.host.empty() || r.host == "."; });
  if (records.empty()) return {};
  uint16_t lowest = records.front().priority;
  for (const SrvRecord& r : records) lowest = std::min(lowest, r.priority);
  std::erase_if(records, [lowest](const SrvRecord& r) { return r.priority != lowest; });
  std::sort(records.begin(), records.end(), [](const SrvRecord& a, const SrvRecord& b) {
    return std::tie(a.host, a.port) < std::tie(b.host, b.port);
  });
  std::vector<SrvRecord> out;
  for (SrvRecord& r : records) {
    uint32_t weight = std::max<uint32_t>(r.weight, 1);
    if (!out.empty() && out.back().host == r.host && out.back().port == r.port) {
      out.back().weight =
          static_cast<uint16_t>(std::min<uint32_t>(out.back().weight + weight, 65535));
      continue;
    }
    r.weight = static_cast<uint16_t>(weight);
    out.push_back(std::move(r));
  }
  return out;
}

std::string socketAddressText(const sockaddr* sa) {
  char ip[INET6_ADDRSTRLEN] = {};
  if (sa->sa_family == AF_INET6) {
    const auto* v6 = reinterpret_cast<const sockaddr_in6*>(sa);
    inet_ntop(AF_INET6, &v6->sin6_addr, ip, sizeof(ip));
    return "[" + std::string(ip) + "]:" + std::to_string(ntohs(v6->sin6_port));
  }
  const auto* v4 = reinterpret_cast<const sockaddr_in*>(sa);
  inet_ntop(AF_INET, &v4->sin_addr, ip, sizeof(ip));
  return std::string(ip) + ":" + std::to_string(ntohs(v4->sin_port));
}

std::string targetSource(const config::Target& t) {
  return t.srv.empty() ? t.address : "srv:" + t.srv;
}

std::vector<ResolvedTarget> addressTargets(const std::string& source, const std::string& host,
                                           uint16_t port,
                                           const std::vector<const sockaddr*>& addrs) {
  std::vector<ResolvedTarget> out;
  config::Address name{host, port};
  for (const sockaddr* sa : addrs) {
    ResolvedTarget t;
    if (sa->sa_family == AF_INET) {
      std::memcpy(&t.addr, sa, sizeof(sockaddr_in));
      reinterpret_cast<sockaddr_in*>(&t.addr)->sin_port = htons(port);
      t.addr_len = sizeof(sockaddr_in);
    } else if (sa->sa_family == AF_INET6) {
      std::memcpy(&t.addr, sa, sizeof(sockaddr_in6));
      reinterpret_cast<sockaddr_in6*>(&t.addr)->sin6_port = htons(port);
      t.addr_len = sizeof(sockaddr_in6);
    } else {
      continue;
    }
    t.address = socketAddressText(reinterpret_cast<const sockaddr*>(&t.addr));
    t.host = host;
    t.name = name.text();
    t.source = source;
    out.push_back(std::move(t));
  }
  std::sort(out.begin(), out.end(),
            [](const ResolvedTarget& a, const ResolvedTarget& b) { return a.address < b.address; });
  out.erase(std::unique(out.begin(), out.end(),
                        [](const ResolvedTarget& a, const ResolvedTarget& b) {
                          return a.address == b.address;
                        }),
            out.end());
  return out;
}

std::vector<ResolvedTarget> expandTargets(const config::Upstream& u,
                                          const std::vector<ResolvedTarget>& resolved,
                                          std::string& error) {
  std::vector<ResolvedTarget> out;
  if (u.discovery) {  // what the registry holds now (discovery_targets.h); none at all is fine
    std::string source = discovery::discoverySource(u.name);
    for (const ResolvedTarget& r : resolved) {
      if (r.source == source) out.push_back(r);
    }
    return out;
  }
  for (const config::Target& t : u.targets) {
    std::string source = targetSource(t);
    bool any = false;
    for (const ResolvedTarget& r : resolved) {
      // No source: the resolution of an IP literal, made by hand (tests) as before sources.
      if ((r.source.empty() ? r.address : r.source) != source) continue;
      any = true;
      uint32_t weight = t.srv.empty() ? t.weight : r.weight;
      auto same = std::find_if(out.begin(), out.end(),
                               [&](const ResolvedTarget& o) { return o.address == r.address; });
      if (same != out.end()) {
        same->weight = std::min<uint32_t>(same->weight + weight, 1'000'000);
        continue;
      }
      out.push_back(r);
      out.back().weight = weight;
    }
    if (!any) {
      error = "upstream " + u.name + ": target " + (t.srv.empty() ? t.address : "srv " + t.srv) +
              " has no resolved address";
      return {};
    }
  }
  return out;
}

bool sameResolution(const std::vector<ResolvedTarget>& a, const std::vector<ResolvedTarget>& b) {
  if (a.size() != b.size()) return false;
  using Key = std::tuple<std::string, std::string, uint32_t, std::string>;
  auto keys = [](const std::vector<ResolvedTarget>& v) {
    std::vector<Key> k;
    for (const ResolvedTarget& t : v) k.emplace_back(t.source, t.address, t.weight, t.host);
    std::sort(k.begin(), k.end());
    return k;
  };
  return keys(a) == keys(b);
}

}  // namespace sluice::proxy
