#include "proxy/admin/status_page.h"

#include <cmath>
#include <cstdio>
#include <ctime>

#include "proxy/admin/status_charts.h"

namespace sluice::proxy {

namespace {
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

const char* kDash = "<span class=\"muted\">&ndash;</span>";

std::string percent(double part, double whole) {
  if (whole <= 0) return "&ndash;";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f%%", 100.0 * part / whole);
  return buf;
}

std::string ms(double v) {
  if (v < 0) return "&ndash;";
  char buf[32];
  std::snprintf(buf, sizeof buf, v < 10 ? "%.2f ms" : "%.0f ms", v);
  return buf;
}

std::string rate(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, v < 10 ? "%.2f" : "%.0f", v);
  return buf;
}

std::string cell(std::string_view text, std::string_view cls = {}) {
  std::string out = cls.empty() ? "<td>" : "<td class=\"" + std::string(cls) + "\">";
  out += text;
  out += "</td>";
  return out;
}

// A cell with the 1-minute figure and, smaller, the 5-minute one.
std::string twoWindows(const std::string& last_1m, const std::string& last_5m,
                       std::string_view cls = {}) {
  return cell(last_1m + " <small>/ " + last_5m + "</small>", cls);
}

// The live columns of a route or target row: req/s, p50, p99, 4xx and 5xx share.
std::string windowCells(const SeriesView& v) {
  const WindowSummary& a = v.last_1m;
  const WindowSummary& b = v.last_5m;
  auto share = [](uint64_t n, const WindowSummary& w) {
    return percent(static_cast<double>(n), static_cast<double>(w.requests));
  };
  bool bad = a.requests > 0 && a.status_5xx * 2 >= a.requests;
  return twoWindows(rate(a.rate), rate(b.rate)) + twoWindows(ms(a.p50_ms), ms(b.p50_ms)) +
         twoWindows(ms(a.p99_ms), ms(b.p99_ms)) +
         twoWindows(share(a.status_4xx, a), share(b.status_4xx, b)) +
         twoWindows(share(a.status_5xx, a), share(b.status_5xx, b), bad ? "bad" : "");
}

const char* kWindowHeads =
    "<th>req/s <small>1m / 5m</small></th><th>p50 <small>1m / 5m</small></th>"
    "<th>p99 <small>1m / 5m</small></th><th>4xx <small>1m / 5m</small></th>"
    "<th>5xx <small>1m / 5m</small></th>";

const char* kStyle =
    "body{font-family:system-ui,sans-serif;margin:1.5em;color:#222}"
    "table{border-collapse:collapse;margin-bottom:1.5em}"
    "td,th{border:1px solid #ccc;padding:4px 8px;text-align:left}th{background:#f3f3f3}"
    ".ok{background:#d9f2d9}.bad{background:#f7c6c6;font-weight:bold}.warn{background:#fbe8b5}"
    ".muted{color:#888}small{color:#666}#stale{background:#f7c6c6;padding:4px 8px}"
    ".charts{display:flex;flex-wrap:wrap;gap:1em 2em;margin-bottom:1.5em}"
    ".charts figure{margin:0}.charts figcaption{font-weight:bold;margin-bottom:2px}"
    "svg.chart{font-size:11px}svg.chart rect{fill:#fafafa;stroke:#ddd}"
    "svg.chart .line{fill:none;stroke:#2a6ebb;stroke-width:1.5}"
    "svg.chart [data-panel=p99]{stroke:#9a5cb4}svg.chart [data-panel=errors]{stroke:#c0392b}"
    "svg.chart .max{fill:#888}";

// Fetches the page again every `refresh` seconds and swaps the body in place, keeping the
// scroll position; a failed fetch shows the "stale" line and keeps the old figures.
const char* kScript =
    "(function(){var h=document.documentElement,s=+h.dataset.refresh||5;"
    "function swap(t){var d=new DOMParser().parseFromString(t,'text/html'),x=scrollX,y=scrollY;"
    "document.body.innerHTML=d.body.innerHTML;scrollTo(x,y);"
    "h.dataset.refreshes=(+h.dataset.refreshes||0)+1}"
    "function tick(){fetch(location.href,{cache:'no-store'}).then(function(r){"
    "if(!r.ok)throw new Error(r.status);return r.text()}).then(swap).catch(function(){"
    "var b=document.getElementById('stale');if(b)b.hidden=false}).finally(function(){"
    "setTimeout(tick,s*1000)})}setTimeout(tick,s*1000)})();";

std::string utc(double unix_seconds) {
  time_t t = static_cast<time_t>(unix_seconds);
  tm tmv{};
  gmtime_r(&t, &tmv);
  char when[64];
  strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S UTC", &tmv);
  return when;
}

std::string chartFigure(const SeriesView& v, std::string_view kind, const std::string& name) {
  return "<figure><figcaption>" + htmlEscape(name) + "</figcaption>" + renderChart(v, kind, name) +
         "</figure>";
}

std::string targetRow(const StatusModel::Upstream& u, const StatusModel::Target& t) {
  std::string health = "<span class=\"muted\">unknown</span>", health_cls;
  if (t.health >= 0) {
    health = t.health == 1 ? "healthy" : "unhealthy";
    health_cls = t.health == 1 ? "ok" : "bad";
  }
  if (t.drained) {  // not unhealthy: taken out by the admin API
    health += " (drained)";
    health_cls = "warn";
  }
  std::string weight = std::to_string(t.weight);
  if (t.override_weight) {
    weight = std::to_string(*t.override_weight) + " (config " + weight + ")";
  }
  std::string circ = kDash, circ_cls;
  if (t.circuit >= 0) {
    circ = t.circuit == 0 ? "closed" : t.circuit == 1 ? "open" : "half-open";
    circ_cls = t.circuit == 0 ? "ok" : t.circuit == 1 ? "bad" : "warn";
  }
  bool recent = false;
  double share = targetErrorShare(t, &recent);
  std::string error_rate = share < 0 ? "&ndash;" : percent(share, 1);
  if (share >= 0 && !recent) error_rate += " <small>since start</small>";
  std::string beside =
      t.name.empty() ? "" : " <span class=\"muted\">(" + htmlEscape(t.name) + ")</span>";
  return "<tr data-upstream=\"" + htmlEscape(u.name) + "\" data-target=\"" + htmlEscape(t.address) +
         "\">" + cell(htmlEscape(u.name)) + cell(htmlEscape(u.balancer)) +
         cell(htmlEscape(t.address) + beside) + cell(weight) + cell(health, health_cls) +
         cell(circ, circ_cls) + cell(t.active ? num(*t.active) : kDash) + cell(num(t.responses)) +
         cell(num(t.connect_failures)) + cell(error_rate, share >= 0.5 ? "bad" : "") +
         windowCells(t.window) + "</tr>";
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

int statusRefreshSeconds(std::string_view query) {
  size_t pos = 0;
  while (pos <= query.size()) {
    size_t amp = query.find('&', pos);
    std::string_view kv = query.substr(pos, amp == std::string_view::npos ? amp : amp - pos);
    if (kv.starts_with("refresh=") && kv.size() > 8 && kv.size() <= 12) {
      int n = 0;
      for (char c : kv.substr(8)) {
        if (c < '0' || c > '9') return kStatusRefreshSeconds;
        n = n * 10 + (c - '0');
      }
      return n >= 1 && n <= 3600 ? n : kStatusRefreshSeconds;
    }
    if (amp == std::string_view::npos) break;
    pos = amp + 1;
  }
  return kStatusRefreshSeconds;
}

std::string renderStatusPage(const StatusModel& m, std::string_view extra, int refresh) {
  std::string r = std::to_string(refresh);
  std::string h = "<!doctype html><html lang=\"en\" data-refresh=\"" + r +
                  "\"><head><meta charset=\"utf-8\"><noscript><meta http-equiv=\"refresh\" "
                  "content=\"" +
                  r + "\"></noscript><title>sluice status</title><style>";
  h += kStyle;
  h += "</style><script>";
  h += kScript;
  h += "</script></head><body data-generated=\"" + num(std::floor(m.generated_at * 1000)) + "\">";
  h += "<h1>sluice " SLUICE_VERSION "</h1><p id=\"summary\">config version " +
       std::to_string(m.version) + ", loaded " + utc(m.loaded_at) + " &middot; " +
       (m.draining ? "<span class=\"bad\">draining</span>" : "<span class=\"ok\">serving</span>") +
       " &middot; <small>as of " + utc(m.generated_at) + ", refreshes every " + r +
       " s; 1m / 5m: the last 1 and 5 minutes</small></p>"
       "<p id=\"stale\" hidden>could not refresh: the figures below are old</p>";

  h += "<h2>Listeners</h2><table id=\"listeners\"><tr><th>name</th><th>address</th>"
       "<th>open connections</th><th>accepted</th></tr>";
  for (const auto& l : m.listeners) {
    h += "<tr>" + cell(htmlEscape(l.name)) + cell(htmlEscape(l.address)) + cell(num(l.open)) +
         cell(num(l.accepted)) + "</tr>";
  }
  h += "</table>";

  h += "<h2>Routes</h2><table id=\"routes\"><tr><th>name</th><th>match</th><th>upstream</th>"
       "<th>filters</th><th>requests</th><th>5xx</th>";
  h += kWindowHeads;
  h += "</tr>";
  for (const auto& rt : m.routes) {
    std::string filters;
    for (const auto& f : rt.filters) filters += (filters.empty() ? "" : ", ") + f;
    h += "<tr data-route=\"" + htmlEscape(rt.name) + "\">" + cell(htmlEscape(rt.name)) +
         cell(htmlEscape(rt.match)) + cell(htmlEscape(rt.target)) + cell(htmlEscape(filters)) +
         cell(num(rt.requests)) + cell(percent(rt.status_5xx, rt.requests)) +
         windowCells(rt.window) + "</tr>";
  }
  h += "</table>";
  h += "<h2>Route traffic, last 5 minutes</h2><div class=\"charts\" id=\"route-charts\">";
  for (const auto& rt : m.routes) h += chartFigure(rt.window, "route", rt.name);
  h += "</div>";

  h += "<h2>Upstreams</h2><table id=\"upstreams\"><tr><th>upstream</th><th>balancer</th>"
       "<th>target</th><th>weight</th><th>health</th><th>circuit</th><th>active requests</th>"
       "<th>requests</th><th>connect failures</th><th>error rate <small>1m</small></th>";
  h += kWindowHeads;
  h += "</tr>";
  for (const auto& u : m.upstreams) {
    for (const auto& t : u.targets) h += targetRow(u, t);
  }
  h += "</table>";
  h += "<h2>Upstream traffic, last 5 minutes</h2><div class=\"charts\" id=\"upstream-charts\">";
  for (const auto& u : m.upstreams) h += chartFigure(u.window, "upstream", u.name);
  h += "</div>";

  h += "<h2>Rate limits</h2><table id=\"ratelimits\"><tr><th>route</th><th>policy</th>"
       "<th>allowed</th><th>limited</th><th>limited share</th><th>keys tracked</th></tr>";
  if (m.ratelimits.empty()) {
    h += "<tr><td colspan=\"6\" class=\"muted\">no rate-limit decisions yet</td></tr>";
  }
  for (const auto& rl : m.ratelimits) {
    h += "<tr>" + cell(htmlEscape(rl.route)) + cell(htmlEscape(rl.policy)) + cell(num(rl.allowed)) +
         cell(num(rl.limited)) + cell(percent(rl.limited, rl.allowed + rl.limited)) +
         cell(rl.keys ? num(*rl.keys) : "&ndash;") + "</tr>";
  }
  h += "</table>";
  h += extra;
  h += "</body></html>\n";
  return h;
}

}  // namespace sluice::proxy
