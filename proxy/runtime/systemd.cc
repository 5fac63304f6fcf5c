#include "proxy/runtime/systemd.h"

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <ctime>

#include "proxy/runtime/log.h"

namespace sluice::proxy::systemd {

namespace {
uint64_t monotonicUsec() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000u + static_cast<uint64_t>(ts.tv_nsec) / 1000u;
}

void notify(const std::string& message) {
  // < 0: the socket in NOTIFY_SOCKET is unusable; systemd will time the unit out, and say so.
  int r = sd_notify(0, message.c_str());
  if (r < 0) logWarn("sd_notify: " + std::string(std::strerror(-r)));
}

// Same family, port and address bytes (IPv6 flow info and scope are ignored).
bool sameEndpoint(const sockaddr_storage& a, const sockaddr* b) {
  if (a.ss_family != b->sa_family) return false;
  if (a.ss_family == AF_INET) {
    const auto* x = reinterpret_cast<const sockaddr_in*>(&a);
    const auto* y = reinterpret_cast<const sockaddr_in*>(b);
    return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
  }
  if (a.ss_family == AF_INET6) {
    const auto* x = reinterpret_cast<const sockaddr_in6*>(&a);
    const auto* y = reinterpret_cast<const sockaddr_in6*>(b);
    return x->sin6_port == y->sin6_port &&
           std::memcmp(&x->sin6_addr, &y->sin6_addr, sizeof x->sin6_addr) == 0;
  }
  return false;
}

bool boundTo(int fd, const config::Address& address) {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) return false;
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICHOST | AI_NUMERICSERV;
  addrinfo* res = nullptr;
  std::string port = std::to_string(address.port);
  const char* host = address.host.empty() || address.host == "*" ? nullptr : address.host.c_str();
  if (getaddrinfo(host, port.c_str(), &hints, &res) != 0 || res == nullptr) return false;
  bool same = false;
  for (addrinfo* ai = res; ai != nullptr && !same; ai = ai->ai_next) {
    same = sameEndpoint(ss, ai->ai_addr);
  }
  freeaddrinfo(res);
  return same;
}
}  // namespace

void Notifier::ready(uv_loop_t* loop, const std::string& status) {
  if (stopping_) return;  // a reload that finished after a stop began
  notify("READY=1\nSTATUS=" + status);
  if (watchdog_) return;
  uint64_t usec = 0;
  if (sd_watchdog_enabled(0, &usec) <= 0 || usec == 0) return;
  uint64_t every_ms = usec / 2000u;
  if (every_ms == 0) every_ms = 1;
  if (!watchdog_.init(loop, "systemd watchdog", [] { notify("WATCHDOG=1"); }) ||
      !watchdog_.start(every_ms, every_ms)) {
    watchdog_.close();  // logged; the manager will time the unit out and say so
    return;
  }
  logInfo("systemd watchdog: WATCHDOG=1 every " + std::to_string(every_ms) + "ms");
}

void Notifier::reloading() {
  notify("RELOADING=1\nMONOTONIC_USEC=" + std::to_string(monotonicUsec()) +
         "\nSTATUS=reloading the configuration");
}

void Notifier::stopping(const std::string& status) {
  if (stopping_) return;
  stopping_ = true;
  notify("STOPPING=1\nSTATUS=" + status);
}

void Notifier::close() {
  watchdog_.close();
}

InheritedSockets::~InheritedSockets() {
  for (const Entry& e : sockets_) ::close(e.fd);
}

bool InheritedSockets::load(std::string& error) {
  char** names = nullptr;
  // 1: unset LISTEN_* so nothing sluice runs later believes they are meant for it.
  int n = sd_listen_fds_with_names(1, &names);
  if (n < 0) {
    error = "socket activation: " + std::string(std::strerror(-n));
    return false;
  }
  bool ok = true;
  for (int i = 0; i < n; ++i) {
    int fd = SD_LISTEN_FDS_START + i;
    std::string name = names != nullptr && names[i] != nullptr ? names[i] : "unknown";
    if (ok && sd_is_socket(fd, AF_UNSPEC, SOCK_STREAM, 1) <= 0) {
      error = "socket activation: fd " + std::to_string(fd) + " (" + name +
              ") is not a listening stream socket; use ListenStream= in the .socket unit";
      ok = false;
    }
    // Shared by every worker through dup(); each worker's libuv handle makes its own copy
    // non-blocking, which is a property of the open socket, so set it once here.
    fcntl(fd, F_SETFD, FD_CLOEXEC);
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);  // inherited by accepted sockets
    sockets_.push_back(Entry{fd, name});
  }
  if (names != nullptr) {
    for (int i = 0; i < n; ++i) std::free(names[i]);
    std::free(names);
  }
  if (ok && n > 0) logInfo("socket activation: " + std::to_string(n) + " inherited socket(s)");
  return ok;
}

int InheritedSockets::find(const std::string& name, const config::Address& address) {
  for (Entry& e : sockets_) {
    if (e.name == name) {
      e.used = true;
      return e.fd;
    }
  }
  for (Entry& e : sockets_) {
    if (boundTo(e.fd, address)) {
      e.used = true;
      return e.fd;
    }
  }
  return -1;
}

void InheritedSockets::warnUnused() const {
  for (const Entry& e : sockets_) {
    if (!e.used) {
      logWarn("socket activation: inherited socket \"" + e.name + "\" (fd " + std::to_string(e.fd) +
              ") matches no listener by name or address; it is not served");
    }
  }
}

}  // namespace sluice::proxy::systemd
