#include "proxy/admin/status_model.h"

#include <cstdlib>

namespace sluice::proxy {

namespace {
// The admin API's drain and weight of target `i` of `u` (balancer/target_override.h), or null.
const balancer::TargetOverride* targetOverride(const UpstreamRuntime& u, size_t i) {
  return i < u.target_states.size() ? &u.target_states[i]->overrides : nullptr;
}

std::string targetKey(std::string_view upstream, std::string_view target) {
  std::string k(upstream);
  k.push_back('\n');
  k.append(target);
  return k;
}

// The samples of `name`, indexed by the values of `labels` joined with '\n'.
std::map<std::string, double> series(const std::vector<ExpositionSample>& samples,
                                     std::string_view name,
                                     std::initializer_list<const char*> labels) {
  std::map<std::string, double> out;
  for (const auto& s : samples) {
    if (s.name != name) continue;
    std::string key;
    bool first = true;
    for (const char* l : labels) {
      if (!first) key.push_back('\n');
      first = false;
      auto it = s.labels.find(l);
      if (it != s.labels.end()) key += it->second;
    }
    out[key] += s.value;
  }
  return out;
}

// Where a route sends its requests: its upstream, its split with the weights, or what sluice
// answers itself.
std::string routeTarget(const config::Route& r) {
  if (r.respond) return "(respond)";
  if (r.redirect) return "(redirect " + std::to_string(r.redirect->status) + ")";
  if (r.upstreams.empty()) return r.upstream;
  std::string out;
  for (const auto& w : r.upstreams) {
    out += (out.empty() ? "" : ", ") + w.name + " " + std::to_string(w.weight);
  }
  if (r.sticky_key) out += " (sticky " + *r.sticky_key + ")";
  return out;
}

std::string routeMatch(const config::Route& r) {
  std::string m;
  if (r.match.host) m += "host " + *r.match.host + " ";
  if (r.match.path_prefix) m += "prefix " + *r.match.path_prefix + " ";
  if (r.match.path) m += "path " + *r.match.path + " ";
  if (!m.empty()) m.pop_back();
  return m;
}

template <typename Map>
double at(const Map& m, const std::string& key) {
  auto it = m.find(key);
  return it == m.end() ? 0 : it->second;
}
}  // namespace

std::vector<ExpositionSample> parseExposition(std::string_view text) {
  std::vector<ExpositionSample> out;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t eol = text.find('\n', pos);
    if (eol == std::string_view::npos) eol = text.size();
    std::string_view line = text.substr(pos, eol - pos);
    pos = eol + 1;
    if (line.empty() || line[0] == '#') continue;
    ExpositionSample s;
    size_t i = 0;
    while (i < line.size() && line[i] != '{' && line[i] != ' ') ++i;
    s.name = std::string(line.substr(0, i));
    bool ok = !s.name.empty();
    if (ok && i < line.size() && line[i] == '{') {
      ++i;
      while (ok && i < line.size() && line[i] != '}') {
        size_t eq = line.find('=', i);
        if (eq == std::string_view::npos || eq + 1 >= line.size() || line[eq + 1] != '"') {
          ok = false;
          break;
        }
        std::string key(line.substr(i, eq - i));
        std::string value;
        size_t j = eq + 2;
        for (; j < line.size() && line[j] != '"'; ++j) {
          if (line[j] == '\\' && j + 1 < line.size()) {
            ++j;
            value.push_back(line[j] == 'n' ? '\n' : line[j]);
          } else {
            value.push_back(line[j]);
          }
        }
        if (j >= line.size()) {
          ok = false;
          break;
        }
        s.labels.emplace(std::move(key), std::move(value));
        i = j + 1;
        if (i < line.size() && line[i] == ',') ++i;
      }
      if (i >= line.size()) ok = false;
      ++i;  // '}'
    }
    if (!ok) continue;
    while (i < line.size() && line[i] == ' ') ++i;
    std::string value(line.substr(i, line.find(' ', i) == std::string_view::npos
                                         ? std::string_view::npos
                                         : line.find(' ', i) - i));
    char* end = nullptr;
    s.value = std::strtod(value.c_str(), &end);
    if (value.empty() || end != value.c_str() + value.size()) continue;
    out.push_back(std::move(s));
  }
  return out;
}

