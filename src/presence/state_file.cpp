// The heartbeat state file: JSON encoding, strict decoding, and the atomic write.
#include "pulse/presence/state_file.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <system_error>

#include "pulse/base/system_error.hpp"
#include "pulse/base/unique_fd.hpp"
#include "pulse/presence/limits.hpp"
#include "pulse/presence/validation.hpp"

namespace pulse::presence {
namespace {

using nlohmann::json;
using Wall = Clock::Wall;

constexpr std::string_view kFormatName = "pulse-heartbeat-state";
constexpr std::size_t kReadChunkBytes = 64 * 1024;

std::int64_t to_unix_ms(const TimeBase& at, MonoTime t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(at.to_wall(t).time_since_epoch()).count();
}

MonoTime from_unix_ms(const TimeBase& at, std::int64_t ms) {
  return at.to_monotonic(Wall::time_point(std::chrono::duration_cast<Wall::duration>(std::chrono::milliseconds(ms))));
}

// One entry of the file was unusable; the message says which field and why.
class EntryError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

const json& field(const json& entry, const char* name) {
  const auto it = entry.find(name);
  if (it == entry.end()) throw EntryError(fmt::format("missing \"{}\"", name));
  return *it;
}

std::string string_field(const json& entry, const char* name) {
  const json& value = field(entry, name);
  if (!value.is_string()) throw EntryError(fmt::format("\"{}\" is not a string", name));
  return value.get<std::string>();
}

std::int64_t integer_field(const json& entry, const char* name) {
  const json& value = field(entry, name);
  if (!value.is_number_integer()) throw EntryError(fmt::format("\"{}\" is not an integer", name));
  if (value.is_number_unsigned() && value.get<std::uint64_t>() > static_cast<std::uint64_t>(INT64_MAX)) {
    throw EntryError(fmt::format("\"{}\" is out of range", name));
  }
  return value.get<std::int64_t>();
}

std::chrono::seconds seconds_field(const json& entry, const char* name, std::chrono::seconds min,
                                   std::chrono::seconds max) {
  const std::int64_t value = integer_field(entry, name);
  if (value < min.count() || value > max.count()) {
    throw EntryError(fmt::format("\"{}\" must be {} to {} seconds, not {}", name, min.count(), max.count(), value));
  }
  return std::chrono::seconds(value);
}

// Unix milliseconds within a sane window, so the monotonic conversion cannot overflow.
std::int64_t time_field(const json& entry, const char* name) {
  constexpr std::int64_t kMaxUnixMs = std::int64_t{1} << 50;  // year ~37,000
  const std::int64_t value = integer_field(entry, name);
  if (value < 0 || value > kMaxUnixMs) throw EntryError(fmt::format("\"{}\" is not a plausible time", name));
  return value;
}

ClientView decode_client(const json& entry, const TimeBase& at) {
  if (!entry.is_object()) throw EntryError("not an object");
  ClientView client;
  client.id = string_field(entry, "id");
  if (auto error = client_id_error(client.id)) throw EntryError(*error);
  const auto state = client_state_from_string(string_field(entry, "state"));
  if (!state) throw EntryError("\"state\" is not one of up, late, down, failing");
  client.state = *state;
  const auto health = health_from_string(string_field(entry, "status"));
  if (!health) throw EntryError("\"status\" is not ok or fail");
  client.health = *health;
  client.interval = seconds_field(entry, "interval_s", kMinInterval, kMaxInterval);
  client.grace = seconds_field(entry, "grace_s", kMinGrace, kMaxGrace);
  const std::int64_t beats = integer_field(entry, "beats");
  if (beats < 0) throw EntryError("\"beats\" is negative");
  client.beats = static_cast<std::uint64_t>(beats);
  client.remote_addr = string_field(entry, "remote_addr");
  client.message = string_field(entry, "msg");
  if (auto error = message_error(client.message)) throw EntryError(*error);
  client.last_beat = from_unix_ms(at, time_field(entry, "last_beat_ms"));
  if (!field(entry, "last_ok_ms").is_null()) client.last_ok = from_unix_ms(at, time_field(entry, "last_ok_ms"));
  client.next_due = from_unix_ms(at, time_field(entry, "next_due_ms"));
  client.down_at = client.next_due + client.grace;
  return client;
}

std::string read_limited(int fd, std::size_t limit, bool& too_big) {
  std::string text;
  char chunk[kReadChunkBytes];
  too_big = false;
  for (;;) {
    const ssize_t n = ::read(fd, chunk, sizeof chunk);
    if (n < 0) {
      if (errno == EINTR) continue;
      base::throw_last_error("read");
    }
    if (n == 0) return text;
    if (text.size() + static_cast<std::size_t>(n) > limit) {
      too_big = true;
      return text;
    }
    text.append(chunk, static_cast<std::size_t>(n));
  }
}

// Removes the temporary file unless the rename consumed it.
class TemporaryFile {
 public:
  explicit TemporaryFile(std::filesystem::path path) : path_(std::move(path)) {}
  TemporaryFile(const TemporaryFile&) = delete;
  TemporaryFile& operator=(const TemporaryFile&) = delete;
  ~TemporaryFile() {
    if (!path_.empty()) ::unlink(path_.c_str());
  }
  [[nodiscard]] const std::filesystem::path& path() const noexcept { return path_; }
  void release() noexcept { path_.clear(); }

