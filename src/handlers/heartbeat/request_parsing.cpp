// Request parsing for the heartbeat API: pure functions over the path, parameters and body.
#include "pulse/handlers/heartbeat/request_parsing.hpp"

#include <fmt/format.h>

#include <array>
#include <cctype>
#include <utility>

#include "pulse/base/parse.hpp"
#include "pulse/http/request.hpp"
#include "pulse/presence/limits.hpp"
#include "pulse/presence/validation.hpp"

namespace pulse::handlers::heartbeat {
namespace {

constexpr std::string_view kRoot = "/heartbeat";
// Words at /heartbeat/<word> that are not client ids.
constexpr std::string_view kEventsName = "events";
constexpr std::string_view kBadgeName = "badge.svg";
constexpr std::size_t kMaxExitStatusDigits = 3;

struct Word {
  std::string_view name;
  Target target;
};
// What may follow /heartbeat/{id}/, besides an exit status.
constexpr std::array<Word, 8> kClientWords{{
    {"start", Target::kStart},
    {"fail", Target::kFail},
    {"ok", Target::kOk},
    {"pause", Target::kPause},
    {"history", Target::kHistory},
    {"log", Target::kLog},
    {"hold", Target::kHold},
    {"badge.svg", Target::kBadge},
}};

ParsedTarget failure(int status, std::string error, std::string detail) {
  ParsedTarget parsed;
  parsed.error_status = status;
  parsed.error = std::move(error);
  parsed.detail = std::move(detail);
  return parsed;
}

bool is_continuation_byte(char c) noexcept {
  return (static_cast<unsigned char>(c) & 0xC0) == 0x80;
}

}  // namespace

ParsedTarget parse_target(std::string_view path) {
  ParsedTarget parsed;
  if (path == kRoot) return parsed;
  if (!path.starts_with(kRoot) || path.size() == kRoot.size() || path[kRoot.size()] != '/') {
    return failure(404, "not_found", "not a heartbeat path");
  }
  const std::string_view rest = path.substr(kRoot.size() + 1);
  const auto slash = rest.find('/');
  auto id = http::percent_decode(rest.substr(0, slash), /*plus_as_space=*/false);
  if (!id) return failure(400, "invalid_id", "the id contains a malformed %-escape");
  const bool reserved = *id == kEventsName || *id == kBadgeName;

  if (slash == std::string_view::npos) {
    parsed.target = *id == kEventsName ? Target::kEvents : *id == kBadgeName ? Target::kAllBadge : Target::kClient;
    if (!reserved) parsed.id = std::move(*id);
    return parsed;
  }
  const std::string_view word = rest.substr(slash + 1);
  if (reserved) return failure(404, "not_found", fmt::format("/heartbeat/{} has nothing below it", *id));
  parsed.id = std::move(*id);
  for (const auto& known : kClientWords) {
    if (word == known.name) {
      parsed.target = known.target;
      return parsed;
    }
  }
  // Anything that looks like a number was meant as an exit status: say why it is not one.
  if (!word.empty() &&
      (std::isdigit(static_cast<unsigned char>(word.front())) != 0 || word.front() == '-' || word.front() == '+')) {
    const auto status = parse_exit_status(word);
    if (!status) {
      return failure(400, "invalid_exit_status",
                     "an exit status is a whole number from 0 to 255, at most 3 digits and without a sign");
    }
    parsed.target = Target::kExit;
    parsed.exit_code = *status;
    return parsed;
  }
  return failure(404, "not_found",
                 "after /heartbeat/{id}/ comes start, fail, ok, pause, an exit status (0-255), history, log, "
                 "hold or badge.svg");
}

std::optional<std::uint8_t> parse_exit_status(std::string_view text) noexcept {
  if (text.empty() || text.size() > kMaxExitStatusDigits) return std::nullopt;
  unsigned value = 0;
  for (const char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + static_cast<unsigned>(c - '0');
  }
  if (value > 255) return std::nullopt;
  return static_cast<std::uint8_t>(value);
}

std::optional<std::string> run_id_error(std::string_view rid) {
  if (rid.size() > presence::kMaxRunIdBytes) {
    return fmt::format("rid is {} characters long; at most {} are allowed", rid.size(), presence::kMaxRunIdBytes);
  }
  // The same characters as an id (it may end up in a URL or a log line just the same); the
  // id check's sentence names "id", so it is reworded.
  if (auto error = presence::client_id_error(rid)) {
    if (error->starts_with("id ")) return "rid " + error->substr(3);
    return "rid: " + *error;
  }
  return std::nullopt;
}

std::string_view utf8_prefix(std::string_view text, std::size_t max_bytes) noexcept {
  if (text.size() <= max_bytes) return text;
  std::size_t end = max_bytes;
  // The byte at `end` is the first one left out: while it continues a sequence, that sequence
  // began before `end` and would be cut, so it goes too (at most 3 steps in valid UTF-8).
  std::size_t steps = 0;
  while (end > 0 && is_continuation_byte(text[end]) && steps < 3) {
    --end;
    ++steps;
  }
  // Not UTF-8 after all (more continuation bytes than a sequence has): cut at the limit.
  if (is_continuation_byte(text[end])) end = max_bytes;
  return text.substr(0, end);
}

std::string log_from_body(std::string_view body) {
  const std::string_view prefix = utf8_prefix(body, presence::kMaxLogBytes);
  if (presence::is_valid_utf8(prefix)) return std::string(prefix);
  constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD
  std::string log;
  log.reserve(prefix.size());
  std::size_t i = 0;
  while (i < body.size()) {
    const auto lead = static_cast<unsigned char>(body[i]);
    const std::size_t length = lead < 0x80 ? 1 : lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 0;
    std::string_view piece = kReplacement;
    std::size_t used = 1;
    if (length != 0 && i + length <= body.size() && presence::is_valid_utf8(body.substr(i, length))) {
      piece = body.substr(i, length);
      used = length;
    }
    if (log.size() + piece.size() > presence::kMaxLogBytes) break;
    log += piece;
    i += used;
  }
  return log;
}

std::string message_from_body(std::string_view body) {
  std::string_view line = body.substr(0, body.find('\n'));
  if (line.ends_with('\r')) line.remove_suffix(1);
  line = utf8_prefix(line, presence::kMaxMessageBytes);
  if (presence::message_error(line)) return {};
  return std::string(line);
}

std::optional<std::chrono::seconds> parse_seconds(std::string_view text, std::chrono::seconds min,
                                                  std::chrono::seconds max) {
  // 30 days is 2,592,000 s: ten digits are plenty.
  constexpr std::size_t kMaxSecondsDigits = 10;
  if (text.size() > kMaxSecondsDigits) return std::nullopt;
  const auto value = base::parse_decimal<std::uint64_t>(text);
  if (!value || *value < static_cast<std::uint64_t>(min.count()) || *value > static_cast<std::uint64_t>(max.count())) {
    return std::nullopt;
  }
  return std::chrono::seconds(static_cast<std::chrono::seconds::rep>(*value));
}

}  // namespace pulse::handlers::heartbeat
