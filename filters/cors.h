// The cors filter (spec/gateway.md): sluice answers CORS preflights itself (OPTIONS with Origin
// and Access-Control-Request-Method; never forwarded) and adds the CORS fields to the responses
// of actual requests from allowed origins. The origin is echoed, never `*`; every response of
// the route gets `Vary: Origin`. A preflight from a disallowed origin, or asking for a method
// not listed, is answered 204 without CORS fields (the browser then refuses the request); an
// actual request from a disallowed origin passes without CORS fields. sluice owns the CORS
// fields on the route: those the upstream sent are replaced or removed.
#pragma once

#include <memory>
#include <string>

#include "config/config.h"
#include "filters/filter.h"

namespace sluice::filters {

class CorsFactory final : public FilterFactory {
 public:
  explicit CorsFactory(const config::CorsFilter& cfg);
  std::unique_ptr<Filter> create() const override;

  // Whether `origin` (the Origin field as sent) is one of `origins`; worker thread.
  bool originAllowed(std::string_view origin) const;
  bool methodAllowed(std::string_view method) const;
  const config::CorsFilter& config() const { return cfg_; }
  // Joined once: Access-Control-Allow-Methods / -Headers / -Expose-Headers, Max-Age.
  const std::string& methods() const { return methods_; }
  const std::string& headers() const { return headers_; }
  const std::string& exposeHeaders() const { return expose_; }
  const std::string& maxAge() const { return max_age_; }

 private:
  config::CorsFilter cfg_;
  std::string methods_;
  std::string headers_;
  std::string expose_;
  std::string max_age_;
};

}  // namespace sluice::filters