 private:
  std::filesystem::path path_;
};

}  // namespace

std::string encode_state(const std::vector<ClientView>& clients, const TimeBase& at) {
  json entries = json::array();
  for (const ClientView& client : clients) {
    entries.push_back({
        {"id", client.id},
        {"state", to_string(client.state)},
        {"status", to_string(client.health)},
        {"interval_s", client.interval.count()},
        {"grace_s", client.grace.count()},
        {"beats", client.beats},
        {"remote_addr", client.remote_addr},
        {"msg", client.message},
        {"last_beat_ms", to_unix_ms(at, client.last_beat)},
        {"last_ok_ms", client.last_ok ? json(to_unix_ms(at, *client.last_ok)) : json(nullptr)},
        {"next_due_ms", to_unix_ms(at, client.next_due)},
    });
  }
  const json document = {
      {"format", kFormatName},
      {"version", kStateFileVersion},
      {"saved_at_ms", std::chrono::duration_cast<std::chrono::milliseconds>(at.wall.time_since_epoch()).count()},
      {"clients", std::move(entries)},
  };
  // Messages are validated UTF-8 already; `replace` only guards against a future path that is not.
  return document.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
}

DecodedState decode_state(std::string_view text, const TimeBase& at) {
  DecodedState decoded;
  const json document = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (document.is_discarded()) {
    decoded.problems.emplace_back("not valid JSON");
    return decoded;
  }
  if (!document.is_object() || !document.contains("format") || document["format"] != kFormatName) {
    decoded.problems.emplace_back(fmt::format("not a {} document", kFormatName));
    return decoded;
  }
  if (!document.contains("version") || document["version"] != kStateFileVersion) {
    decoded.problems.emplace_back(fmt::format("unsupported version {} (this build reads {})",
                                              document.value("version", json()).dump(), kStateFileVersion));
    return decoded;
  }
  if (!document.contains("clients") || !document["clients"].is_array()) {
    decoded.problems.emplace_back("\"clients\" is missing or not an array");
    return decoded;
  }
  decoded.usable = true;
  const json& entries = document["clients"];
  for (std::size_t i = 0; i < entries.size(); ++i) {
    try {
      decoded.clients.push_back(decode_client(entries[i], at));
    } catch (const EntryError& error) {
      const json& entry = entries[i];
      const bool has_id = entry.is_object() && entry.contains("id") && entry["id"].is_string();
      decoded.problems.push_back(fmt::format(
          "client #{}{}: {}", i + 1, has_id ? fmt::format(" ({})", entry["id"].dump()) : std::string(), error.what()));
    }
  }
  return decoded;
}

LoadedState load_state_file(const std::filesystem::path& path, const TimeBase& at) {
  LoadedState loaded;
  const base::UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) {
    const int error = errno;
    if (error == ENOENT) {
      loaded.status = LoadStatus::kMissing;
      loaded.problems.push_back(fmt::format("{}: no state file yet; starting empty", path.string()));
    } else {
      loaded.status = LoadStatus::kUnreadable;
      loaded.problems.push_back(
          fmt::format("{}: cannot open: {}; starting empty", path.string(), std::strerror(error)));
    }
    return loaded;
  }
  std::string text;
  bool too_big = false;
  try {
    text = read_limited(fd.get(), kMaxStateFileBytes, too_big);
  } catch (const std::system_error& error) {
    loaded.status = LoadStatus::kUnreadable;
    loaded.problems.push_back(fmt::format("{}: {}; starting empty", path.string(), error.what()));
    return loaded;
  }
  if (too_big) {
    loaded.status = LoadStatus::kCorrupt;
    loaded.problems.push_back(
        fmt::format("{}: larger than {} bytes; ignored, starting empty", path.string(), kMaxStateFileBytes));
    return loaded;
  }
  DecodedState decoded = decode_state(text, at);
  loaded.status = decoded.usable ? LoadStatus::kLoaded : LoadStatus::kCorrupt;
  for (const std::string& problem : decoded.problems) {
    loaded.problems.push_back(fmt::format("{}: {}{}", path.string(), problem,
                                          decoded.usable ? "; entry skipped" : "; file ignored, starting empty"));
  }
  loaded.clients = std::move(decoded.clients);
  return loaded;
}

void write_file_atomically(const std::filesystem::path& path, std::string_view contents) {
  const std::filesystem::path directory = path.has_parent_path() ? path.parent_path() : std::filesystem::path(".");
  std::filesystem::path temporary_path = path;
  temporary_path += fmt::format(".tmp.{}", ::getpid());

  base::UniqueFd fd(::open(temporary_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (!fd) base::throw_last_error("open " + temporary_path.string());
  TemporaryFile temporary(temporary_path);
  while (!contents.empty()) {
    const ssize_t n = ::write(fd.get(), contents.data(), contents.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      base::throw_last_error("write " + temporary.path().string());
    }
    contents.remove_prefix(static_cast<std::size_t>(n));
  }
  // The data must be on disk before the rename makes it the state file.
  if (::fsync(fd.get()) != 0) base::throw_last_error("fsync " + temporary.path().string());
  fd.reset();
  if (::rename(temporary.path().c_str(), path.c_str()) != 0) {
    base::throw_last_error("rename " + temporary.path().string() + " to " + path.string());
  }
  temporary.release();
  // And the rename itself must be on disk, or a crash could bring the old file back.
  const base::UniqueFd directory_fd(::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!directory_fd) base::throw_last_error("open " + directory.string());
  if (::fsync(directory_fd.get()) != 0) base::throw_last_error("fsync " + directory.string());
}

}  // namespace pulse::presence
