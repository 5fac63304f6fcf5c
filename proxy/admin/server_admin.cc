// The admin listener's endpoints (spec/operations.md "Admin listener"), answered on the main
// loop from the Server's state.
#include "config/json_dump.h"
#include "filters/cache_store.h"
#include "proxy/admin/metrics_negotiation.h"
#include "proxy/admin/runtime_api.h"
#include "proxy/admin/status_json.h"
#include "proxy/admin/status_page.h"
#include "proxy/admin/status_subsystems.h"
#include "proxy/runtime/server.h"

namespace sluice::proxy {

std::string Server::configJson() const {
  return "{\"version\":" + std::to_string(snapshot_->version) +
         ",\"loaded_at\":" + std::to_string(snapshot_->loaded_at) +
         ",\"config\":" + config::toJson(*snapshot_->config) + "}\n";
}

// Each admin path allows its methods; another method gets 405 with Allow (RFC 9110 §15.5.6),
// and a path that is not here gets 404 whatever the method.
void Server::handleAdmin(const AdminRequest& req, AdminResponder respond) {
  const std::string& p = req.path;
  const char* kText = "text/plain; charset=utf-8";
  if (isRuntimeApiPath(p)) {  // /upstreams...: JSON, with its own methods and errors
    respond(runtimeApi(req, *snapshot_, static_cast<int64_t>(uv_now(&loop_))));
    return;
  }
  bool post_only = p == "/reload" || p == "/cache/purge";
  bool get_only = p == "/healthz" || p == "/readyz" || p == "/metrics" || p == "/config" ||
                  p == "/status" || p == "/status.json";
  if (!post_only && !get_only) {
    respond({404, kText, "not found\n"});
    return;
  }
  bool get = req.method == "GET" || req.method == "HEAD";
  if (post_only && req.method != "POST") {
    respond(
        {405, kText,
         p == "/reload" ? "use POST /reload\n" : "use POST /cache/purge?key=... or ?prefix=...\n",
         "POST"});
    return;
  }
  if (get_only && !get) {
    respond({405, kText, "use GET " + p + "\n", "GET, HEAD"});
    return;
  }
  if (p == "/reload") {
    // Both outcomes are JSON; `version` is the config served after the attempt.
    reload([this, respond](bool ok, const std::vector<std::string>& errors) {
      std::string body = std::string("{\"result\":\"") + (ok ? "success" : "failure") +
                         "\",\"version\":" + std::to_string(version_);
      if (!ok) {
        body += ",\"errors\":[";
        for (size_t i = 0; i < errors.size(); ++i) {
          body += (i > 0 ? "," : "") + config::jsonQuote(errors[i]);
        }
        body += "]";
      }
      respond({ok ? 200 : 400, "application/json", body + "}\n"});
    });
  } else if (p == "/cache/purge") {
    purgeCache(req, std::move(respond));
  } else if (p == "/healthz") {
    respond({200, kText, "ok\n"});
  } else if (p == "/readyz") {
    bool ready = ready_ && !stopping_;
    respond({ready ? 200 : 503, kText, ready ? "ready\n" : "draining\n"});
  } else if (p == "/metrics") {
    if (prefersOpenMetrics(req.accept)) {
      respond({200, kOpenMetricsContentType, metrics_.registry.renderOpenMetrics()});
    } else {
      respond({200, "text/plain; version=0.0.4; charset=utf-8", metrics_.registry.render()});
    }
  } else if (p == "/config") {
    respond({200, "application/json", configJson()});
  } else {
    // /status and /status.json: the same model, as a page or as JSON.
    uv_update_time(&loop_);  // the workers' clock, fresh: the windows' current slot
    timespec ts{};
    clock_gettime(CLOCK_REALTIME, &ts);
    double unix_now = static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
    StatusModel model = collectStatus(*snapshot_, metrics_.registry,
                                      static_cast<int64_t>(uv_now(&loop_)), unix_now, stopping_);
    if (p == "/status.json") {
      nlohmann::json j = statusJson(model);
      // Sections of other files add their keys to `j` here.
      appendStatusExtrasJson(j, events_, metrics_.registry, unix_now);
      respond({200, "application/json",
               j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n"});
    } else {
      std::string extra;  // HTML sections of other files, after the built-in ones
      extra += statusExtraSectionsHtml(events_, metrics_.registry, unix_now);
      respond({200, "text/html; charset=utf-8",
               renderStatusPage(model, extra, statusRefreshSeconds(req.query))});
    }
  }
}

}  // namespace sluice::proxy
