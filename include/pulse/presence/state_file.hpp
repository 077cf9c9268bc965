// The heartbeat state file (--heartbeat-state): the registry's clients as JSON, so a restart
// forgets nobody. Written atomically; a corrupt or missing file is reported, never fatal.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "pulse/presence/clock.hpp"
#include "pulse/presence/presence_store.hpp"

namespace pulse::presence {

// Refuse to read more than this: a state file of the maximum 100,000 clients is ~40 MB.
inline constexpr std::size_t kMaxStateFileBytes = 256 * 1024 * 1024;
inline constexpr int kStateFileVersion = 1;

// The document: times are Unix milliseconds (wall clock), converted through `at`.
[[nodiscard]] std::string encode_state(const std::vector<ClientView>& clients, const TimeBase& at);

struct DecodedState {
  bool usable = false;                // false: the document as a whole is not a state file
  std::vector<ClientView> clients;    // the valid entries
  std::vector<std::string> problems;  // why the document, or an entry of it, was rejected
};
[[nodiscard]] DecodedState decode_state(std::string_view text, const TimeBase& at);

enum class LoadStatus { kLoaded, kMissing, kUnreadable, kCorrupt };

struct LoadedState {
  LoadStatus status = LoadStatus::kMissing;
  std::vector<ClientView> clients;
  std::vector<std::string> problems;  // one line each, for the error log
};
[[nodiscard]] LoadedState load_state_file(const std::filesystem::path& path, const TimeBase& at);

// Writes `contents` to `path` so that a crash at any moment leaves either the old or the new file:
// a temporary file in the same directory, fsync, rename over `path`, fsync the directory.
// Throws std::system_error naming the failed call and file.
void write_file_atomically(const std::filesystem::path& path, std::string_view contents);

inline void save_state_file(const std::filesystem::path& path, const std::vector<ClientView>& clients,
                            const TimeBase& at) {
  write_file_atomically(path, encode_state(clients, at));
}

}  // namespace pulse::presence
