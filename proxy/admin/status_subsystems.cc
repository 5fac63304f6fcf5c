#include "proxy/admin/status_subsystems.h"

#include <cmath>
#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>

#include "proxy/admin/status_page.h"

namespace sluice::proxy {

namespace {

std::string count(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.0f", v);
  return buf;
}

std::string bytesText(double v) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int u = 0;
  double x = v;
  while (std::fabs(x) >= 1024 && u < 4) {
    x /= 1024;
    ++u;
  }
  char buf[48];
  if (u == 0) {
    std::snprintf(buf, sizeof buf, "%.0f B", v);
  } else {
    std::snprintf(buf, sizeof buf, "%.1f %s", x, units[u]);
  }
  return buf;
}

std::string percentText(double part, double whole) {
  if (whole <= 0) return "&ndash;";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f%%", 100.0 * part / whole);
  return buf;
}

// A row of a two-column table: what, then the value shown (the raw number in data-value).
std::string pair(const char* key, const char* label, const std::string& raw,
                 const std::string& shown) {
  return std::string("<tr data-key=\"") + key + "\"><td>" + label + "</td><td data-value=\"" + raw +
         "\">" + shown + "</td></tr>";
}
std::string pair(const char* key, const char* label, double raw, const std::string& shown) {
  return pair(key, label, count(raw), shown);
}

// An integer where the value is one (counters and gauges of counts), else the double.
nlohmann::json number(double v) {
  if (v == std::floor(v) && std::fabs(v) < 9e15) return static_cast<int64_t>(v);
  return v;
}

std::string label(const ExpositionSample& s, const char* name) {
  auto it = s.labels.find(name);
  return it == s.labels.end() ? std::string() : it->second;
}

// null when `whole` is 0, else the share rounded to 4 digits.
nlohmann::json ratio(double part, double whole) {
  if (whole <= 0) return nullptr;
  return std::round(part / whole * 1e4) / 1e4;
}

}  // namespace

double SubsystemTotals::Cache::hitRatio() const {
  double lookups = hits + stale + misses;
  return lookups > 0 ? (hits + stale) / lookups : -1;
}

SubsystemTotals subsystemTotals(const std::vector<ExpositionSample>& samples) {
  SubsystemTotals t;
  std::map<std::string, SubsystemTotals::Compression> comp;
  std::map<std::string, SubsystemTotals::Tls> tls;
  for (const ExpositionSample& s : samples) {
    const std::string& n = s.name;
    if (n == "sluice_cache_requests_total") {
      std::string r = label(s, "result");
      (r == "hit"     ? t.cache.hits
       : r == "miss"  ? t.cache.misses
       : r == "stale" ? t.cache.stale
                      : t.cache.bypass) += s.value;
    } else if (n == "sluice_cache_bytes") {
      t.cache.bytes += s.value;
    } else if (n == "sluice_cache_entries") {
      t.cache.entries += s.value;
    } else if (n == "sluice_cache_evictions_total") {
      t.cache.evictions += s.value;
    } else if (n == "sluice_compression_bytes_in_total") {
      comp[label(s, "encoding")].in += s.value;
    } else if (n == "sluice_compression_bytes_out_total") {
      comp[label(s, "encoding")].out += s.value;
    } else if (n == "sluice_http2_connections_active") {
      t.http2.connections_open += s.value;
    } else if (n == "sluice_http2_connections_total") {
      t.http2.connections_total += s.value;
    } else if (n == "sluice_http2_streams_active") {
      t.http2.streams_open += s.value;
    } else if (n == "sluice_http2_streams_total") {
      t.http2.streams_total += s.value;
    } else if (n == "sluice_http2_protocol_errors_total") {
      t.http2.protocol_errors += s.value;
    } else if (n == "sluice_tls_handshakes_total") {
      tls[label(s, "listener")].handshakes += s.value;
    } else if (n == "sluice_tls_resumptions_total") {
      tls[label(s, "listener")].resumptions += s.value;
    } else if (n == "sluice_tls_handshake_failures_total") {
      tls[label(s, "listener")].failures += s.value;
    }
  }
  t.compression.assign(comp.begin(), comp.end());
  t.tls.assign(tls.begin(), tls.end());
  return t;
}

