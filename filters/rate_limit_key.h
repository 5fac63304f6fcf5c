// Evaluates a rate-limit `key:` expression on a request (see ratelimit/key_expr.h for the
// grammar). Built once per filter config; evaluate() runs per request on a worker thread.
#pragma once

#include <string>
#include <vector>

#include "config/config.h"
#include "filters/client_address.h"
#include "filters/filter.h"
#include "ratelimit/key_expr.h"

namespace sluice::filters {

class RateLimitKey {
 public:
  // False with `error` set when `expr` is not a key expression.
  bool init(const std::string& expr, const std::vector<config::Cidr>& trusted, std::string& error);

  // Writes the key of this request into `out` (cleared first). A part whose value is absent
  // contributes nothing, so a request without any keyed value gets the empty key.
  // `head` is the request as received, or as edited for upstream when a filter of the route
  // reads the forwarded head.
  void evaluate(const base::RequestHead& head, const StreamInfo& info, std::string& out) const;
  // Whether evaluate() reads request fields that sluice may edit for upstream (a header or
  // cookie part); the path, query, route, consumer and client address (whose X-Forwarded-For walk
  // reads the same from the head as received as from the edited one) do not.
  bool readsFields() const;

 private:
  std::vector<ratelimit::KeyPart> parts_;
  ClientAddress client_{{}};
};

}  // namespace sluice::filters
