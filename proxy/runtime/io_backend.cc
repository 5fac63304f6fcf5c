#include "proxy/runtime/io_backend.h"

#include <mutex>

#include "proxy/runtime/log.h"

namespace sluice::proxy {

IoChoice chooseIoBackend(config::IoMode mode, const UringProbe& probe) {
  IoChoice c;
  switch (mode) {
    case config::IoMode::Epoll:
      c.line = "io: epoll (configured, the default)";
      return c;
    case config::IoMode::Auto:
      if (probe.ok) {
        c.backend = IoBackend::Uring;
        c.line = "io: uring (auto: io_uring with multishot recv available)";
      } else {
        c.line = "io: epoll (auto: io_uring unavailable: " + probe.reason + ")";
      }
      return c;
    case config::IoMode::Uring:
      if (probe.ok) {
        c.backend = IoBackend::Uring;
        c.line = "io: uring (configured)";
      } else {
        c.line =
            "io: epoll (io: uring configured, but io_uring is unavailable: " + probe.reason + ")";
      }
      return c;
  }
  return c;
}

IoBackend processIoBackend(config::IoMode mode) {
  static std::once_flag once;
  static IoChoice choice;
  std::call_once(once, [mode] {
    UringProbe probe;
    if (mode != config::IoMode::Epoll) probe = UringLoop::probe();
    choice = chooseIoBackend(mode, probe);
    if (choice.backend == IoBackend::Epoll && mode == config::IoMode::Uring) {
      logWarn(choice.line);
    } else {
      logInfo(choice.line);
    }
  });
  return choice.backend;
}

}  // namespace sluice::proxy
