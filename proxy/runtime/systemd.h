// Running under systemd: readiness and reload/stop notifications with a watchdog (sd_notify),
// and listening sockets handed over by socket activation (LISTEN_FDS / LISTEN_FDNAMES).
// Everything here is a no-op when sluice is not started by a service manager.
#pragma once

#include <uv.h>

#include <string>
#include <vector>

#include "config/config.h"
#include "proxy/net/uv_handle.h"

namespace sluice::proxy::systemd {

// sd_notify(3) messages for a Type=notify unit, and the WATCHDOG=1 keep-alive. Owned by the
// Server, used on the main thread only. Without NOTIFY_SOCKET every call does nothing.
class Notifier {
 public:
  Notifier() = default;
  Notifier(const Notifier&) = delete;
  Notifier& operator=(const Notifier&) = delete;

  // READY=1 with a STATUS= line. The first call also starts the watchdog timer on `loop` when
  // the manager asked for one (WATCHDOG_USEC): WATCHDOG=1 every half of that interval.
  void ready(uv_loop_t* loop, const std::string& status);
  // RELOADING=1 with MONOTONIC_USEC (systemd.service(5), Type=notify-reload); ready() follows
  // when the reload has succeeded or failed.
  void reloading();
  // STOPPING=1, once: a graceful or immediate stop has begun.
  void stopping(const std::string& status);
  // Closes the watchdog timer (its loop must still be run to finish the close).
  void close();

 private:
  Timer watchdog_;
  bool stopping_ = false;
};

// Listening sockets passed by the service manager (sd_listen_fds_with_names(3)). load() reads
// and unsets the environment once at startup; the fds stay open (owned here) for the life of the
// process so a listener removed and re-added by a reload finds its socket again.
class InheritedSockets {
 public:
  InheritedSockets() = default;
  ~InheritedSockets();
  InheritedSockets(const InheritedSockets&) = delete;
  InheritedSockets& operator=(const InheritedSockets&) = delete;

  // False with `error` when an inherited fd is not a listening stream socket.
  bool load(std::string& error);
  // The inherited fd for listener `name` at `address`: the fd named `name` (FileDescriptorName=
  // in the .socket unit), else any fd bound to exactly `address`; -1 when none. The
  // caller must dup() it: every worker gets its own descriptor of the one shared socket.
  int find(const std::string& name, const config::Address& address);
  // Logs a warning for each inherited socket no listener took. Main thread, after binding.
  void warnUnused() const;
  size_t size() const { return sockets_.size(); }

 private:
  struct Entry {
    int fd;
    std::string name;
    bool used = false;
  };
  std::vector<Entry> sockets_;
};

}  // namespace sluice::proxy::systemd
