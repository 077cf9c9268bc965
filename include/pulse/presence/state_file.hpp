// The heartbeat state file (--heartbeat-state): the registry's clients as JSON, so a restart
// forgets nobody. Written atomically; a corrupt, missing or hostile file is reported, never fatal.
//
// Reading trusts nothing in the file. Two kinds of damage, two outcomes:
// - The document as a whole is not one our saver writes (not JSON, another format or version,
//   nested deeper than kMaxStateDocumentDepth, a string longer than kMaxStateStringBytes, a number
//   longer than kMaxStateNumberChars, more values than kMaxStateValuesPerClient per allowed client,
//   more clients than `max_clients`, larger than kMaxStateFileBytes): the file is ignored as a
//   whole, one problem line, nothing restored. The shape is checked by a linear scan before the
//   JSON parser sees the text, so a hostile file never costs more than one pass over it.
// - One entry is bad (a missing or mistyped field, an id, message or address out of bounds, a time
//   more than kStateTimeWindow from now, a duplicate id): that entry is skipped with a problem
//   line saying which and why (at most kMaxReportedEntryProblems lines, then one line counting the
//   rest), and the other entries are restored.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "pulse/presence/clock.hpp"
#include "pulse/presence/limits.hpp"
#include "pulse/presence/presence_store.hpp"

namespace pulse::presence {

// Refuse to read more than this: a state file of the maximum 100,000 clients is ~40 MB.
inline constexpr std::size_t kMaxStateFileBytes = 256 * 1024 * 1024;
inline constexpr int kStateFileVersion = 1;

// Our saver nests five levels (document, client list, client, its runs, a run); anything near this
// is hostile, and a bound here keeps every later recursion over the document (destruction,
// lookups) shallow.
inline constexpr std::size_t kMaxStateDocumentDepth = 16;
// Longer than any field can be even fully escaped (a 256-byte message of quotes is 512 bytes).
inline constexpr std::size_t kMaxStateStringBytes = 1024;
// A number or literal (true, false, null) token: 20 digits is the longest integer we write.
inline constexpr std::size_t kMaxStateNumberChars = 32;
// JSON values and keys allowed per client the registry may hold (a saved client has 31, and 20
// more with kMaxOpenRuns runs open), so the parsed document stays proportional to max_clients,
// not to the file size.
inline constexpr std::size_t kMaxStateValuesPerClient = 64;
// Every time in the file must lie this close to now: far enough for any real history, near
// enough that no conversion of it can overflow.
inline constexpr std::chrono::milliseconds kStateTimeWindow = std::chrono::years(100);
// Problem lines listed one by one before the rest are only counted.
inline constexpr std::size_t kMaxReportedEntryProblems = 10;

// Unix milliseconds as a Time: nullopt when the time lies further than kStateTimeWindow from
// `now` (or the arithmetic would overflow). Checked arithmetic throughout.
[[nodiscard]] std::optional<Time> time_from_unix_ms(Time now, std::int64_t unix_ms) noexcept;

// Why `text` is not shaped like a state file of at most `max_clients` clients (too deep, a token
// too long, too many values), or nullopt. One pass, no allocation; run before parsing.
[[nodiscard]] std::optional<std::string> state_document_shape_error(std::string_view text, std::size_t max_clients);

// The document: times are Unix milliseconds; `now` is saved as saved_at_ms.
[[nodiscard]] std::string encode_state(const std::vector<ClientView>& clients, Time now);

struct DecodedState {
  bool usable = false;                // false: the document as a whole is not a state file
  std::vector<ClientView> clients;    // the valid entries
  std::vector<std::string> problems;  // why the document, or an entry of it, was rejected
};
// The core of the reader, in memory (the fuzz target drives it). Never throws for any `text`.
[[nodiscard]] DecodedState decode_state(std::string_view text, Time now, std::size_t max_clients = kDefaultMaxClients);

enum class LoadStatus { kLoaded, kMissing, kUnreadable, kCorrupt };

struct LoadedState {
  LoadStatus status = LoadStatus::kMissing;
  std::vector<ClientView> clients;
  std::vector<std::string> problems;  // one line each, for the error log
};
// Reads `path` (a regular file of at most kMaxStateFileBytes) and decodes it. Never throws.
[[nodiscard]] LoadedState load_state_file(const std::filesystem::path& path, Time now,
                                          std::size_t max_clients = kDefaultMaxClients);

// Writes `contents` to `path` so that a crash at any moment leaves either the old or the new file:
// a temporary file in the same directory, fsync, rename over `path`, fsync the directory.
// Throws std::system_error naming the failed call and file.
void write_file_atomically(const std::filesystem::path& path, std::string_view contents);

inline void save_state_file(const std::filesystem::path& path, const std::vector<ClientView>& clients, Time now) {
  write_file_atomically(path, encode_state(clients, now));
}

}  // namespace pulse::presence
