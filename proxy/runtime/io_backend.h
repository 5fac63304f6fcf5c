// Which socket I/O backend the workers use (config `io:`), decided once per process at start:
// io_uring when it is wanted and the kernel allows it, else libuv's epoll. Refused io_uring
// (old kernel: ENOSYS, seccomp or sysctl: EPERM, missing multishot recv) falls back to epoll.
#pragma once

#include <string>

#include "config/config.h"
#include "proxy/net/uring_loop.h"

namespace sluice::proxy {

enum class IoBackend { Epoll, Uring };

struct IoChoice {
  IoBackend backend = IoBackend::Epoll;
  std::string line;  // the start-up log line: which backend, and why
};

// The decision for `mode` given what the probe found (`probe` is ignored for `epoll`).
IoChoice chooseIoBackend(config::IoMode mode, const UringProbe& probe);

// The process's backend: the first call probes (unless `mode` is epoll), logs the line and
// keeps the answer; later calls (other workers, reloads) return it. Any thread.
IoBackend processIoBackend(config::IoMode mode);

}  // namespace sluice::proxy
