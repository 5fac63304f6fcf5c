// c-ares driven by the main thread's libuv loop (a uv_poll per c-ares socket, one uv_timer for
// its timeouts; no thread, nothing blocks): the SRV queries of `srv:` targets and, with a
// `resolver:` section, the A/AAAA lookups of target names. Owned by the Server; used by
// resolver.cc on the main thread only.
#pragma once

#include <netinet/in.h>
#include <uv.h>

#include <functional>
#include <string>
#include <vector>

#include "config/config.h"
#include "proxy/upstream/target_expansion.h"

struct ares_addrinfo;  // <ares.h> stays out of this header

namespace sluice::proxy {

class DnsClient {
 public:
  // `error` is empty on success; else what went wrong ("no SRV records", a timeout, ...).
  using SrvDone = std::function<void(std::vector<SrvRecord> records, std::string error)>;
  using AddressesDone =
      std::function<void(std::vector<sockaddr_storage> addresses, std::string error)>;

  explicit DnsClient(uv_loop_t* loop);
  ~DnsClient();
  DnsClient(const DnsClient&) = delete;
  DnsClient& operator=(const DnsClient&) = delete;

  // Makes later queries ask `servers` (empty: the servers of /etc/resolv.conf). When they differ
  // from the current channel's, a new channel is opened and the old one closes once its queries
  // have answered. False with `error` when c-ares refuses (then queries fail with that error).
  bool use(const std::vector<config::Address>& servers, std::string& error);

  // SRV records of `name` (class IN). `done` runs on the loop's thread, maybe before this returns.
  void querySrv(const std::string& name, SrvDone done);
  // A and AAAA addresses of `host` (after /etc/hosts), their ports set to `port`.
  void lookup(const std::string& host, uint16_t port, AddressesDone done);

  // Closes every channel at once: queries still waiting are dropped and their `done` never runs
  // (the server stops). Safe to call twice; not from within a `done`.
  void close();

 private:
  struct Channel;
  struct Query;
  static void onSockState(void* data, int fd, int readable, int writable);
  static void onPoll(uv_poll_t* p, int status, int events);
  static void onSrv(void* arg, int status, int timeouts, unsigned char* abuf, int alen);
  static void onAddresses(void* arg, int status, int timeouts, ::ares_addrinfo* res);
  // After c-ares returned to us: re-arms the timer, or frees a retired channel left idle.
  static void settle(Channel* c);
  static void destroy(Channel* c);
  Channel* start(std::string& error);

  uv_loop_t* loop_;
  Channel* current_ = nullptr;
  std::vector<Channel*> retired_;  // closing once their last query answers
  std::string error_;              // why current_ could not be opened
};

}  // namespace sluice::proxy
