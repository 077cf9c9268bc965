// The heartbeat state file: JSON encoding, strict decoding, and the atomic write.
#include "pulse/presence/state_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <system_error>
#include <unordered_set>

#include "pulse/base/system_error.hpp"
#include "pulse/base/unique_fd.hpp"
#include "pulse/presence/limits.hpp"
#include "pulse/presence/validation.hpp"

namespace pulse::presence {
namespace {

using nlohmann::json;

constexpr std::string_view kFormatName = "pulse-heartbeat-state";
constexpr std::size_t kReadChunkBytes = 64 * 1024;
// JSON values and keys outside the client entries: a saved document has 9 (its object, four keys,
// three scalars and the client list); the rest is slack.
constexpr std::size_t kMaxStateDocumentValues = 64;

std::int64_t to_unix_ms(Time t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
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

Time time_field(const json& entry, const char* name, Time now) {
  const std::int64_t value = integer_field(entry, name);
  if (value < 0) throw EntryError(fmt::format("\"{}\" is not a plausible time (before 1970)", name));
  const auto time = time_from_unix_ms(now, value);
  if (!time) {
    throw EntryError(fmt::format("\"{}\" is not a plausible time (more than {} years from now)", name,
                                 std::chrono::duration_cast<std::chrono::years>(kStateTimeWindow).count()));
  }
  return *time;
}

bool has_field(const json& entry, const char* name) {
  return entry.contains(name);
}

bool bool_field(const json& entry, const char* name) {
  const json& value = field(entry, name);
  if (!value.is_boolean()) throw EntryError(fmt::format("\"{}\" is not true or false", name));
  return value.get<bool>();
}

// Open runs: [{"rid": "...", "started_ms": N}, ...], oldest first, at most kMaxOpenRuns.
std::vector<OpenRun> runs_field(const json& entry, Time now) {
  const json& value = field(entry, "runs");
  if (!value.is_array()) throw EntryError("\"runs\" is not an array");
  if (value.size() > kMaxOpenRuns) {
    throw EntryError(fmt::format("\"runs\" holds {} runs; at most {} are open at once", value.size(), kMaxOpenRuns));
  }
  std::vector<OpenRun> runs;
  for (const json& run : value) {
    if (!run.is_object()) throw EntryError("a run in \"runs\" is not an object");
    OpenRun open;
    open.rid = string_field(run, "rid");
    if (open.rid.size() > kMaxRunIdBytes || message_error(open.rid)) {
      throw EntryError(fmt::format("a run's \"rid\" is not valid (at most {} bytes of text)", kMaxRunIdBytes));
    }
    open.started = time_field(run, "started_ms", now);
    runs.push_back(std::move(open));
  }
  return runs;
}

ClientView decode_client(const json& entry, Time now) {
  if (!entry.is_object()) throw EntryError("not an object");
  ClientView client;
  client.id = string_field(entry, "id");
  if (auto error = client_id_error(client.id)) throw EntryError(*error);
  const auto state = client_state_from_string(string_field(entry, "state"));
  if (!state) throw EntryError("\"state\" is not one of up, late, down, failing, paused");
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
  if (auto error = remote_addr_error(client.remote_addr)) throw EntryError(*error);
  client.message = string_field(entry, "msg");
  if (auto error = message_error(client.message)) throw EntryError(*error);
  client.last_beat = time_field(entry, "last_beat_ms", now);
  if (!field(entry, "last_ok_ms").is_null()) client.last_ok = time_field(entry, "last_ok_ms", now);
  client.next_due = time_field(entry, "next_due_ms", now);
  client.down_at = client.next_due + client.grace;  // within the window plus 30 days: no overflow
  // Issue 11's fields: absent from files saved before them, so each is optional.
  if (has_field(entry, "paused")) client.paused = bool_field(entry, "paused");
  if (client.state == ClientState::kPaused) client.paused = true;
  if (has_field(entry, "runs")) client.runs = runs_field(entry, now);
  if (has_field(entry, "last_duration_ms") && !field(entry, "last_duration_ms").is_null()) {
    const std::int64_t duration = integer_field(entry, "last_duration_ms");
    if (duration < 0) throw EntryError("\"last_duration_ms\" is negative");
    client.last_duration = std::chrono::milliseconds(duration);
  }
  if (has_field(entry, "exit_code") && !field(entry, "exit_code").is_null()) {
    const std::int64_t code = integer_field(entry, "exit_code");
    if (code < 0 || code > 255) throw EntryError(fmt::format("\"exit_code\" must be 0 to 255, not {}", code));
    client.exit_code = static_cast<std::uint8_t>(code);
  }
  return client;
}

// A value from the file, for a problem line: never its raw text (it may hold control bytes) and
// never dump() (it recurses as deep as the value is nested).
std::string describe(const json& value) {
  if (value.is_number_unsigned()) return fmt::format("{}", value.get<std::uint64_t>());
  if (value.is_number_integer()) return fmt::format("{}", value.get<std::int64_t>());
  if (value.is_number_float()) return fmt::format("{}", value.get<double>());
  if (value.is_boolean()) return value.get<bool>() ? "true" : "false";
  if (value.is_null()) return "null";
  if (value.is_string()) {
    const auto& text = value.get_ref<const std::string&>();
    const bool printable =
        std::all_of(text.begin(), text.end(), [](char c) { return c >= 0x20 && c < 0x7f && c != '"' && c != '\\'; });
    if (printable && text.size() <= kMaxIdBytes) return fmt::format("\"{}\"", text);
    return fmt::format("a string of {} bytes", text.size());
  }
  return value.is_array() ? "an array" : "an object";
}

// "client #3 (\"web-1\")": the id only when it is a valid one, so the line stays printable.
std::string describe_entry(const json& entry, std::size_t index) {
  if (entry.is_object()) {
    const auto id = entry.find("id");
    if (id != entry.end() && id->is_string() && !client_id_error(id->get_ref<const std::string&>())) {
      return fmt::format("client #{} (\"{}\")", index + 1, id->get_ref<const std::string&>());
    }
  }
  return fmt::format("client #{}", index + 1);
}

bool is_json_whitespace(char c) noexcept {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

bool ends_token(char c) noexcept {
  return is_json_whitespace(c) || c == ',' || c == ':' || c == '[' || c == ']' || c == '{' || c == '}' || c == '"';
}

// What can start a number or a literal (true, false, null).
bool starts_token(char c) noexcept {
  return (c >= '0' && c <= '9') || c == '-' || c == 't' || c == 'f' || c == 'n';
}

std::size_t saturating_budget(std::size_t max_clients) noexcept {
  std::size_t per_client = 0;
  std::size_t total = 0;
  if (__builtin_mul_overflow(max_clients, kMaxStateValuesPerClient, &per_client) ||
      __builtin_add_overflow(per_client, kMaxStateDocumentValues, &total)) {
    return SIZE_MAX;
  }
  return total;
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

std::optional<Time> time_from_unix_ms(Time now, std::int64_t unix_ms) noexcept {
  using std::chrono::duration_cast;
  using std::chrono::milliseconds;
  constexpr std::int64_t kWindowMillis = kStateTimeWindow.count();
  // What Time holds (int64 nanoseconds: 1677 to 2262), in whole milliseconds.
  constexpr std::int64_t kLimitMillis = duration_cast<milliseconds>(Time::duration::max()).count();
  const std::int64_t now_ms = duration_cast<milliseconds>(now.time_since_epoch()).count();
  std::int64_t offset_ms = 0;
  if (__builtin_sub_overflow(unix_ms, now_ms, &offset_ms)) return std::nullopt;
  if (offset_ms < -kWindowMillis || offset_ms > kWindowMillis) return std::nullopt;
  if (unix_ms >= kLimitMillis || unix_ms <= -kLimitMillis) return std::nullopt;
  return Time(duration_cast<Time::duration>(milliseconds(unix_ms)));
}

std::optional<std::string> state_document_shape_error(std::string_view text, std::size_t max_clients) {
  // Tokenises like the JSON parser on any valid prefix of `text`; at the first byte that cannot
  // continue JSON it stops, because the parser stops there too (with an error), so everything it
  // would build has been measured.
  const std::size_t max_values = saturating_budget(max_clients);
  std::size_t depth = 0;
  std::size_t values = 0;
  std::size_t i = text.starts_with("\xEF\xBB\xBF") ? 3 : 0;  // the parser skips a byte order mark
  while (i < text.size()) {
    const char c = text[i];
    if (is_json_whitespace(c) || c == ',' || c == ':') {
      ++i;
      continue;
    }
    if (c == '[' || c == '{') {
      if (++depth > kMaxStateDocumentDepth) {
        return fmt::format("nested deeper than {} levels (at byte {})", kMaxStateDocumentDepth, i + 1);
      }
      ++i;
    } else if (c == ']' || c == '}') {
      if (depth > 0) --depth;  // unbalanced: the parser rejects it
      ++i;
      continue;
    } else if (c == '"') {
      const std::size_t start = i;
      ++i;
      while (i < text.size() && text[i] != '"') i += text[i] == '\\' ? 2 : 1;
      ++i;  // the closing quote (past the end when truncated: the parser says so)
      if (i - start - 2 > kMaxStateStringBytes) {
        return fmt::format("a string longer than {} bytes (at byte {})", kMaxStateStringBytes, start + 1);
      }
    } else if (starts_token(c)) {
      const std::size_t start = i;
      while (i < text.size() && !ends_token(text[i])) ++i;
      if (i - start > kMaxStateNumberChars) {
        return fmt::format("a number longer than {} characters (at byte {})", kMaxStateNumberChars, start + 1);
      }
    } else {
      return std::nullopt;
    }
    if (++values > max_values) {
      return fmt::format("more than {} JSON values, too many for {} clients", max_values, max_clients);
    }
  }
  return std::nullopt;
}

std::string encode_state(const std::vector<ClientView>& clients, Time now) {
  json entries = json::array();
  for (const ClientView& client : clients) {
    // Not saved: `held` (no hold connection survives a restart), the log (up to 10 KiB each,
    // which at 100,000 clients would outgrow kMaxStateFileBytes) and the history.
    json runs = json::array();
    for (const OpenRun& run : client.runs) runs.push_back({{"rid", run.rid}, {"started_ms", to_unix_ms(run.started)}});
    entries.push_back({
        {"id", client.id},
        {"state", to_string(client.state)},
        {"status", to_string(client.health)},
        {"interval_s", client.interval.count()},
        {"grace_s", client.grace.count()},
        {"beats", client.beats},
        {"remote_addr", client.remote_addr},
        {"msg", client.message},
        {"last_beat_ms", to_unix_ms(client.last_beat)},
        {"last_ok_ms", client.last_ok ? json(to_unix_ms(*client.last_ok)) : json(nullptr)},
        {"next_due_ms", to_unix_ms(client.next_due)},
        {"paused", client.paused},
        {"runs", std::move(runs)},
        {"last_duration_ms", client.last_duration ? json(client.last_duration->count()) : json(nullptr)},
        {"exit_code", client.exit_code ? json(*client.exit_code) : json(nullptr)},
    });
  }
  const json document = {
      {"format", kFormatName},
      {"version", kStateFileVersion},
      {"saved_at_ms", to_unix_ms(now)},
      {"clients", std::move(entries)},
  };
  // Messages are validated UTF-8 already; `replace` only guards against a future path that is not.
  return document.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
}

DecodedState decode_state(std::string_view text, Time now, std::size_t max_clients) {
  DecodedState decoded;
  if (auto error = state_document_shape_error(text, max_clients)) {
    decoded.problems.push_back(std::move(*error));
    return decoded;
  }
  const json document = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (document.is_discarded()) {
    decoded.problems.emplace_back("not valid JSON");
    return decoded;
  }
  const auto format = document.is_object() ? document.find("format") : document.end();
  if (!document.is_object() || format == document.end() || *format != kFormatName) {
    decoded.problems.emplace_back(fmt::format("not a {} document", kFormatName));
    return decoded;
  }
  const auto version = document.find("version");
  if (version == document.end() || *version != kStateFileVersion) {
    decoded.problems.emplace_back(fmt::format("unsupported version {} (this build reads {})",
                                              version == document.end() ? std::string("(none)") : describe(*version),
                                              kStateFileVersion));
    return decoded;
  }
  const auto entries = document.find("clients");
  if (entries == document.end() || !entries->is_array()) {
    decoded.problems.emplace_back("\"clients\" is missing or not an array");
    return decoded;
  }
  if (entries->size() > max_clients) {
    decoded.problems.emplace_back(
        fmt::format("{} clients, more than the {} allowed (--heartbeat-max-clients)", entries->size(), max_clients));
    return decoded;
  }
  decoded.usable = true;
  decoded.clients.reserve(entries->size());
  std::unordered_set<std::string> ids;
  std::size_t unlisted = 0;
  for (std::size_t i = 0; i < entries->size(); ++i) {
    const json& entry = (*entries)[i];
    std::string problem;
    try {
      ClientView client = decode_client(entry, now);
      if (ids.contains(client.id)) {
        problem = "the same id as an earlier entry, which is kept";
      } else {
        decoded.clients.push_back(std::move(client));
        ids.insert(decoded.clients.back().id);
      }
    } catch (const EntryError& error) {
      problem = error.what();
    } catch (const json::exception& error) {  // a type check above missed a case: still one line
      problem = error.what();
    }
    if (problem.empty()) continue;
    if (decoded.problems.size() < kMaxReportedEntryProblems) {
      decoded.problems.push_back(fmt::format("{}: {}; entry skipped", describe_entry(entry, i), problem));
    } else {
      ++unlisted;
    }
  }
  if (unlisted > 0) decoded.problems.push_back(fmt::format("{} more bad entries skipped, not listed", unlisted));
  return decoded;
}

LoadedState load_state_file(const std::filesystem::path& path, Time now, std::size_t max_clients) {
  LoadedState loaded;
  // O_NONBLOCK: a FIFO planted at the path must not hang start-up in open() waiting for a writer.
  const base::UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK));
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
  struct stat status {};
  if (::fstat(fd.get(), &status) != 0 || !S_ISREG(status.st_mode)) {
    loaded.status = LoadStatus::kUnreadable;
    loaded.problems.push_back(fmt::format("{}: not a regular file; starting empty", path.string()));
    return loaded;
  }
  std::string text;
  bool too_big = static_cast<std::uintmax_t>(status.st_size) > kMaxStateFileBytes;
  if (!too_big) {
    try {
      text = read_limited(fd.get(), kMaxStateFileBytes, too_big);  // the file may grow meanwhile
    } catch (const std::system_error& error) {
      loaded.status = LoadStatus::kUnreadable;
      loaded.problems.push_back(fmt::format("{}: {}; starting empty", path.string(), error.what()));
      return loaded;
    }
  }
  if (too_big) {
    loaded.status = LoadStatus::kCorrupt;
    loaded.problems.push_back(
        fmt::format("{}: larger than {} bytes; file ignored, starting empty", path.string(), kMaxStateFileBytes));
    return loaded;
  }
  DecodedState decoded = decode_state(text, now, max_clients);
  loaded.status = decoded.usable ? LoadStatus::kLoaded : LoadStatus::kCorrupt;
  for (const std::string& problem : decoded.problems) {
    loaded.problems.push_back(
        fmt::format("{}: {}{}", path.string(), problem, decoded.usable ? "" : "; file ignored, starting empty"));
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
