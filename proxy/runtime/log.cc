#include "proxy/runtime/log.h"

#include <unistd.h>

#include <string>

namespace sluice::proxy {

void logLine(LogLevel level, std::string_view message) {
  // "<N>" prefixes are the sd-daemon(3) priorities journald reads from stderr.
  static constexpr const char* kPrefix[] = {
      "<7>debug: ", "<6>info: ", "<4>warning: ", "<3>error: "};
  std::string line = kPrefix[static_cast<int>(level)];
  line.append(message);
  line.push_back('\n');
  // One write(2) per line so lines from several threads never interleave.
  ssize_t n = ::write(STDERR_FILENO, line.data(), line.size());
  (void)n;
}

}  // namespace sluice::proxy
