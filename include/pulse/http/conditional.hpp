// Conditional requests (RFC 9110 section 13): a file's validators and the decisions they drive
// for GET and HEAD (304, 412, and whether If-Range lets a Range through).
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace pulse::http {

struct Validators {
  std::string etag;                          // strong, quoted: "\"1a2b-400-17f3c\""
  std::chrono::sys_seconds last_modified{};  // what Last-Modified says
};

// A strong entity tag that changes whenever the file is replaced (inode), resized or written
// (mtime to the nanosecond).
[[nodiscard]] std::string make_etag(std::uint64_t inode, std::uint64_t size, std::int64_t mtime_ns);

// The precondition header values of a request; absent headers are nullopt.
struct ConditionalHeaders {
  std::optional<std::string_view> if_match;
  std::optional<std::string_view> if_none_match;
  std::optional<std::string_view> if_modified_since;
  std::optional<std::string_view> if_unmodified_since;
};

enum class Precondition {
  kProceed,             // serve normally
  kNotModified,         // 304
  kPreconditionFailed,  // 412
};

[[nodiscard]] std::string_view to_string(Precondition precondition) noexcept;

// Evaluates the preconditions of a GET or HEAD in the order of RFC 9110 section 13.2.2:
// If-Match, else If-Unmodified-Since; then If-None-Match, else If-Modified-Since.
[[nodiscard]] Precondition evaluate_preconditions(const ConditionalHeaders& headers, const Validators& validators);

// If-Range (section 13.1.5): true when the Range may be honoured, i.e. the entity tag matches
// strongly or the date equals Last-Modified exactly. A weak or malformed validator is false.
[[nodiscard]] bool if_range_holds(std::string_view if_range, const Validators& validators);

}  // namespace pulse::http
