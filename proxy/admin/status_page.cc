#include "proxy/admin/status_page.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctime>

namespace sluice::proxy {

namespace {
constexpr double kRecentWindow = 60;  // seconds of "recent" error rate
constexpr double kKeepHistory = 300;

std::string num(double v) {
  if (std::isnan(v)) return "NaN";
  char buf[32];
  if (v == std::floor(v) && std::fabs(v) < 1e15) {
    std::snprintf(buf, sizeof buf, "%.0f", v);
  } else {
    std::snprintf(buf, sizeof buf, "%.3g", v);
  }
  return buf;
}

// The admin API's drain and weight of a target (balancer/target_override.h), or null.
const balancer::TargetOverride* targetOverride(const Snapshot& snap, const std::string& upstream,
                                               const std::string& address) {
  for (const UpstreamRuntime& u : snap.upstreams) {
    if (u.config->name != upstream) continue;
    for (size_t i = 0; i < u.targets.size() && i < u.target_states.size(); ++i) {
      if (u.targets[i].address == address) return &u.target_states[i]->overrides;
    }
  }
  return nullptr;
}

// " (api.internal:8080)" after an address that a name was resolved to, else nothing.
std::string nameBeside(const ResolvedTarget& t) {
  if (t.name.empty() || t.name == t.address) return "";
  return " <span class=\"muted\">(" + htmlEscape(t.name) + ")</span>";
}

std::string percent(double part, double whole) {
  if (whole <= 0) return "&ndash;";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f%%", 100.0 * part / whole);
  return buf;
}

std::string cell(std::string_view text, std::string_view cls = {}) {
  std::string out = cls.empty() ? "<td>" : "<td class=\"" + std::string(cls) + "\">";
  out += text;
  out += "</td>";
  return out;
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

const char* kStyle =
    "body{font-family:system-ui,sans-serif;margin:1.5em;color:#222}"
    "table{border-collapse:collapse;margin-bottom:1.5em}"
    "td,th{border:1px solid #ccc;padding:4px 8px;text-align:left}th{background:#f3f3f3}"
    ".ok{background:#d9f2d9}.bad{background:#f7c6c6;font-weight:bold}.warn{background:#fbe8b5}"
    ".muted{color:#888}small{color:#666}";

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
}  // namespace

std::string htmlEscape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

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

std::string StatusPage::render(const Snapshot& snap, const base::MetricsRegistry& registry,
                               double now, bool draining) {
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

  TargetTotals totals;
  std::map<std::string, double> route_requests, route_5xx;
  std::map<std::string, std::pair<double, double>> rl;  // route\npolicy -> allowed, limited
  for (const auto& s : samples) {
    auto label = [&](const char* n) {
      auto it = s.labels.find(n);
      return it == s.labels.end() ? std::string() : it->second;
    };
    if (s.name == "sluice_upstream_requests_total") {
      Totals& t = totals[targetKey(label("upstream"), label("target"))];
      t.attempts += s.value;
      if (label("code").starts_with("5")) t.errors += s.value;
    } else if (s.name == "sluice_requests_total") {
      route_requests[label("route")] += s.value;
      if (label("code").starts_with("5")) route_5xx[label("route")] += s.value;
    } else if (s.name == "sluice_ratelimit_decisions_total") {
      auto& p = rl[label("route") + "\n" + label("policy")];
      (label("result") == "limited" ? p.second : p.first) += s.value;
    }
  }
  for (const auto& [key, n] : connect_failures) {
    totals[key].attempts += n;
    totals[key].errors += n;
  }

  // Baseline for "recent": the oldest remembered render within the window.
  while (!history_.empty() && history_.front().first < now - kKeepHistory) history_.pop_front();
  const TargetTotals* base = nullptr;
  double base_age = 0;
  for (const auto& [t, tt] : history_) {
    if (t >= now - kRecentWindow && now - t >= 1) {
      base = &tt;
      base_age = now - t;
      break;
    }
  }

  time_t loaded = static_cast<time_t>(snap.loaded_at);
  tm tmv{};
  gmtime_r(&loaded, &tmv);
  char when[64];
  strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S UTC", &tmv);

  std::string h =
      "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
      "<meta http-equiv=\"refresh\" content=\"5\"><title>sluice status</title><style>";
  h += kStyle;
  h += "</style></head><body>";
  h += "<h1>sluice " SLUICE_VERSION "</h1><p id=\"summary\">config version " +
       std::to_string(snap.version) + ", loaded " + when + " &middot; " +
       (draining ? "<span class=\"bad\">draining</span>" : "<span class=\"ok\">serving</span>") +
       " &middot; <small>refreshes every 5 s</small></p>";

  h += "<h2>Listeners</h2><table id=\"listeners\"><tr><th>name</th><th>address</th>"
       "<th>open connections</th><th>accepted</th></tr>";
  for (const auto& l : c.listeners) {
    h += "<tr>" + cell(htmlEscape(l.name)) + cell(htmlEscape(l.address.text())) +
         cell(num(conns_active[l.name])) + cell(num(conns_total[l.name])) + "</tr>";
  }
  h += "</table>";

  h += "<h2>Routes</h2><table id=\"routes\"><tr><th>name</th><th>match</th><th>upstream</th>"
       "<th>filters</th><th>requests</th><th>5xx</th></tr>";
  for (const auto& r : c.routes) {
    std::string m;
    if (r.match.host) m += "host " + *r.match.host + " ";
    if (r.match.path_prefix) m += "prefix " + *r.match.path_prefix + " ";
    if (r.match.path) m += "path " + *r.match.path + " ";
    std::string filters;
    for (const auto& f : r.filters) filters += (filters.empty() ? "" : ", ") + f.name;
    h += "<tr>" + cell(htmlEscape(r.name)) + cell(htmlEscape(m)) +
         cell(htmlEscape(routeTarget(r))) + cell(htmlEscape(filters)) +
         cell(num(route_requests[r.name])) +
         cell(percent(route_5xx[r.name], route_requests[r.name])) + "</tr>";
  }
  h += "</table>";

  h += "<h2>Upstreams</h2><table id=\"upstreams\"><tr><th>upstream</th><th>balancer</th>"
       "<th>target</th><th>weight</th><th>health</th><th>circuit</th><th>active requests</th>"
       "<th>requests</th><th>connect failures</th><th>error rate " +
       std::string(base != nullptr ? "(last " + num(std::round(base_age)) + " s)"
                                   : "(since start)") +
       "</th></tr>";
  // The snapshot's targets: every address a name or an srv record resolved to, keyed as the
  // metrics label them, with the name it was reached by beside it.
  for (const UpstreamRuntime& ur : snap.upstreams) {
    const config::Upstream& u = *ur.config;
    for (const ResolvedTarget& t : ur.targets) {
      std::string key = targetKey(u.name, t.address);
      std::string health = "<span class=\"muted\">unknown</span>", health_cls;
      if (auto it = healthy.find(key); it != healthy.end()) {
        bool up = it->second >= 1;
        health = up ? "healthy" : "unhealthy";
        health_cls = up ? "ok" : "bad";
      }
      std::string weight = std::to_string(t.weight);
      if (const balancer::TargetOverride* o = targetOverride(snap, u.name, t.address)) {
        if (o->drained()) {  // not unhealthy: taken out by the admin API
          health += " (drained)";
          health_cls = "warn";
        }
        if (auto w = o->weight()) weight = std::to_string(*w) + " (config " + weight + ")";
      }
      std::string circ = "<span class=\"muted\">&ndash;</span>", circ_cls;
      if (auto it = circuit.find(key); it != circuit.end()) {
        int st = static_cast<int>(it->second);
        circ = st == 0 ? "closed" : st == 1 ? "open" : "half-open";
        circ_cls = st == 0 ? "ok" : st == 1 ? "bad" : "warn";
      }
      auto a = active.find(key);
      Totals now_t = totals[key];
      Totals recent = now_t;
      if (base != nullptr) {
        auto b = base->find(key);
        if (b != base->end()) {
          recent.attempts -= b->second.attempts;
          recent.errors -= b->second.errors;
        }
      }
      if (recent.attempts <= 0) recent = now_t;  // nothing in the window: the totals since start
      bool failing = recent.attempts > 0 && recent.errors * 2 >= recent.attempts;
      h += "<tr data-upstream=\"" + htmlEscape(u.name) + "\" data-target=\"" +
           htmlEscape(t.address) + "\">" + cell(htmlEscape(u.name)) + cell(htmlEscape(u.balancer)) +
           cell(htmlEscape(t.address) + nameBeside(t)) + cell(weight) + cell(health, health_cls) +
           cell(circ, circ_cls) +
           cell(a == active.end() ? "<span class=\"muted\">&ndash;</span>" : num(a->second)) +
           cell(num(now_t.attempts - connect_failures[key])) + cell(num(connect_failures[key])) +
           cell(percent(recent.errors, recent.attempts), failing ? "bad" : "") + "</tr>";
    }
  }
  h += "</table>";

  h += "<h2>Rate limits</h2><table id=\"ratelimits\"><tr><th>route</th><th>policy</th>"
       "<th>allowed</th><th>limited</th><th>limited share</th><th>keys tracked</th></tr>";
  if (rl.empty() && rl_keys.empty()) {
    h += "<tr><td colspan=\"6\" class=\"muted\">no rate-limit decisions yet</td></tr>";
  }
  for (const auto& [key, p] : rl) {
    size_t nl = key.find('\n');
    auto k = rl_keys.find(key);
    h += "<tr>" + cell(htmlEscape(key.substr(0, nl))) + cell(htmlEscape(key.substr(nl + 1))) +
         cell(num(p.first)) + cell(num(p.second)) + cell(percent(p.second, p.first + p.second)) +
         cell(k == rl_keys.end() ? "&ndash;" : num(k->second)) + "</tr>";
  }
  h += "</table></body></html>\n";

  history_.emplace_back(now, std::move(totals));
  return h;
}

}  // namespace sluice::proxy