std::string renderSubsystemsHtml(const SubsystemTotals& t) {
  const auto& c = t.cache;
  double ratio = c.hitRatio();
  std::string h = "<h2>Cache</h2><table id=\"cache\">";
  char ratio_text[32] = "";
  if (ratio >= 0) std::snprintf(ratio_text, sizeof ratio_text, "%.4f", ratio);
  h += pair("hit_ratio", "hit ratio (fresh and stale hits / lookups)", std::string(ratio_text),
            percentText(c.hits + c.stale, c.hits + c.stale + c.misses));
  h += pair("hits", "hits", c.hits, count(c.hits));
  h += pair("stale", "stale hits", c.stale, count(c.stale));
  h += pair("misses", "misses", c.misses, count(c.misses));
  h += pair("bypass", "not cacheable (bypass)", c.bypass, count(c.bypass));
  h += pair("bytes", "bytes stored", c.bytes, bytesText(c.bytes));
  h += pair("entries", "entries", c.entries, count(c.entries));
  h += pair("evictions", "evictions", c.evictions, count(c.evictions));
  h += "</table>";

  h += "<h2>Compression</h2><table id=\"compression\"><tr><th>encoding</th><th>bytes in</th>"
       "<th>bytes out</th><th>bytes saved</th><th>out / in</th></tr>";
  if (t.compression.empty()) {
    h += "<tr><td colspan=\"5\" class=\"muted\">no gzip filter configured</td></tr>";
  }
  for (const auto& [encoding, v] : t.compression) {
    h += "<tr data-encoding=\"" + htmlEscape(encoding) + "\"><td>" + htmlEscape(encoding) +
         "</td><td data-value=\"" + count(v.in) + "\">" + bytesText(v.in) +
         "</td><td data-value=\"" + count(v.out) + "\">" + bytesText(v.out) +
         "</td><td data-value=\"" + count(v.in - v.out) + "\">" + bytesText(v.in - v.out) +
         "</td><td>" + percentText(v.out, v.in) + "</td></tr>";
  }
  h += "</table>";

  const auto& h2 = t.http2;
  h += "<h2>HTTP/2</h2><table id=\"http2\">";
  h += pair("connections_open", "client connections open", h2.connections_open,
            count(h2.connections_open));
  h += pair("connections_total", "client connections since start", h2.connections_total,
            count(h2.connections_total));
  h += pair("streams_open", "streams open", h2.streams_open, count(h2.streams_open));
  h += pair("streams_total", "streams since start", h2.streams_total, count(h2.streams_total));
  h += pair("protocol_errors", "protocol errors and abuse", h2.protocol_errors,
            count(h2.protocol_errors));
  h += "</table>";

  h += "<h2>TLS</h2><table id=\"tls\"><tr><th>listener</th><th>handshakes</th>"
       "<th>resumptions</th><th>resumed share</th><th>failures</th></tr>";
  if (t.tls.empty()) h += "<tr><td colspan=\"5\" class=\"muted\">no TLS handshakes yet</td></tr>";
  for (const auto& [listener, v] : t.tls) {
    h += "<tr data-listener=\"" + htmlEscape(listener) + "\"><td>" + htmlEscape(listener) +
         "</td><td>" + count(v.handshakes) + "</td><td>" + count(v.resumptions) + "</td><td>" +
         percentText(v.resumptions, v.handshakes) + "</td><td" +
         (v.failures > 0 ? " class=\"warn\">" : ">") + count(v.failures) + "</td></tr>";
  }
  h += "</table>";
  return h;
}

void appendSubsystemsJson(nlohmann::json& out, const SubsystemTotals& t) {
  const auto& c = t.cache;
  out["cache"] = {{"hits", number(c.hits)},
                  {"stale_hits", number(c.stale)},
                  {"misses", number(c.misses)},
                  {"bypass", number(c.bypass)},
                  {"hit_ratio", ratio(c.hits + c.stale, c.hits + c.stale + c.misses)},
                  {"bytes", number(c.bytes)},
                  {"entries", number(c.entries)},
                  {"evictions", number(c.evictions)}};
  nlohmann::json comp = nlohmann::json::object();
  double in = 0, outb = 0;
  for (const auto& [encoding, v] : t.compression) {
    comp[encoding] = {{"bytes_in", number(v.in)},
                      {"bytes_out", number(v.out)},
                      {"bytes_saved", number(v.in - v.out)}};
    in += v.in;
    outb += v.out;
  }
  out["compression"] = {{"bytes_in", number(in)},
                        {"bytes_out", number(outb)},
                        {"bytes_saved", number(in - outb)},
                        {"encodings", std::move(comp)}};
  const auto& h2 = t.http2;
  out["http2"] = {{"connections_open", number(h2.connections_open)},
                  {"connections_total", number(h2.connections_total)},
                  {"streams_open", number(h2.streams_open)},
                  {"streams_total", number(h2.streams_total)},
                  {"protocol_errors", number(h2.protocol_errors)}};
  nlohmann::json listeners = nlohmann::json::object();
  double hs = 0, res = 0, fail = 0;
  for (const auto& [listener, v] : t.tls) {
    listeners[listener] = {{"handshakes", number(v.handshakes)},
                           {"resumptions", number(v.resumptions)},
                           {"failures", number(v.failures)}};
    hs += v.handshakes;
    res += v.resumptions;
    fail += v.failures;
  }
  out["tls"] = {{"handshakes", number(hs)},
                {"resumptions", number(res)},
                {"failures", number(fail)},
                {"listeners", std::move(listeners)}};
}

std::string statusExtraSectionsHtml(StatusEvents& events, const base::MetricsRegistry& registry,
                                    double unix_now) {
  return renderEventsHtml(events.view(), unix_now) +
         renderSubsystemsHtml(subsystemTotals(parseExposition(registry.render())));
}

void appendStatusExtrasJson(nlohmann::json& out, StatusEvents& events,
                            const base::MetricsRegistry& registry, double unix_now) {
  appendEventsJson(out, events.view(), unix_now);
  appendSubsystemsJson(out, subsystemTotals(parseExposition(registry.render())));
}

}  // namespace sluice::proxy
