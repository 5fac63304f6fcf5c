#include "proxy/status_page.h"

#include <ctime>

namespace sluice::proxy {

std::string htmlEscape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string renderStatusPage(const Snapshot& snap) {
  const config::Config& c = *snap.config;
  time_t loaded = static_cast<time_t>(snap.loaded_at);
  tm t{};
  gmtime_r(&loaded, &t);
  char when[64];
  strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S UTC", &t);
  std::string h =
      "<!doctype html><html><head><meta charset=\"utf-8\"><title>sluice status</title>"
      "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse;margin-bottom:"
      "1.5em}td,th{border:1px solid #ccc;padding:4px 8px;text-align:left}</style></head><body>";
  h += "<h1>sluice " SLUICE_VERSION "</h1><p>config version " + std::to_string(snap.version) +
       ", loaded " + when + "</p>";
  h += "<h2>Listeners</h2><table><tr><th>name</th><th>address</th></tr>";
  for (const auto& l : c.listeners) {
    h += "<tr><td>" + htmlEscape(l.name) + "</td><td>" + htmlEscape(l.address.text()) + "</td></tr>";
  }
  h += "</table><h2>Routes</h2><table><tr><th>name</th><th>match</th><th>upstream</th></tr>";
  for (const auto& r : c.routes) {
    std::string m;
    if (r.match.host) m += "host " + *r.match.host + " ";
    if (r.match.path_prefix) m += "prefix " + *r.match.path_prefix + " ";
    if (r.match.path) m += "path " + *r.match.path + " ";
    h += "<tr><td>" + htmlEscape(r.name) + "</td><td>" + htmlEscape(m) + "</td><td>" +
         htmlEscape(r.respond ? "(respond)" : r.upstream) + "</td></tr>";
  }
  h += "</table><h2>Upstreams</h2><table><tr><th>upstream</th><th>balancer</th><th>target</th>"
       "<th>weight</th></tr>";
  for (const auto& u : c.upstreams) {
    for (const auto& t2 : u.targets) {
      h += "<tr><td>" + htmlEscape(u.name) + "</td><td>" + htmlEscape(u.balancer) + "</td><td>" +
           htmlEscape(t2.address) + "</td><td>" + std::to_string(t2.weight) + "</td></tr>";
    }
  }
  h += "</table></body></html>\n";
  return h;
}

}  // namespace sluice::proxy
