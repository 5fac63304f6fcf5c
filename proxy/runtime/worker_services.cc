#include "proxy/runtime/worker_services.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>

#include <utility>

#include "proxy/net/uv_handle.h"

namespace sluice::proxy {

namespace {

// A filters::ServiceTimer on proxy's Timer: close-then-free ownership, checked calls, unref'd
// so that a filter's timer never keeps a worker's loop alive at shutdown.
class LoopTimer final : public filters::ServiceTimer {
 public:
  LoopTimer(uv_loop_t* loop, const char* name, std::function<void()> on_fire) {
    if (timer_.init(loop, name, std::move(on_fire))) timer_.unref();  // else logged by init
  }
  bool start(uint64_t timeout_ms, uint64_t repeat_ms) override {
    return timer_.start(timeout_ms, repeat_ms);  // logged on failure
  }
  void stop() override { timer_.stop(); }
  bool active() const override { return timer_.active(); }

 private:
  Timer timer_;  // closed by its destructor; libuv frees it in the close callback
};

struct Lookup {
  uv_getaddrinfo_t req;
  filters::WorkerServices::HostFound done;
};

// The request's memory is its own and is freed here, once libuv is done with it.
void onLookedUp(uv_getaddrinfo_t* req, int status, addrinfo* res) {
  auto* lookup = static_cast<Lookup*>(req->data);
  char ip[INET6_ADDRSTRLEN] = "";
  bool ok = status == 0 && res != nullptr;
  if (ok) {
    const void* a =
        res->ai_family == AF_INET6
            ? static_cast<const void*>(&reinterpret_cast<sockaddr_in6*>(res->ai_addr)->sin6_addr)
            : static_cast<const void*>(&reinterpret_cast<sockaddr_in*>(res->ai_addr)->sin_addr);
    ok = inet_ntop(res->ai_family, a, ip, sizeof ip) != nullptr;
  }
  if (res != nullptr) uv_freeaddrinfo(res);
  filters::WorkerServices::HostFound done = std::move(lookup->done);
  delete lookup;
  done(ok, ip);
}

}  // namespace

std::unique_ptr<filters::ServiceTimer> LoopServices::makeTimer(
    const char* name, std::function<void()> on_fire) const {
  return std::make_unique<LoopTimer>(loop_, name, std::move(on_fire));
}

void LoopServices::lookupHost(const std::string& host, HostFound done) const {
  auto* lookup = new Lookup{{}, std::move(done)};
  lookup->req.data = lookup;
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  int rc = uv_getaddrinfo(loop_, &lookup->req, onLookedUp, host.c_str(), nullptr, &hints);
  if (rc != 0) {
    // Handled, not logged: the caller hears "not found" at once and decides (as for a name that
    // does not resolve).
    HostFound failed = std::move(lookup->done);
    delete lookup;
    failed(false, "");
  }
}

}  // namespace sluice::proxy
