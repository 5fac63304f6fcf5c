// Parsers for the process-wide sections: workers, listeners, admin, limits, trusted_proxies,
// access_log and rate_limit_store (spec/config.md).
#include <thread>

#include "config/log_template.h"
#include "config/sections.h"
#include "config/units.h"

namespace sluice::config {

std::optional<Certificate> parseCertificate(Reader& r, const YAML::Node& node,
                                            const std::string& what) {
  MapReader m(r, node, what, {"cert", "key"});
  if (!m.ok()) return std::nullopt;
  Certificate c;
  bool ok = m.require("cert", "{cert: tls/example.crt, key: tls/example.key}");
  ok = m.require("key", "{cert: tls/example.crt, key: tls/example.key}") && ok;
  ok = m.readPath("cert", &c.cert) && ok;
  ok = m.readPath("key", &c.key) && ok;
  if (!ok) return std::nullopt;
  checkCertificateFiles(r, m.get("cert"), m.get("key"), c);
  return c;
}

namespace {

ListenerTls parseListenerTls(Reader& r, const YAML::Node& node) {
  ListenerTls tls;
  MapReader m(r, node, "tls", {"certificates", "min_version", "alpn", "client_ca"});
  if (!m.ok()) return tls;
  if (m.require("certificates", "certificates: [{cert: a.crt, key: a.key}]")) {
    if (auto items = r.list(m.get("certificates"), "certificates")) {
      if (items->empty()) r.error(m.get("certificates"), "certificates: list at least one");
      for (size_t i = 0; i < items->size(); ++i) {
        auto c = parseCertificate(r, (*items)[i], "certificates[" + std::to_string(i) + "]");
        if (c) tls.certificates.push_back(std::move(*c));
      }
    }
  }
  if (m.readString("min_version", &tls.min_version) && tls.min_version != "TLSv1.2" &&
      tls.min_version != "TLSv1.3") {
    r.error(m.get("min_version"), "min_version: \"" + tls.min_version +
                                      "\" is not a TLS version; write TLSv1.2 or TLSv1.3");
  }
  if (m.readStrings("alpn", &tls.alpn)) {
    // Advertising a protocol sluice does not speak would break clients.
    for (const auto& p : tls.alpn) {
      if (p != "http/1.1" && p != "h2") {
        r.error(m.get("alpn"),
                "alpn: \"" + p + "\" is not a protocol sluice speaks; write [h2, http/1.1]");
      }
    }
  }
  std::string ca;
  if (m.readPath("client_ca", &ca)) tls.client_ca = ca;
  return tls;
}

Http2Settings parseHttp2(Reader& r, const YAML::Node& node) {
  Http2Settings h;
  MapReader m(r, node, "http2",
              {"max_concurrent_streams", "initial_stream_window", "initial_connection_window",
               "max_frame_size", "max_header_list_size", "h2c"});
  if (!m.ok()) return h;
  m.readInt("max_concurrent_streams", &h.max_concurrent_streams, 1, 1'000'000);
  // RFC 9113 §6.5.2 bounds: windows up to 2^31-1, frames 16 KiB to 16 MiB - 1.
  m.readSize("initial_stream_window", &h.initial_stream_window, 0);
  if (h.initial_stream_window > 0x7fffffff) {
    r.error(m.get("initial_stream_window"), "initial_stream_window: at most 2147483647 bytes");
  }
  m.readSize("initial_connection_window", &h.initial_connection_window, 65535);
  if (h.initial_connection_window > 0x7fffffff) {
    r.error(m.get("initial_connection_window"),
            "initial_connection_window: at most 2147483647 bytes");
  }
  m.readSize("max_frame_size", &h.max_frame_size, 16384);
  if (h.max_frame_size > 16777215) {
    r.error(m.get("max_frame_size"), "max_frame_size: 16KiB to 16777215 bytes (RFC 9113)");
  }
  m.readSize("max_header_list_size", &h.max_header_list_size, 1);
  m.readBool("h2c", &h.h2c);
  return h;
}

}  // namespace

std::optional<uint32_t> parseWorkers(Reader& r, const YAML::Node& node) {
  if (node.IsScalar() && node.Scalar() == "auto") {
    unsigned n = std::thread::hardware_concurrency();
    return n == 0 ? 1 : n;  // 0 means "unknown"; one loop still serves
  }
  if (node.IsScalar() && !node.Scalar().empty() &&
      (node.Scalar()[0] == '-' || (node.Scalar()[0] >= '0' && node.Scalar()[0] <= '9'))) {
    auto v = r.integer(node, "workers", 1, 1024);
    if (v) return static_cast<uint32_t>(*v);
    return std::nullopt;
  }
  r.error(node,
          "workers: expected auto or a number of threads of at least 1, got " + describeNode(node));
  return std::nullopt;
}

Listener parseListener(Reader& r, const YAML::Node& node) {
  Listener l;
  MapReader m(r, node, "listener",
              {"name", "address", "proxy_protocol", "defer_accept", "tls", "http2"});
  if (!m.ok()) return l;
  m.readName("name", &l.name);
  if (m.require("address", "address: 0.0.0.0:8080")) m.readAddress("address", &l.address);
  m.readBool("proxy_protocol", &l.proxy_protocol);
  m.readBool("defer_accept", &l.defer_accept);
  if (m.has("tls")) l.tls = parseListenerTls(r, m.get("tls"));
  if (m.has("http2")) {
    l.http2 = parseHttp2(r, m.get("http2"));
    if (l.http2.h2c && l.tls) {
      r.error(m.get("http2"),
              "http2.h2c: cleartext HTTP/2 is for plain listeners; a TLS listener offers h2 "
              "by ALPN (tls.alpn: [h2, http/1.1])");
    }
  }
  return l;
}

Admin parseAdmin(Reader& r, const YAML::Node& node) {
  Admin a;
  MapReader m(r, node, "admin", {"address"});
  Address addr;
  if (m.readAddress("address", &addr)) a.address = addr;
  return a;
}

Limits parseLimits(Reader& r, const YAML::Node& node) {
  Limits l;
  MapReader m(r, node, "limits",
              {"max_connections", "max_header_bytes", "max_headers", "max_body_bytes",
               "header_timeout", "idle_timeout", "drain_timeout", "send_timeout"});
  m.readInt("max_connections", &l.max_connections, 1, 10'000'000);
  m.readSize("max_header_bytes", &l.max_header_bytes, 1);
  m.readInt("max_headers", &l.max_headers, 1, 100'000);
  m.readSize("max_body_bytes", &l.max_body_bytes, 0);
  m.readDuration("header_timeout", &l.header_timeout);
  m.readDuration("idle_timeout", &l.idle_timeout);
  m.readDuration("drain_timeout", &l.drain_timeout);
  m.readDuration("send_timeout", &l.send_timeout);
  return l;
}

std::vector<Cidr> parseTrustedProxies(Reader& r, const YAML::Node& node) {
  std::vector<Cidr> out;
  auto items = r.list(node, "trusted_proxies");
  if (!items) return out;
  for (size_t i = 0; i < items->size(); ++i) {
    auto text = r.string((*items)[i], "trusted_proxies[" + std::to_string(i) + "]");
    if (!text) continue;
    auto c = parseCidr(*text);
    if (c) {
      out.push_back(*c);
    } else {
      r.error((*items)[i], "trusted_proxies: " + c.error());
    }
  }
  return out;
}

AccessLog parseAccessLog(Reader& r, const YAML::Node& node) {
  AccessLog a;
  MapReader m(r, node, "access_log", {"path", "format"});
  std::string path;
  if (m.readString("path", &path)) {
    if (path.empty()) {
      r.error(m.get("path"), "path: the path is empty; write stdout, stderr, off or a file path");
    } else if (path == "stdout" || path == "stderr" || path == "off") {
      a.path = path;
    } else {
      a.path = r.resolvePath(path);
      checkAccessLogPath(r, m.get("path"), a.path);
    }
  }
  std::string format;
  if (m.readString("format", &format)) {
    if (format == "json") {
      a.format = AccessLogFormat::Json;
    } else if (format == "combined") {
      a.format = AccessLogFormat::Combined;
    } else if (format.find('$') != std::string::npos) {
      std::string error = checkAccessLogTemplate(format);
      if (!error.empty()) r.error(m.get("format"), "format: " + error);
      a.format = AccessLogFormat::Template;
      a.line_template = format;
    } else {
      r.error(m.get("format"), "format: \"" + format +
                                   "\" is not a log format; write json, combined or a template "
                                   "such as '$remote \"$method $path\" $status'");
    }
  }
  return a;
}

namespace {

// The Sentinel form: `sentinels: [host:port, ...]` and `master: NAME`, optionally `db`; the
// single-server `redis` URL is refused beside it (one store, named one way).
void parseSentinelStore(MapReader& m, RateLimitStore& s) {
  Reader& r = m.reader();
  if (m.has("redis")) {
    r.error(m.keyNode("redis"),
            "redis: not with sentinels; name one Redis server (redis) or the Sentinels that "
            "know its master (sentinels + master)");
  }
  if (m.require("sentinels", "sentinels: [127.0.0.1:26379]") && m.has("sentinels")) {
    r.addressList(m.get("sentinels"), "sentinels",
                  "sentinels: the list is empty; name at least one host:port", &s.sentinels);
  }
  if (m.require("master", "master: mymaster") && m.readString("master", &s.master)) {
    if (s.master.empty() || s.master.find_first_of(" \t\r\n") != std::string::npos) {
      r.error(m.get("master"), "master: \"" + s.master +
                                   "\" is not a master name; write the name the Sentinels "
                                   "monitor, e.g. mymaster");
    }
  }
  m.readInt("db", &s.db, 0, 1 << 20);
}

}  // namespace

RateLimitStore parseRateLimitStore(Reader& r, const YAML::Node& node) {
  RateLimitStore s;
  MapReader m(r, node, "rate_limit_store", {"redis", "sentinels", "master", "db", "on_error"});
  if (!m.ok()) return s;
  if (m.has("sentinels") || m.has("master")) {
    parseSentinelStore(m, s);
  } else if (m.has("db")) {
    r.error(m.keyNode("db"),
            "db: only with sentinels; the redis URL names its db "
            "(redis://127.0.0.1:6379/0)");
  } else if (m.require("redis", "redis: redis://127.0.0.1:6379/0") &&
             m.readString("redis", &s.redis)) {
    bool scheme = s.redis.rfind("redis://", 0) == 0 || s.redis.rfind("rediss://", 0) == 0;
    if (!scheme || s.redis.size() <= s.redis.find("//") + 2) {
      r.error(m.get("redis"),
              "redis: \"" + s.redis + "\" is not a Redis URL; write e.g. redis://127.0.0.1:6379/0");
    }
  }
  std::string on_error;
  if (m.readString("on_error", &on_error)) {
    if (on_error == "local") {
      s.on_error = RateLimitOnError::Local;
    } else if (on_error == "allow") {
      s.on_error = RateLimitOnError::Allow;
    } else if (on_error == "deny") {
      s.on_error = RateLimitOnError::Deny;
    } else {
      r.error(m.get("on_error"),
              "on_error: \"" + on_error + "\" is not a choice; write local, allow or deny");
    }
  }
  return s;
}

}  // namespace sluice::config
