#include "filters/ext_auth.h"

namespace sluice::filters {

namespace {
// Fields of the auth service's answer that are not relayed: sluice writes its own framing, and
// the Via and Date the fetch added describe the subrequest.
bool relayed(std::string_view name) {
  return name != "content-length" && name != "transfer-encoding" && name != "via" &&
         name != "date" && name != "connection" && name != "keep-alive";
}

class ExtAuth final : public Filter {
 public:
  explicit ExtAuth(const ExtAuthFactory& f) : f_(f) {}

  FilterStatus onRequestHeaders(base::RequestHead& head, FilterCallbacks& cb) override {
    const config::ExtAuthFilter& cfg = f_.config();
    // Only the auth service speaks for these: a client-sent field of the name never passes.
    for (const std::string& h : cfg.copy_headers) head.headers.remove(h);
    const StreamInfo& info = cb.info();
    base::RequestHead check;
    check.method = "GET";
    check.target = cfg.path;
    for (const std::string& name : cfg.send_headers) {
      for (const base::Header& h : head.headers) {
        if (h.name == name) check.headers.add(h.name, h.value);
      }
    }
    // The request's X-Forwarded-For already ends with the peer (the proxy appended it).
    const std::string* xff = head.headers.get("x-forwarded-for");
    check.headers.add("x-forwarded-for", xff != nullptr ? *xff : std::string(info.client_ip));
    check.headers.add("x-forwarded-host", std::string(info.original_host));
    check.headers.add("x-forwarded-method", head.method);
    check.headers.add("x-forwarded-uri", std::string(info.original_target));
    check.headers.add("x-original-method", head.method);
    check.headers.add("x-original-uri", std::string(info.original_target));
    if (!info.request_id.empty()) check.headers.add("x-request-id", std::string(info.request_id));
    head_ = &head;  // the request's own head: it outlives this filter's wait
    std::shared_ptr<Waker> waker = cb.waker();
    cb.fetchFromUpstream(cfg.upstream, std::move(check), kExtAuthMaxBody, cfg.timeout,
                         [this, waker](std::optional<BackgroundResponse> answer) {
                           // Back on this request's thread, and only if it is still there.
                           waker->wake([this, answer = std::move(answer)](FilterCallbacks& cb) {
                             decide(answer, cb);
                           });
                         });
    return FilterStatus::Stop;
  }

  bool wantsResponseHeaders() const override { return false; }

 private:
  void decide(const std::optional<BackgroundResponse>& answer, FilterCallbacks& cb) {
    const config::ExtAuthFilter& cfg = f_.config();
    if (!answer) {
      f_.counters().error->inc();
      if (cfg.allow_on_error) {
        cb.continueRequest();
      } else {
        cb.sendError(503, "authorization service unavailable", nullptr);
      }
      return;
    }
    if (answer->status >= 200 && answer->status < 300) {
      f_.counters().allowed->inc();
      for (const std::string& name : cfg.copy_headers) {
        for (const base::Header& h : answer->headers) {
          if (h.name == name) head_->headers.add(h.name, h.value);
        }
      }
      cb.continueRequest();
      return;
    }
    f_.counters().denied->inc();
    base::HeaderMap fields;
    for (const base::Header& h : answer->headers) {
      if (relayed(h.name)) fields.add(h.name, h.value);
    }
    cb.sendLocalReply(answer->status, answer->body, &fields);
  }

  const ExtAuthFactory& f_;
  base::RequestHead* head_ = nullptr;
};
}  // namespace

std::unique_ptr<Filter> ExtAuthFactory::create() const {
  return std::make_unique<ExtAuth>(*this);
}

}  // namespace sluice::filters
