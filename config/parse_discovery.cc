// Parser for an upstream's `discovery:` section: where its targets come from instead of a
// static `targets:` list. Only etcd v3 for now: `discovery: {etcd: {endpoints, prefix, timeout,
// backoff}}` (proxy/upstream/discovery/ reads and watches it).
#include "config/sections.h"

namespace sluice::config {
namespace {

// `prefix:` a key prefix, as registrations write it: not empty, printable, no spaces.
bool isValidPrefix(const std::string& p) {
  if (p.empty()) return false;
  for (unsigned char c : p) {
    if (c <= 0x20 || c == 0x7f) return false;
  }
  return true;
}

EtcdDiscovery parseEtcd(Reader& r, const YAML::Node& node) {
  EtcdDiscovery e;
  MapReader m(r, node, "etcd", {"endpoints", "prefix", "timeout", "backoff"});
  if (!m.ok()) return e;
  if (m.require("endpoints", "endpoints: [127.0.0.1:2379]")) {
    r.addressList(m.get("endpoints"), "endpoints", "endpoints: list at least one host:port",
                  &e.endpoints);
  }
  if (m.require("prefix", "prefix: /services/api/") && m.readString("prefix", &e.prefix) &&
      !isValidPrefix(e.prefix)) {
    r.error(m.get("prefix"), "prefix: \"" + e.prefix +
                                 "\" is not a key prefix; write the registrations' common "
                                 "prefix, e.g. /services/api/");
  }
  m.readDuration("timeout", &e.timeout);
  if (m.has("backoff")) {
    MapReader b(r, m.get("backoff"), "backoff", {"base", "max"});
    b.readDuration("base", &e.backoff.base);
    bool has_max = b.readDuration("max", &e.backoff.max);
    if (e.backoff.max < e.backoff.base) {
      r.error(b.get(has_max ? "max" : "base"), "backoff: max " + formatDuration(e.backoff.max) +
                                                   " is below base " +
                                                   formatDuration(e.backoff.base) +
                                                   "; make max at least base, e.g. {base: 200ms, "
                                                   "max: 5s}");
    }
  }
  return e;
}

}  // namespace

std::optional<Discovery> parseDiscovery(Reader& r, const YAML::Node& node) {
  MapReader m(r, node, "discovery", {"etcd"});
  if (!m.ok()) return std::nullopt;
  if (!m.require("etcd",
                 "discovery: {etcd: {endpoints: [127.0.0.1:2379], prefix: /services/api/}}")) {
    return std::nullopt;
  }
  Discovery d;
  d.etcd = parseEtcd(r, m.get("etcd"));
  return d;
}

}  // namespace sluice::config