StatusModel collectStatus(const Snapshot& snap, const base::MetricsRegistry& registry,
                          int64_t now_ms, double unix_now, bool draining) {
  const config::Config& c = *snap.config;
  const std::vector<ExpositionSample> samples = parseExposition(registry.render());
  auto conns_active = series(samples, "sluice_downstream_connections_active", {"listener"});
  auto conns_total = series(samples, "sluice_downstream_connections_total", {"listener"});
  auto healthy = series(samples, "sluice_upstream_target_healthy", {"upstream", "target"});
  auto circuit = series(samples, "sluice_upstream_circuit_state", {"upstream", "target"});
  auto active = series(samples, "sluice_upstream_requests_active", {"upstream", "target"});
  auto connect_failures =
      series(samples, "sluice_upstream_connect_failures_total", {"upstream", "target"});
  auto rl_keys = series(samples, "sluice_ratelimit_keys", {"route", "policy"});
  std::map<std::string, double> responses, errors, route_requests, route_5xx;
  std::map<std::string, std::pair<double, double>> rl;  // route\npolicy -> allowed, limited
  for (const auto& s : samples) {
    auto label = [&](const char* n) {
      auto it = s.labels.find(n);
      return it == s.labels.end() ? std::string() : it->second;
    };
    if (s.name == "sluice_upstream_requests_total") {
      std::string key = targetKey(label("upstream"), label("target"));
      responses[key] += s.value;
      if (label("code").starts_with("5")) errors[key] += s.value;
    } else if (s.name == "sluice_requests_total") {
      route_requests[label("route")] += s.value;
      if (label("code").starts_with("5")) route_5xx[label("route")] += s.value;
    } else if (s.name == "sluice_ratelimit_decisions_total") {
      auto& p = rl[label("route") + "\n" + label("policy")];
      (label("result") == "limited" ? p.second : p.first) += s.value;
    }
  }

  StatusModel m;
  m.version = snap.version;
  m.loaded_at = snap.loaded_at;
  m.generated_at = unix_now;
  m.draining = draining;
  for (const auto& l : c.listeners) {
    m.listeners.push_back(
        {l.name, l.address.text(), at(conns_active, l.name), at(conns_total, l.name)});
  }
  for (size_t i = 0; i < c.routes.size(); ++i) {
    const config::Route& r = c.routes[i];
    StatusModel::Route out{r.name,
                           routeMatch(r),
                           routeTarget(r),
                           {},
                           at(route_requests, r.name),
                           at(route_5xx, r.name),
                           {}};
    for (const auto& f : r.filters) out.filters.push_back(f.name);
    const StatusSeries* w = i < snap.routes.size() ? snap.routes[i].window.get() : nullptr;
    out.window = viewOf({w}, now_ms);
    m.routes.push_back(std::move(out));
  }
  // The snapshot's targets: every address a name or an srv record resolved to, keyed as the
  // metrics label them.
  for (const UpstreamRuntime& ur : snap.upstreams) {
    StatusModel::Upstream up{ur.config->name, ur.config->balancer, {}, {}};
    std::vector<const StatusSeries*> all;
    for (size_t i = 0; i < ur.targets.size(); ++i) {
      const ResolvedTarget& rt = ur.targets[i];
      std::string key = targetKey(up.name, rt.address);
      StatusModel::Target t;
      t.address = rt.address;
      if (!rt.name.empty() && rt.name != rt.address) t.name = rt.name;
      t.weight = rt.weight;
      if (const balancer::TargetOverride* o = targetOverride(ur, i)) {
        t.drained = o->drained();
        t.override_weight = o->weight();
      }
      if (auto it = healthy.find(key); it != healthy.end()) t.health = it->second >= 1 ? 1 : 0;
      if (auto it = circuit.find(key); it != circuit.end())
        t.circuit = static_cast<int>(it->second);
      if (auto it = active.find(key); it != active.end()) t.active = it->second;
      t.responses = at(responses, key);
      t.connect_failures = at(connect_failures, key);
      t.errors = at(errors, key) + t.connect_failures;
      const StatusSeries* w = i < ur.target_windows.size() ? ur.target_windows[i].get() : nullptr;
      t.window = viewOf({w}, now_ms);
      all.push_back(w);
      up.targets.push_back(std::move(t));
    }
    up.window = viewOf(all, now_ms);
    m.upstreams.push_back(std::move(up));
  }
  for (const auto& [key, p] : rl) {
    size_t nl = key.find('\n');
    StatusModel::RateLimit r{key.substr(0, nl), key.substr(nl + 1), p.first, p.second, {}};
    if (auto k = rl_keys.find(key); k != rl_keys.end()) r.keys = k->second;
    m.ratelimits.push_back(std::move(r));
  }
  return m;
}

double targetErrorShare(const StatusModel::Target& t, bool* recent) {
  const WindowSummary& w = t.window.last_1m;
  if (recent != nullptr) *recent = w.requests > 0;
  if (w.requests > 0) return static_cast<double>(w.status_5xx) / static_cast<double>(w.requests);
  double attempts = t.responses + t.connect_failures;
  return attempts > 0 ? t.errors / attempts : -1;
}

}  // namespace sluice::proxy
