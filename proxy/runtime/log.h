// Process log lines on stderr: one line each, with a level, for journald and humans. Never
// called per request (requests go to the access log).
#pragma once

#include <string_view>

namespace sluice::proxy {

enum class LogLevel { Debug, Info, Warn, Error };

void logLine(LogLevel level, std::string_view message);
inline void logInfo(std::string_view m) {
  logLine(LogLevel::Info, m);
}
inline void logWarn(std::string_view m) {
  logLine(LogLevel::Warn, m);
}
inline void logError(std::string_view m) {
  logLine(LogLevel::Error, m);
}

}  // namespace sluice::proxy
