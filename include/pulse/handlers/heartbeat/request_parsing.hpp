// What the heartbeat API reads out of a request, as pure functions: the path after /heartbeat/
// (an id and what is asked of it), exit statuses, run ids, and the body as a log and a message.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace pulse::handlers::heartbeat {

// interval= and grace=: a whole number of seconds from `min` to `max`, in at most 10 digits
// (leading zeros count: longer text is refused whatever its value); nullopt otherwise.
[[nodiscard]] std::optional<std::chrono::seconds> parse_seconds(std::string_view text, std::chrono::seconds min,
                                                                std::chrono::seconds max);

// What a path under /heartbeat/ names. `{id}` alone is the client; `{id}/<word>` one of these.
enum class Target : std::uint8_t {
  kList,      // /heartbeat
  kEvents,    // /heartbeat/events
  kAllBadge,  // /heartbeat/badge.svg (badges of a prefix)
  kClient,    // /heartbeat/{id}: beat, show, sign off
  kStart,     // /heartbeat/{id}/start
  kFail,      // /heartbeat/{id}/fail
  kOk,        // /heartbeat/{id}/ok
  kPause,     // /heartbeat/{id}/pause
  kExit,      // /heartbeat/{id}/{0-255}
  kHistory,   // /heartbeat/{id}/history
  kLog,       // /heartbeat/{id}/log
  kHold,      // /heartbeat/{id}/hold
  kBadge,     // /heartbeat/{id}/badge.svg
};

// The outcome of parse_target(): `error` empty on success; otherwise a stable code for the
// JSON error (not_found, invalid_id, invalid_exit_status) and a sentence for people.
struct ParsedTarget {
  Target target = Target::kList;
  std::string id;  // percent-decoded (and not yet validated) for the per-client targets
  std::uint8_t exit_code = 0;
  int error_status = 0;  // 0: no error
  std::string error;
  std::string detail;
};

// `path` starts with "/heartbeat" (the router sends only those). The id is the first segment
// after it, split before percent-decoding so an encoded '/' (%2F) stays inside the id, where
// validation refuses it.
[[nodiscard]] ParsedTarget parse_target(std::string_view path);

// An exit status: 1 to 3 decimal digits, no sign, at most 255.
[[nodiscard]] std::optional<std::uint8_t> parse_exit_status(std::string_view text) noexcept;

// nullopt when `rid` is a valid run id (as an id: 1 to kMaxRunIdBytes of A-Z a-z 0-9 . _ -,
// starting with a letter or digit); otherwise why not.
[[nodiscard]] std::optional<std::string> run_id_error(std::string_view rid);

// The longest prefix of `text` of at most `max_bytes` that does not end inside a UTF-8
// sequence: a character straddling the limit is dropped whole, never cut in half.
[[nodiscard]] std::string_view utf8_prefix(std::string_view text, std::size_t max_bytes) noexcept;

// A body kept as the client's log: cut to kMaxLogBytes on a UTF-8 boundary. Bytes that are not
// UTF-8 (a log in Latin-1, a stray binary) become U+FFFD rather than refusing the beat, so the
// log is always text for the JSON, the page and GET /heartbeat/{id}/log.
[[nodiscard]] std::string log_from_body(std::string_view body);

// A body's one-line summary, used as the message when msg= is absent: its first line (without
// its CR LF), cut to kMaxMessageBytes on a UTF-8 boundary; empty when that line is not an
// acceptable message (control characters, invalid UTF-8), since the body is still kept as the log.
[[nodiscard]] std::string message_from_body(std::string_view body);

}  // namespace pulse::handlers::heartbeat
