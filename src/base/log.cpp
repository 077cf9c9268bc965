// Logger: formats one line, lets it through the token bucket, writes it with one call so lines
// from several threads never interleave.
#include "pulse/base/log.hpp"

#include <algorithm>
#include <cstdio>

namespace pulse::base {
namespace {

void write_stderr(std::string_view line) {
  std::fwrite(line.data(), 1, line.size(), stderr);
  std::fflush(stderr);
}

void append_context(std::string& line, const LogContext& context) {
  bool first = true;
  const auto separator = [&] {
    line += first ? " (" : ", ";
    first = false;
  };
  if (context.connection_id != 0) {
    separator();
    fmt::format_to(std::back_inserter(line), "connection {}", context.connection_id);
  }
  if (!context.peer.empty()) {
    separator();
    line += "peer ";
    line += context.peer;
  }
  if (!context.action.empty()) {
    separator();
    line += "while ";
    line += context.action;
  }
  if (!first) line += ')';
}

}  // namespace

std::string_view to_string(LogLevel level) noexcept {
  switch (level) {
    case LogLevel::kFatal: return "fatal";
    case LogLevel::kError: return "error";
    case LogLevel::kWarning: return "warning";
    case LogLevel::kInfo: return "info";
  }
  return "?";
}

Logger::Logger(LogRateLimit limit, Sink sink, Now now)
    : limit_(limit),
      sink_(sink ? std::move(sink) : Sink(&write_stderr)),
      now_(now ? std::move(now) : Now(&MonotonicClock::now)),
      tokens_(static_cast<double>(limit.burst)),
      refilled_at_(now_()) {}

bool Logger::take_token() {
  const auto now = now_();
  const std::chrono::duration<double> elapsed = now - refilled_at_;
  refilled_at_ = now;
  tokens_ =
      std::min(static_cast<double>(limit_.burst), tokens_ + elapsed.count() * static_cast<double>(limit_.per_second));
  if (tokens_ < 1.0) return false;
  tokens_ -= 1.0;
  return true;
}

void Logger::write(LogLevel level, const LogContext& context, std::string_view message) {
  std::lock_guard lock(mutex_);
  // Judged before formatting: a flood of held-back lines costs a token check each, not a format.
  if (!take_token() && level != LogLevel::kFatal) {
    ++suppressed_;
    return;
  }
  if (suppressed_ > 0) {
    sink_(fmt::format("pulsehttpd: warning: {} log lines suppressed by the rate limit\n", suppressed_));
    suppressed_ = 0;
  }
  std::string line = fmt::format("pulsehttpd: {}: {}", to_string(level), message);
  append_context(line, context);
  line += '\n';
  sink_(line);
}

std::uint64_t Logger::suppressed() const {
  std::lock_guard lock(mutex_);
  return suppressed_;
}

Logger& logger() {
  static Logger instance;
  return instance;
}

}  // namespace pulse::base
