#include "proxy/admin/status_json.h"

#include <cmath>

namespace sluice::proxy {

namespace {
using Json = nlohmann::json;

// Figures rounded to 3 decimals: the page's precision, and short JSON.
double round3(double v) {
  return std::round(v * 1000) / 1000;
}

Json msOrNull(double v) {
  return v < 0 ? Json(nullptr) : Json(round3(v));
}

Json windows(const SeriesView& v) {
  return Json{{"1m", windowJson(v.last_1m)}, {"5m", windowJson(v.last_5m)}};
}

const char* healthName(int h) {
  return h < 0 ? "unknown" : h == 1 ? "healthy" : "unhealthy";
}

Json circuitName(int c) {
  if (c < 0) return nullptr;
  return c == 0 ? "closed" : c == 1 ? "open" : "half-open";
}
}  // namespace

Json windowJson(const WindowSummary& w) {
  auto share = [&](uint64_t n) {
    return w.requests == 0 ? 0.0 : round3(static_cast<double>(n) / static_cast<double>(w.requests));
  };
  return Json{{"seconds", round3(w.seconds)},    {"requests", w.requests},
              {"rate", round3(w.rate)},          {"p50_ms", msOrNull(w.p50_ms)},
              {"p99_ms", msOrNull(w.p99_ms)},    {"status_4xx", w.status_4xx},
              {"status_5xx", w.status_5xx},      {"share_4xx", share(w.status_4xx)},
              {"share_5xx", share(w.status_5xx)}};
}

Json seriesJson(const SeriesView& v, double end_unix) {
  Json rate = Json::array(), p99 = Json::array(), errors = Json::array(), n = Json::array();
  for (size_t i = 0; i < v.rate.size(); ++i) {
    rate.push_back(round3(v.rate[i]));
    p99.push_back(msOrNull(v.p99_ms[i]));
    errors.push_back(round3(v.share_5xx[i]));
    n.push_back(v.requests[i]);
  }
  return Json{{"step_seconds", kWindowSlotMs / 1000},
              {"end", round3(end_unix)},
              {"rate", std::move(rate)},
              {"p99_ms", std::move(p99)},
              {"share_5xx", std::move(errors)},
              {"requests", std::move(n)}};
}

Json statusJson(const StatusModel& m) {
  Json out = Json::object();
  out["sluice_version"] = SLUICE_VERSION;
  out["config_version"] = m.version;
  out["loaded_at"] = round3(m.loaded_at);
  out["generated_at"] = round3(m.generated_at);
  out["draining"] = m.draining;
  Json& listeners = out["listeners"] = Json::array();
  for (const auto& l : m.listeners) {
    listeners.push_back({{"name", l.name},
                         {"address", l.address},
                         {"connections_open", l.open},
                         {"connections_accepted", l.accepted}});
  }
  Json& routes = out["routes"] = Json::array();
  for (const auto& r : m.routes) {
    routes.push_back({{"name", r.name},
                      {"match", r.match},
                      {"upstream", r.target},
                      {"filters", r.filters},
                      {"requests", r.requests},
                      {"status_5xx", r.status_5xx},
                      {"windows", windows(r.window)},
                      {"series", seriesJson(r.window, m.generated_at)}});
  }
  Json& upstreams = out["upstreams"] = Json::array();
  for (const auto& u : m.upstreams) {
    Json targets = Json::array();
    for (const auto& t : u.targets) {
      double share = targetErrorShare(t);
      targets.push_back(
          {{"address", t.address},
           {"name", t.name.empty() ? Json(nullptr) : Json(t.name)},
           {"weight", t.weight},
           {"override_weight", t.override_weight ? Json(*t.override_weight) : Json(nullptr)},
           {"drained", t.drained},
           {"health", healthName(t.health)},
           {"circuit", circuitName(t.circuit)},
           {"active_requests", t.active ? Json(*t.active) : Json(nullptr)},
           {"responses", t.responses},
           {"connect_failures", t.connect_failures},
           {"error_share", share < 0 ? Json(nullptr) : Json(round3(share))},
           {"windows", windows(t.window)},
           {"series", seriesJson(t.window, m.generated_at)}});
    }
    upstreams.push_back({{"name", u.name},
                         {"balancer", u.balancer},
                         {"windows", windows(u.window)},
                         {"series", seriesJson(u.window, m.generated_at)},
                         {"targets", std::move(targets)}});
  }
  Json& ratelimits = out["ratelimits"] = Json::array();
  for (const auto& rl : m.ratelimits) {
    ratelimits.push_back({{"route", rl.route},
                          {"policy", rl.policy},
                          {"allowed", rl.allowed},
                          {"limited", rl.limited},
                          {"keys", rl.keys ? Json(*rl.keys) : Json(nullptr)}});
  }
  return out;
}

}  // namespace sluice::proxy
