// The max_body filter: a route's own limit on the request body. A Content-Length over it is
// answered 413 before the upstream is contacted; a body without one (chunked) is counted as it
// streams through the request-body phase, and 413 is answered the moment it goes over -- the
// upstream, if it was already asked, never sees the request end, so it never takes a truncated
// body for a whole one.
#pragma once

#include <cstdint>
#include <memory>

#include "config/config.h"
#include "filters/filter.h"

namespace sluice::filters {

class MaxBodyFactory final : public FilterFactory {
 public:
  explicit MaxBodyFactory(const config::MaxBodyFilter& cfg) : bytes_(cfg.bytes) {}
  std::unique_ptr<Filter> create() const override;
  bool needsRequestBody() const override { return true; }
  bool readsForwardedHead() const override { return false; }  // Content-Length, never edited

 private:
  uint64_t bytes_;
};

}  // namespace sluice::filters
