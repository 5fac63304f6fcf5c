#include "proxy/admin/runtime_api.h"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "balancer/circuit_breaker.h"
#include "balancer/effective_weights.h"
#include "balancer/slow_start.h"
#include "balancer/target_override.h"
#include "config/json_dump.h"
#include "filters/base/http_message.h"

namespace sluice::proxy {

namespace {

constexpr uint32_t kMaxWeight = 1'000'000;  // as `targets[].weight` in the config

AdminResponse jsonReply(int status, std::string body, std::string allow = {}) {
  return AdminResponse{status, "application/json", std::move(body) + "\n", std::move(allow)};
}

AdminResponse error(int status, const std::string& message, std::string allow = {}) {
  return jsonReply(
      status,
      "{\"status\":" + std::to_string(status) + ",\"error\":" + config::jsonQuote(message) + "}",
      std::move(allow));
}

// %XX decoded ('+' stays: paths are not forms); a malformed escape stays as written.
std::string percentDecode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    int hi = 0, lo = 0;
    if (s[i] == '%' && i + 2 < s.size() && (hi = base::hexDigitValue(s[i + 1])) >= 0 &&
        (lo = base::hexDigitValue(s[i + 2])) >= 0) {
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

// The path's segments after "/upstreams", each percent-decoded.
std::vector<std::string> segments(std::string_view path) {
  std::vector<std::string> out;
  path.remove_prefix(std::string_view("/upstreams").size());
  while (!path.empty()) {
    path.remove_prefix(1);  // the '/'
    const size_t end = path.find('/');
    out.push_back(percentDecode(path.substr(0, end)));
    path = end == std::string_view::npos ? std::string_view() : path.substr(end);
  }
  return out;
}

// `value=N` from the query, N in 0..kMaxWeight.
std::optional<uint32_t> weightParameter(std::string_view query) {
  while (!query.empty()) {
    const size_t amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (pair.substr(0, 6) != "value=") continue;
    std::string_view v = pair.substr(6);
    uint32_t n = 0;
    auto [ptr, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
    if (ec != std::errc() || ptr != v.data() + v.size() || v.empty() || n > kMaxWeight) {
      return std::nullopt;
    }
    return n;
  }
  return std::nullopt;
}

std::string number(double v) {
  if (v == std::floor(v)) return std::to_string(static_cast<int64_t>(v));
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f", v);
  return buf;
}

std::string targetJson(const UpstreamRuntime& u, size_t i, const balancer::EffectiveWeights& ew,
                       int64_t now_ms) {
  const balancer::TargetState& ts = *u.target_states[i];
  const std::optional<uint32_t> override = ts.overrides.weight();
  const char* health = !ts.healthy() ? "unhealthy" : ts.available(now_ms) ? "healthy" : "ejected";
  std::string circuit = "null";
  if (u.config->circuit_breaker) {
    circuit = config::jsonQuote(
        balancer::circuitStateName(ts.breaker.state(now_ms, *u.config->circuit_breaker)));
  }
  const double effective =
      static_cast<double>(ew.targets[i].weight) / static_cast<double>(balancer::kWeightUnit);
  const ResolvedTarget& t = u.targets[i];
  return "{\"address\":" + config::jsonQuote(t.address) +
         ",\"source\":" + config::jsonQuote(t.source.empty() ? t.address : t.source) +
         ",\"weight\":" + std::to_string(u.configured[i].weight) +
         ",\"weight_override\":" + (override ? std::to_string(*override) : "null") +
         ",\"effective_weight\":" + number(effective) +
         ",\"drained\":" + (ts.overrides.drained() ? "true" : "false") + ",\"health\":\"" + health +
         "\",\"circuit\":" + circuit + ",\"in_flight\":" + std::to_string(ts.active()) + "}";
}

std::string upstreamJson(const UpstreamRuntime& u, int64_t now_ms) {
  // What a worker's selector is built from now (the same function the workers call).
  const balancer::EffectiveWeights ew =
      balancer::effectiveWeights(u.configured, u.state.get(), u.config->slow_start, now_ms);
  std::string out = "{\"name\":" + config::jsonQuote(u.config->name) +
                    ",\"balancer\":" + config::jsonQuote(u.config->balancer) + ",\"targets\":[";
  for (size_t i = 0; i < u.targets.size(); ++i) {
    out += (i > 0 ? "," : "") + targetJson(u, i, ew, now_ms);
  }
  return out + "]}";
}

const UpstreamRuntime* findUpstream(const Snapshot& snap, const std::string& name) {
  for (const UpstreamRuntime& u : snap.upstreams) {
    if (u.config->name == name) return &u;
  }
  return nullptr;
}

// The targets ADDRESS names: the one with that `ip:port`; else every address of the config
// target written so (a host name: each address it resolved to; `srv:NAME`: each record's).
// `by_source` tells which.
std::vector<size_t> findTargets(const UpstreamRuntime& u, const std::string& address,
                                bool& by_source) {
  std::vector<size_t> out;
  by_source = false;
  for (size_t i = 0; i < u.targets.size(); ++i) {
    if (u.targets[i].address == address) return {i};
  }
  for (size_t i = 0; i < u.targets.size(); ++i) {
    if (u.targets[i].source == address || u.targets[i].name == address) out.push_back(i);
  }
  by_source = !out.empty();
  return out;
}

AdminResponse changeTarget(const AdminRequest& req, const Snapshot& snap,
                           const std::vector<std::string>& seg, int64_t now_ms) {
  const std::string& action = seg[3];
  if (action != "drain" && action != "enable" && action != "weight") {
    return error(404, "no endpoint " + req.path + "; use .../drain, .../enable or .../weight");
  }
  if (req.method != "POST") {
    return error(405, "use POST " + req.path, "POST");
  }
  const UpstreamRuntime* u = findUpstream(snap, seg[0]);
  if (u == nullptr) return error(404, "no upstream named " + seg[0]);
  bool by_source = false;
  const std::vector<size_t> found = findTargets(*u, seg[2], by_source);
  if (found.empty()) return error(404, "upstream " + seg[0] + " has no target " + seg[2]);
  std::optional<uint32_t> weight;
  if (action == "weight" && !(weight = weightParameter(req.query))) {
    return error(
        400, "weight: write ?value=N with N an integer from 0 to " + std::to_string(kMaxWeight));
  }
  for (size_t i : found) {
    balancer::TargetState& ts = *u->target_states[i];
    if (weight) {
      balancer::setWeightOverride(ts, *weight);
    } else {
      balancer::setDrained(ts, action == "drain");
    }
  }
  const balancer::EffectiveWeights ew =
      balancer::effectiveWeights(u->configured, u->state.get(), u->config->slow_start, now_ms);
  if (!by_source) return jsonReply(200, targetJson(*u, found[0], ew, now_ms));
  std::string body = "{\"source\":" + config::jsonQuote(seg[2]) + ",\"targets\":[";
  for (size_t k = 0; k < found.size(); ++k) {
    body += (k > 0 ? "," : "") + targetJson(*u, found[k], ew, now_ms);
  }
  return jsonReply(200, body + "]}");
}

}  // namespace

bool isRuntimeApiPath(std::string_view path) {
  return path == "/upstreams" || path.substr(0, 11) == "/upstreams/";
}

AdminResponse runtimeApi(const AdminRequest& req, const Snapshot& snap, int64_t now_ms) {
  const std::vector<std::string> seg = segments(req.path);
  const bool get = req.method == "GET" || req.method == "HEAD";
  if (seg.empty() || (seg.size() == 1 && !seg[0].empty())) {
    if (!get) return error(405, "use GET " + req.path, "GET, HEAD");
    if (seg.empty()) {
      std::string body = "{\"version\":" + std::to_string(snap.version) + ",\"upstreams\":[";
      for (size_t i = 0; i < snap.upstreams.size(); ++i) {
        body += (i > 0 ? "," : "") + upstreamJson(snap.upstreams[i], now_ms);
      }
      return jsonReply(200, body + "]}");
    }
    const UpstreamRuntime* u = findUpstream(snap, seg[0]);
    if (u == nullptr) return error(404, "no upstream named " + seg[0]);
    return jsonReply(200, upstreamJson(*u, now_ms));
  }
  if (seg.size() == 4 && seg[1] == "targets" && !seg[0].empty() && !seg[2].empty()) {
    return changeTarget(req, snap, seg, now_ms);
  }
  return error(404, "no endpoint " + req.path +
                        "; see GET /upstreams and POST /upstreams/NAME/targets/ADDRESS/drain");
}

}  // namespace sluice::proxy
