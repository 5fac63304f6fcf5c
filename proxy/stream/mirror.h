// Request mirroring (spec/gateway.md, Routing): a copy of a selected request (its head as sent
// upstream, its body when whole and at most 64 KiB) goes to the route's `mirror.upstream` as a
// BackgroundFetch -- the shared upstream path, one try, never retried -- and the client's
// exchange never waits for it. With `compare: true` the client's answer (status class, body
// hash) and the mirror's are compared once both are known, whichever ends first, and counted
// in sluice_mirror_requests_total. Mirrors in flight are bounded per worker and route; a
// request over the bound, or with a body too large, is not mirrored (sluice_mirror_dropped_total).
// Worker thread.
#pragma once

#include <cstddef>
#include <memory>
#include <string_view>

#include "proxy/http1/http_serialize.h"
#include "proxy/runtime/snapshot.h"

namespace sluice::proxy {

class WorkerContext;
struct MirrorPair;  // the two answers of one mirrored request (mirror.cc)

// The largest request body that is mirrored (the body an Exchange gathers before it contacts
// the upstream, kBodyBufferLimit).
inline constexpr size_t kMirrorBodyLimit = 64 * 1024;

// The client's side of one compared mirror, held by its Exchange: it reports the primary's
// answer as it streams. Empty (false) when there is nothing to report: the request was not
// mirrored, or it was without `compare`. It holds nothing of the exchange; the mirror holds
// nothing of the exchange either, so either may end first.
class MirrorTap {
 public:
  MirrorTap() = default;
  MirrorTap(MirrorTap&& other) noexcept = default;
  MirrorTap& operator=(MirrorTap&& other) noexcept;
  MirrorTap(const MirrorTap&) = delete;
  MirrorTap& operator=(const MirrorTap&) = delete;
  // A primary that did not end whole (client gone, response cut, sluice's own reply) is reported
  // as incomplete here.
  ~MirrorTap();

  // Called by Exchange::dispatch for a route with `mirror:` when the request goes upstream:
  // picks the request by `percent`, checks the body (`body_whole`: `body` is all of it) and
  // the in-flight bound, and starts the copy of `head` (with sluice's proxy fields added from
  // `add` when the head does not carry them yet, else null) and `body`. The copy starts on a
  // later loop turn; this returns at once.
  static MirrorTap start(WorkerContext& ctx, const SnapshotPtr& snapshot, const RouteRuntime& route,
                         const base::RequestHead& head, const ProxiedRequestFields* add,
                         std::string_view body, bool body_whole);

  explicit operator bool() const { return pair_ != nullptr; }
  // The primary's final head (not 1xx), its body bytes as the upstream sent them (before
  // response body filters, as the mirror's are), and its end.
  void onResponseHead(int status);
  void onResponseBody(const char* data, size_t len);
  void onResponseComplete();

 private:
  void release();

  std::shared_ptr<MirrorPair> pair_;
};

}  // namespace sluice::proxy
