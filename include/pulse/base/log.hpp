// Log: the server's errors and warnings, one line each, saying which connection and peer it was
// and what the server was doing ("while sending a file"). Rate-limited, so that a flood of bad
// clients cannot fill a disk. The access log (app/access_log) is separate and never limited.
// Thread-safe: any thread may log.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>

#include <fmt/format.h>

#include "pulse/base/monotonic_clock.hpp"

namespace pulse::base {

// kFatal is for the last line before an abort: it is never held back by the rate limit.
enum class LogLevel { kFatal, kError, kWarning, kInfo };

[[nodiscard]] std::string_view to_string(LogLevel level) noexcept;

// Where a message comes from. Every field is optional: connection 0 and an empty peer or action
// are left out of the line. `action` follows "while": "reading the request headers".
struct LogContext {
  std::uint64_t connection_id = 0;
  std::string_view peer;
  std::string_view action;
};

// A token bucket: `burst` lines at once, then `per_second` lines a second. What it holds back
// is counted and reported in one line when lines flow again.
struct LogRateLimit {
  std::size_t burst = 200;
  std::size_t per_second = 20;
};

class Logger {
 public:
  // Receives each whole line, '\n' included.
  using Sink = std::function<void(std::string_view line)>;
  using Now = std::function<MonotonicClock::time_point()>;

  // Defaults: standard error, the steady clock.
  explicit Logger(LogRateLimit limit = {}, Sink sink = {}, Now now = {});

  // "pulsehttpd: warning: <message> (connection 7, peer 10.0.0.1, while sending a file)".
  void write(LogLevel level, const LogContext& context, std::string_view message);

  // Lines held back by the rate limit and not yet reported.
  [[nodiscard]] std::uint64_t suppressed() const;

 private:
  [[nodiscard]] bool take_token();  // with mutex_ held

  const LogRateLimit limit_;
  const Sink sink_;
  const Now now_;
  mutable std::mutex mutex_;
  double tokens_;                           // guarded by mutex_
  MonotonicClock::time_point refilled_at_;  // guarded by mutex_
  std::uint64_t suppressed_ = 0;            // guarded by mutex_
};

// The process's logger (standard error, default rate limit).
[[nodiscard]] Logger& logger();

template <typename... Args>
void log_fatal(const LogContext& context, fmt::format_string<Args...> format, Args&&... args) {
  logger().write(LogLevel::kFatal, context, fmt::format(format, std::forward<Args>(args)...));
}

template <typename... Args>
void log_error(const LogContext& context, fmt::format_string<Args...> format, Args&&... args) {
  logger().write(LogLevel::kError, context, fmt::format(format, std::forward<Args>(args)...));
}

template <typename... Args>
void log_warning(const LogContext& context, fmt::format_string<Args...> format, Args&&... args) {
  logger().write(LogLevel::kWarning, context, fmt::format(format, std::forward<Args>(args)...));
}

template <typename... Args>
void log_info(const LogContext& context, fmt::format_string<Args...> format, Args&&... args) {
  logger().write(LogLevel::kInfo, context, fmt::format(format, std::forward<Args>(args)...));
}

}  // namespace pulse::base
