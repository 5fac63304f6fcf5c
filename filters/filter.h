// The filter API: a route's filters see each request in phases (STYLE.md §4). A FilterFactory is
// built once per config snapshot and is immutable; it creates one tiny Filter per request.
// Request phases run in config order, response phases in reverse. Every phase defaults to a
// no-op returning Continue, so a filter overrides only what it uses.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "filters/base/http_message.h"
#include "filters/worker_services.h"

namespace sluice::filters {

enum class FilterStatus {
  Continue,  // go on to the next filter / phase
  Stop,      // the filter answered (sendLocalReply) or will resume later (continueRequest)
};

class FilterCallbacks;

// Wakes a request that a filter stopped, from any thread: `fn` runs on the request's own worker
// thread with its callbacks, or not at all when the request has ended meanwhile.
class Waker {
 public:
  virtual ~Waker() = default;
  virtual void wake(std::function<void(FilterCallbacks&)> fn) = 0;
};

// Access-log fields that filters fill in (spec/operations.md access log).
enum class LogField { Cache, RateLimit };

// The claims of a token a jwt filter verified: every top-level claim that is a string, number or
// boolean, as text (numbers as JSON writes them). Immutable; shared by the filter's cache of
// verified tokens and the requests that presented the token.
struct JwtClaims {
  std::vector<std::pair<std::string, std::string>> values;
  const std::string* find(std::string_view name) const {
    for (const auto& [k, v] : values) {
      if (k == name) return &v;
    }
    return nullptr;
  }
};

// What a filter may know about the request it is in. Filled by the proxy before the chain runs.
struct StreamInfo {
  std::string_view client_ip;                    // the peer address, textual
  const unsigned char* client_addr16 = nullptr;  // the same as 16 bytes (IPv4 mapped), if known
  std::string_view route_name;                   // the matched route
  std::string_view request_id;
  std::string_view original_host;    // Host as the client sent it
  std::string_view original_target;  // request target as the client sent it (origin-form)
  bool secure = false;               // the client's connection is TLS (scheme https)
  std::chrono::steady_clock::time_point start;
  // The identity an auth filter (api_key, basic_auth) established, empty until one did: the
  // rate-limit key `consumer`. Set through FilterCallbacks::setConsumer.
  std::string_view consumer;
  // The claims of the token a jwt filter verified, or null: the rate-limit key `jwt:CLAIM`. Set
  // through FilterCallbacks::setJwtClaims.
  const JwtClaims* jwt_claims = nullptr;
};

// The whole response to a request a filter sent with FilterCallbacks::fetchInBackground.
struct BackgroundResponse {
  int status = 0;
  base::HeaderMap headers;  // as response filters would see them: hop-by-hop fields (and
                            // Content-Length) removed, Via and Date added
  std::string body;         // the whole body, de-chunked
};
using BackgroundDone = std::function<void(std::optional<BackgroundResponse>)>;

// The proxy side of a request, handed to filters. Called on the worker thread that owns the
// request; never retained past onComplete.
class FilterCallbacks {
 public:
  virtual ~FilterCallbacks() = default;
  // Answers the request from sluice itself; later request phases and the upstream are skipped,
  // response phases of the filters before this one still run. `extra` fields are added.
  virtual void sendLocalReply(int status, std::string_view body, const base::HeaderMap* extra) = 0;
  // An error reply in sluice's own format (spec/operations.md): `message` (or the reason
  // phrase) with the request id, as text or as JSON when the client's Accept prefers it.
  virtual void sendError(int status, std::string_view message, const base::HeaderMap* extra) {
    (void)message;
    sendLocalReply(status, {}, extra);
  }
  // Resumes a chain that returned Stop from onRequestHeaders without replying.
  virtual void continueRequest() = 0;
  // Calls continueRequest() after `delay` on the request's own loop (e.g. a leaky bucket).
  virtual void continueRequestAfter(std::chrono::milliseconds delay) = 0;
  virtual const StreamInfo& info() const = 0;
  // The services of the request's worker thread, for filters that keep per-worker state or do
  // I/O of their own (e.g. a Redis client per worker).
  virtual WorkerServices& services() const = 0;
  // A handle to resume this request later from any thread (e.g. a cache fill on another worker).
  virtual std::shared_ptr<Waker> waker() = 0;
  // The request head as it will go upstream (forwarding fields added, prefix stripped); the
  // client's own host and target are in info().
  virtual const base::RequestHead& request() const = 0;
  // Sets an access-log field of this request (e.g. cache "hit", ratelimit "limited"); `value`
  // must be a string literal or otherwise outlive the request.
  virtual void setLogField(LogField field, std::string_view value) = 0;
  // Records the identity an auth filter established for this request (the api_key consumer,
  // the basic_auth user): info().consumer from now on. The proxy keeps its own copy.
  virtual void setConsumer(std::string_view name) {}
  // Records the claims of the token a jwt filter verified: info().jwt_claims from now on (the
  // proxy holds the reference for the rest of the request).
  virtual void setJwtClaims(std::shared_ptr<const JwtClaims> claims) {}
  // Marks query parameter `name` as a credential (an api_key from the query): the access log
  // shows its value masked. The proxy implements it.
  virtual void redactQueryParameter(std::string_view name) {}
  // Sends a request of sluice's own to the route's upstream, detached from this request (e.g. a
  // cache refresh): the same target choice as the client's request (balancer, health, circuit
  // breaker, max_requests) and the same upstream timeouts, a pooled connection when one is idle.
  // `head` goes as given (no body); its response is gathered whole. `done` runs once, on this
  // worker's thread, never before fetchInBackground returns and also when this request has
  // ended meanwhile; it gets nullopt when the upstream failed, timed out, sent more than
  // `max_body` body bytes or was not reachable (no upstream, none available, draining). The
  // route's filter factories (the config snapshot) stay alive until `done` has run.
  virtual void fetchInBackground(base::RequestHead head, size_t max_body, BackgroundDone done) = 0;
  // As fetchInBackground, to the config's upstream named `upstream` instead of the route's (an
  // auth check, a key-set fetch): the same upstream path (balancer, health, breaker, pool,
  // the upstream's own timeouts), bounded besides by `timeout` from the start (0: no bound of
  // its own). `done` gets nullopt when no upstream has that name.
  virtual void fetchFromUpstream(std::string_view upstream, base::RequestHead head, size_t max_body,
                                 std::chrono::milliseconds timeout, BackgroundDone done) = 0;
};

class Filter {
 public:
  virtual ~Filter() = default;
  virtual FilterStatus onRequestHeaders(base::RequestHead& head, FilterCallbacks& cb) {
    return FilterStatus::Continue;
  }
  // `data` may be changed in place; `end` marks the last chunk.
  virtual FilterStatus onRequestBody(std::string& data, bool end, FilterCallbacks& cb) {
    return FilterStatus::Continue;
  }
  virtual FilterStatus onResponseHeaders(base::ResponseHead& head, FilterCallbacks& cb) {
    return FilterStatus::Continue;
  }
  // Asked once the request phase is over: false promises that onResponseHeaders would neither
  // read nor change this request's response head, so it is not called and the proxy writes the
  // head without building an edited field list. The default is the safe answer.
  virtual bool wantsResponseHeaders() const { return true; }
  virtual FilterStatus onResponseBody(std::string& data, bool end, FilterCallbacks& cb) {
    return FilterStatus::Continue;
  }
  // The request is over (answered, failed or aborted); `status` is what the client got (0 when
  // nothing was sent).
  virtual void onComplete(int status) {}
};

// Immutable per-snapshot configuration of one filter of one route.
class FilterFactory {
 public:
  virtual ~FilterFactory() = default;
  virtual std::unique_ptr<Filter> create() const = 0;
  // Whether filters of this kind touch body chunks; when no filter of a route does, the proxy
  // streams bodies without copying them through the chain.
  virtual bool needsRequestBody() const { return false; }
  virtual bool needsResponseBody() const { return false; }
  // Whether filters of this kind read or change request fields as they go upstream, after
  // sluice's own edits (hop-by-hop fields removed; Via, X-Forwarded-*, X-Request-Id, traceparent
  // set). When no filter of a route does, each try writes sluice's fields straight into its
  // request instead of editing the field list first. The safe default is yes.
  virtual bool readsForwardedHead() const { return true; }
};

}  // namespace sluice::filters
