#include "filters/redirect.h"

#include "config/units.h"
#include "filters/request_variables.h"

namespace sluice::filters {

namespace {
class RedirectFilter final : public Filter {
 public:
  explicit RedirectFilter(const RedirectFactory& f) : f_(f) {}
  FilterStatus onRequestHeaders(base::RequestHead& head, FilterCallbacks& cb) override {
    std::optional<std::string> to = f_.location(head, cb.info());
    if (!to) {
      // What the request supplied (no Host, a value with a line break) makes no target.
      cb.sendError(400, "the redirect target cannot be built from this request", nullptr);
      return FilterStatus::Stop;
    }
    base::HeaderMap extra;
    extra.add("location", *to);
    // A short body for clients that show it; Location itself is not echoed (it may carry what
    // the client sent).
    std::string body = std::to_string(f_.status()) + " " + base::reasonPhrase(f_.status()) + "\n";
    cb.sendLocalReply(f_.status(), body, &extra);
    return FilterStatus::Stop;
  }

 private:
  const RedirectFactory& f_;
};
}  // namespace

RedirectFactory::RedirectFactory(config::Redirect redirect, std::vector<config::Cidr> trusted)
    : redirect_(std::move(redirect)), client_address_(std::move(trusted)) {
  if (redirect_.to) {
    std::string error;  // validated at load: a parse cannot fail here
    to_ = config::ValueTemplate::parse(*redirect_.to, &error);
    if (!to_) to_ = config::ValueTemplate::literal(*redirect_.to);
  }
}

std::unique_ptr<Filter> RedirectFactory::create() const {
  return std::make_unique<RedirectFilter>(*this);
}

std::optional<std::string> RedirectFactory::location(const base::RequestHead& head,
                                                     const StreamInfo& info) const {
  if (to_) {
    RequestVariables vars(head, info, client_address_);
    return expandHeaderValue(*to_, vars);
  }
  std::string_view host = redirect_.host ? std::string_view(*redirect_.host) : info.original_host;
  if (host.empty()) return std::nullopt;  // an HTTP/1.0 request without Host: nothing to keep
  std::string_view scheme =
      redirect_.scheme ? std::string_view(*redirect_.scheme) : (info.secure ? "https" : "http");
  std::string_view target = info.original_target;
  std::string out;
  out.reserve(scheme.size() + 3 + host.size() + target.size() + 1);
  out.append(scheme).append("://").append(host);
  if (target.empty() || target[0] != '/') out.push_back('/');  // `OPTIONS *`: the root
  if (!target.empty() && target[0] == '/') out.append(target);
  if (!config::isValidHeaderValue(out)) return std::nullopt;
  return out;
}

}  // namespace sluice::filters
