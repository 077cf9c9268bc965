// The heartbeat state file: round trip through a real file, the atomic write, and every kind of
// damage being reported and survived: hostile times, nesting, strings, counts, types, duplicates.
#include "pulse/presence/state_file.hpp"

#include <fmt/format.h>
#include <sys/stat.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdint>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "pulse/presence/presence_registry.hpp"
#include "support/temp_dir.hpp"

using namespace std::chrono_literals;
using pulse::presence::BeatRequest;
using pulse::presence::ClientState;
using pulse::presence::Health;
using pulse::presence::LoadStatus;
using pulse::presence::ManualClock;
using pulse::presence::PresenceRegistry;
using pulse::presence::RegistryOptions;
using pulse::presence::Signal;
using pulse::presence::Time;
using pulse::test::TempDir;

namespace {

void write_text(const std::filesystem::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  REQUIRE(out.good());
}

std::string read_text(const std::filesystem::path& path) {
  std::string text(std::filesystem::file_size(path), '\0');
  std::ifstream in(path, std::ios::binary);
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  REQUIRE(in.good());
  return text;
}

BeatRequest beat_of(std::string id, std::chrono::seconds interval, Health health = Health::kOk,
                    std::string message = {}) {
  BeatRequest request;
  request.id = std::move(id);
  request.interval = interval;
  request.health = health;
  request.message = std::move(message);
  request.remote_addr = "198.51.100.4";
  return request;
}

std::string one_client_document(const nlohmann::json& client) {
  return nlohmann::json{{"format", "pulse-heartbeat-state"}, {"version", 1}, {"clients", {client}}}.dump();
}

nlohmann::json valid_entry() {
  return {
      {"id", "a"},           {"state", "up"},        {"status", "ok"}, {"interval_s", 30},     {"grace_s", 15},
      {"beats", 2},          {"remote_addr", "::1"}, {"msg", ""},      {"last_beat_ms", 1000}, {"last_ok_ms", nullptr},
      {"next_due_ms", 31000}};
}

}  // namespace

TEST_CASE("the state file round-trips through a restart", "[presence][state_file]") {
  TempDir dir;
  const auto path = dir.path() / "heartbeat.json";

  auto old_clock = std::make_shared<ManualClock>();
  PresenceRegistry old_run({}, old_clock);
  REQUIRE(old_run.beat(beat_of("web-1", 10s, Health::kOk, "d\xC3\xA9j\xC3\xA0 \"quoted\"")).accepted());
  REQUIRE(old_run.beat(beat_of("db", 60s, Health::kFail, "disk full")).accepted());
  REQUIRE(old_run.beat(beat_of("gone", 1s)).accepted());
  old_clock->advance(12s);
  old_run.tick();  // web-1: late, gone: down
  REQUIRE(old_run.find("web-1")->state == ClientState::kLate);
  REQUIRE(old_run.find("gone")->state == ClientState::kDown);
  const auto saved = old_run.export_clients();
  pulse::presence::save_state_file(path, saved, old_clock->now());

  // Nothing but the state file is left in the directory.
  std::size_t files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir.path())) {
    CHECK(entry.path().filename() == "heartbeat.json");
    ++files;
  }
  CHECK(files == 1);

  // The new process: its monotonic clock knows nothing of the old one; wall time moved on 5 min.
  auto new_clock = std::make_shared<ManualClock>();
  new_clock->advance(12s + 5min);
  const auto loaded = pulse::presence::load_state_file(path, new_clock->now());
  REQUIRE(loaded.status == LoadStatus::kLoaded);
  CHECK(loaded.problems.empty());
  REQUIRE(loaded.clients.size() == 3);

  PresenceRegistry new_run({}, new_clock);
  CHECK(new_run.restore(loaded.clients) == 3);

  const auto web = new_run.find("web-1");
  REQUIRE(web);
  CHECK(web->state == ClientState::kUp);  // fresh interval: no false alarm
  CHECK(web->next_due == new_clock->now() + 10s);
  CHECK(web->message == "d\xC3\xA9j\xC3\xA0 \"quoted\"");
  CHECK(web->remote_addr == "198.51.100.4");
  CHECK(web->beats == 1);
  // Last beat keeps its wall-clock time: 5 min + 12 s ago, to the millisecond.
  CHECK(web->last_beat == new_clock->now() - 5min - 12s);
  REQUIRE(web->last_ok);
  CHECK(*web->last_ok == web->last_beat);

  const auto db = new_run.find("db");
  CHECK(db->state == ClientState::kFailing);
  CHECK(db->interval == 60s);
  CHECK(db->grace == 30s);
  CHECK_FALSE(db->last_ok);

  const auto gone = new_run.find("gone");
  CHECK(gone->state == ClientState::kDown);
  CHECK(gone->down_at == new_clock->now() - 5min - 12s + 6s);  // 1 s interval + 5 s grace after its beat
}

TEST_CASE("a missing state file is reported, not fatal", "[presence][state_file]") {
  TempDir dir;
  const auto loaded = pulse::presence::load_state_file(dir.path() / "nope.json", ManualClock().now());
  CHECK(loaded.status == LoadStatus::kMissing);
  CHECK(loaded.clients.empty());
  REQUIRE(loaded.problems.size() == 1);
  CHECK_THAT(loaded.problems[0], Catch::Contains("nope.json") && Catch::Contains("starting empty"));
}

TEST_CASE("a state file that cannot be read is reported", "[presence][state_file]") {
  TempDir dir;
  const auto loaded = pulse::presence::load_state_file(dir.path(), ManualClock().now());  // a directory
  CHECK(loaded.status == LoadStatus::kUnreadable);
  CHECK(loaded.clients.empty());
  CHECK(loaded.problems.size() == 1);
}

TEST_CASE("a corrupt state file is ignored as a whole", "[presence][state_file]") {
  TempDir dir;
  const auto path = dir.path() / "state.json";
  const ManualClock clock;
  struct Case {
    const char* name;
    std::string text;
    const char* reason;
  };
  const Case cases[] = {
      {"empty", "", "not valid JSON"},
      {"truncated", R"({"format":"pulse-heartbeat-state","version":1,"clients":[{"id":"a")", "not valid JSON"},
      {"binary", std::string("\x00\xff\x13garbage", 10), "not valid JSON"},
      {"another format", R"({"format":"something-else","version":1,"clients":[]})", "not a pulse-heartbeat-state"},
      {"an array", "[1,2,3]", "not a pulse-heartbeat-state"},
      {"a future version", R"({"format":"pulse-heartbeat-state","version":2,"clients":[]})", "unsupported version 2"},
      {"clients not a list", R"({"format":"pulse-heartbeat-state","version":1,"clients":{}})", "not an array"},
  };
  for (const Case& c : cases) {
    INFO(c.name);
    write_text(path, c.text);
    const auto loaded = pulse::presence::load_state_file(path, clock.now());
    CHECK(loaded.status == LoadStatus::kCorrupt);
    CHECK(loaded.clients.empty());
    REQUIRE(loaded.problems.size() == 1);
    CHECK_THAT(loaded.problems[0], Catch::Contains(c.reason) && Catch::Contains("file ignored"));
  }
}

TEST_CASE("bad entries are skipped one by one, with a reason each", "[presence][state_file]") {
  const ManualClock clock;
  const Time at = clock.now();
  struct Case {
    const char* name;
    nlohmann::json entry;
    const char* reason;
  };
  auto with = [](const char* key, nlohmann::json value) {
    auto entry = valid_entry();
    entry[key] = std::move(value);
    return entry;
  };
  auto without = [](const char* key) {
    auto entry = valid_entry();
    entry.erase(key);
    return entry;
  };
  const Case cases[] = {
      {"not an object", 42, "not an object"},
      {"invalid id", with("id", "no spaces"), "a space"},
      {"id not a string", with("id", 7), "\"id\" is not a string"},
      {"unknown state", with("state", "sleeping"), "\"state\""},
      {"unknown status", with("status", "meh"), "\"status\""},
      {"interval too long", with("interval_s", 99999999), "\"interval_s\" must be 1 to 2592000"},
      {"grace zero", with("grace_s", 0), "\"grace_s\""},
      {"beats negative", with("beats", -1), "negative"},
      {"time as text", with("last_beat_ms", "yesterday"), "not an integer"},
      {"time negative", with("next_due_ms", -5), "plausible"},
      {"message with a newline", with("msg", "a\nb"), "control character"},
      {"missing field", without("grace_s"), "missing \"grace_s\""},
  };
  for (const Case& c : cases) {
    INFO(c.name);
    const std::string text =
        nlohmann::json{{"format", "pulse-heartbeat-state"}, {"version", 1}, {"clients", {c.entry, valid_entry()}}}
            .dump();
    const auto decoded = pulse::presence::decode_state(text, at);
    CHECK(decoded.usable);
    REQUIRE(decoded.clients.size() == 1);  // the valid one survives
    REQUIRE(decoded.problems.size() == 1);
    CHECK_THAT(decoded.problems[0], Catch::Contains("client #1") && Catch::Contains(c.reason));
  }
}

TEST_CASE("a valid entry decodes every field", "[presence][state_file]") {
  const ManualClock clock;
  const Time at = clock.now();
  auto entry = valid_entry();
  entry["last_ok_ms"] = 900;
  entry["state"] = "failing";
  entry["status"] = "fail";
  entry["msg"] = "ok-ish";
  const auto decoded = pulse::presence::decode_state(one_client_document(entry), at);
  REQUIRE(decoded.usable);
  REQUIRE(decoded.clients.size() == 1);
  const auto& client = decoded.clients[0];
  CHECK(client.id == "a");
  CHECK(client.state == ClientState::kFailing);
  CHECK(client.health == Health::kFail);
  CHECK(client.interval == 30s);
  CHECK(client.grace == 15s);
  CHECK(client.beats == 2);
  CHECK(client.remote_addr == "::1");
  CHECK(client.message == "ok-ish");
  CHECK(client.last_beat.time_since_epoch() == 1000ms);
  REQUIRE(client.last_ok);
  CHECK(client.last_ok->time_since_epoch() == 900ms);
  CHECK(client.next_due.time_since_epoch() == 31000ms);
  CHECK(client.down_at == client.next_due + 15s);
}

TEST_CASE("the atomic write replaces the old file and cleans up after a failure", "[presence][state_file]") {
  TempDir dir;
  const auto path = dir.path() / "state.json";
  write_text(path, "old");
  pulse::presence::write_file_atomically(path, "new contents");
  CHECK(read_text(path) == "new contents");

  // The target is a directory: rename fails, the old data stays, no temporary file is left.
  const auto blocked = dir.path() / "blocked";
  std::filesystem::create_directory(blocked);
  write_text(blocked / "keep", "x");
  CHECK_THROWS_WITH(pulse::presence::write_file_atomically(blocked, "data"), Catch::Contains("rename"));
  std::size_t entries = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir.path())) {
    CHECK(entry.path().filename().string().find(".tmp.") == std::string::npos);
    ++entries;
  }
  CHECK(entries == 2);

  CHECK_THROWS_WITH(pulse::presence::write_file_atomically(dir.path() / "missing-dir" / "state.json", "x"),
                    Catch::Contains("open"));
}

// ---- Hostile files. Policy (state_file.hpp): a document our saver could not have written is
// ignored as a whole with one line; a bad entry is skipped with one line and the rest restored.

namespace {

using pulse::presence::DecodedState;
using pulse::presence::kMaxStateDocumentDepth;
using pulse::presence::kMaxStateStringBytes;

constexpr std::string_view kDeepMarker = "\"@@DEEP@@\"";

std::string nested_arrays(std::size_t depth) {
  return std::string(depth, '[') + std::string(depth, ']');
}

std::string nested_objects(std::size_t depth) {
  std::string text;
  for (std::size_t i = 0; i < depth; ++i) text += "{\"a\":";
  text += "0";
  text += std::string(depth, '}');
  return text;
}

// Nothing restored, one line that says why.
void check_ignored(const DecodedState& decoded, const std::string& reason) {
  CHECK_FALSE(decoded.usable);
  CHECK(decoded.clients.empty());
  REQUIRE(decoded.problems.size() == 1);
  CHECK_THAT(decoded.problems[0], Catch::Contains(reason));
}

// The bad entry (the only one in `text`) skipped with one line that says why, and a valid entry
// put before it restored. Spliced in as text: `text` may hold what no JSON library writes back.
void check_entry_skipped(std::string text, Time at, const std::string& reason) {
  auto good = valid_entry();
  good["id"] = "b";
  const std::string list = "\"clients\":[";
  REQUIRE(text.find(list) != std::string::npos);
  text.insert(text.find(list) + list.size(), good.dump() + ",");
  const auto decoded = pulse::presence::decode_state(text, at);
  for (const auto& problem : decoded.problems) UNSCOPED_INFO(problem);
  CHECK(decoded.usable);
  REQUIRE(decoded.clients.size() == 1);
  CHECK(decoded.clients[0].id == "b");
  REQUIRE(decoded.problems.size() == 1);
  CHECK_THAT(decoded.problems[0], Catch::Contains("client #2") && Catch::Contains(reason));
}

// `text` with its first `from` replaced by `to`.
std::string replaced(std::string text, std::string_view from, std::string_view to) {
  const auto at = text.find(from);
  REQUIRE(at != std::string::npos);
  return text.replace(at, from.size(), to);
}

std::int64_t unix_ms_of(Time at) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(at.time_since_epoch()).count();
}

}  // namespace

TEST_CASE("times are converted with checked arithmetic inside a 100-year window", "[presence][state_file]") {
  using pulse::presence::time_from_unix_ms;
  const ManualClock clock;
  const Time at = clock.now();
  const std::int64_t now_ms = unix_ms_of(at);
  constexpr std::int64_t kYearMs = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::years(1)).count();

  // Inside: exact, to the millisecond.
  CHECK(time_from_unix_ms(at, now_ms) == at);
  CHECK(time_from_unix_ms(at, now_ms + 99 * kYearMs) == at + std::chrono::milliseconds(99 * kYearMs));
  CHECK(time_from_unix_ms(at, now_ms - 56 * kYearMs) == at - std::chrono::milliseconds(56 * kYearMs));
  CHECK(time_from_unix_ms(at, 0));  // 1970 is 56 years before the test clock's 2026

  // Outside, or past what int64 nanoseconds hold.
  for (const std::int64_t ms : {now_ms + 101 * kYearMs, now_ms - 101 * kYearMs, std::int64_t{1} << 50,
                                (std::int64_t{1} << 50) + 1, INT64_MAX, INT64_MIN, INT64_MAX / 1'000'000 + 1}) {
    INFO(ms);
    CHECK_FALSE(time_from_unix_ms(at, ms));
  }

  // A clock near the end of int64 nanoseconds (2262): five years later cannot be held.
  const Time late(std::chrono::duration_cast<Time::duration>(std::chrono::years(290)));
  CHECK_FALSE(time_from_unix_ms(late, unix_ms_of(late) + 5 * kYearMs));
  CHECK(time_from_unix_ms(late, unix_ms_of(late) - 5 * kYearMs));
}

TEST_CASE("a huge or negative time skips the entry, never overflows", "[presence][state_file]") {
  const ManualClock clock;
  const Time at = clock.now();
  const std::int64_t now_ms = unix_ms_of(at);
  constexpr std::int64_t kYearMs = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::years(1)).count();
  struct Case {
    const char* name;
    nlohmann::json value;
    const char* reason;
  };
  const Case cases[] = {
      {"2^50 ms (the crash)", std::int64_t{1} << 50, "more than 100 years from now"},
      {"just past 2^50", (std::int64_t{1} << 50) + 1, "more than 100 years from now"},
      {"int64 max", INT64_MAX, "more than 100 years from now"},
      {"past int64", std::uint64_t{1} << 63, "out of range"},
      {"uint64 max", UINT64_MAX, "out of range"},
      {"101 years ahead", now_ms + 101 * kYearMs, "more than 100 years from now"},
      {"negative", -1, "before 1970"},
      {"int64 min", INT64_MIN, "before 1970"},
      {"beyond every integer", 1e300, "not an integer"},
      {"a fraction", 1000.5, "not an integer"},
  };
  for (const char* field : {"last_beat_ms", "last_ok_ms", "next_due_ms"}) {
    for (const Case& c : cases) {
      INFO(field << ": " << c.name);
      auto entry = valid_entry();
      entry[field] = c.value;
      check_entry_skipped(one_client_document(entry), at, c.reason);
    }
  }
}

TEST_CASE("deep nesting in any field ignores the file before the parser recurses", "[presence][state_file]") {
  const ManualClock clock;
  const Time at = clock.now();
  const std::string deep_arrays = nested_arrays(200'000);
  const std::string deep_objects = nested_objects(50'000);

  const auto valid = valid_entry();
  for (const auto& [key, value] : valid.items()) {
    for (const std::string* deep : {&deep_arrays, &deep_objects}) {
      INFO(key);
      auto entry = valid_entry();
      entry[key] = "@@DEEP@@";
      check_ignored(pulse::presence::decode_state(replaced(one_client_document(entry), kDeepMarker, *deep), at),
                    "nested deeper than 16 levels");
    }
  }
  // The document's own fields (the reported crash was a deep "version"), the client list, an
  // entry itself, and the whole document.
  for (const char* key : {"format", "version", "clients", "saved_at_ms", "unknown"}) {
    INFO(key);
    auto document =
        nlohmann::json{{"format", "pulse-heartbeat-state"}, {"version", 1}, {"clients", nlohmann::json::array()}};
    document[key] = "@@DEEP@@";
    check_ignored(pulse::presence::decode_state(replaced(document.dump(), kDeepMarker, deep_arrays), at),
                  "nested deeper than 16 levels");
  }
  const std::string as_entry = replaced(one_client_document("@@DEEP@@"), kDeepMarker, deep_objects);
  check_ignored(pulse::presence::decode_state(as_entry, at), "nested deeper than 16 levels");
  check_ignored(pulse::presence::decode_state(deep_arrays, at), "nested deeper than 16 levels");
  // Truncated deep input (never closed) and deep input behind a byte order mark, too.
  check_ignored(pulse::presence::decode_state(std::string(100'000, '['), at), "nested deeper");
  check_ignored(pulse::presence::decode_state("\xEF\xBB\xBF" + deep_arrays, at), "nested deeper");
  // Brackets inside strings are text, not nesting.
  auto entry = valid_entry();
  entry["msg"] = std::string(200, '[');
  const auto decoded = pulse::presence::decode_state(one_client_document(entry), at);
  CHECK(decoded.usable);
  CHECK(decoded.clients.size() == 1);

  // Through the file: one line, file ignored.
  TempDir dir;
  const auto path = dir.write("state.json", as_entry);
  const auto loaded = pulse::presence::load_state_file(path, at);
  CHECK(loaded.status == LoadStatus::kCorrupt);
  CHECK(loaded.clients.empty());
  REQUIRE(loaded.problems.size() == 1);
  CHECK_THAT(loaded.problems[0], Catch::Contains("nested deeper") && Catch::Contains("file ignored"));
}

TEST_CASE("nesting within the limit is a wrong type, never dumped", "[presence][state_file]") {
  const ManualClock clock;
  const Time at = clock.now();
  const std::string nested = nested_arrays(kMaxStateDocumentDepth - 3);  // document, list, entry
  for (const char* key : {"id", "state", "status", "interval_s", "beats", "msg", "remote_addr", "last_beat_ms"}) {
    INFO(key);
    auto entry = valid_entry();
    entry[key] = "@@DEEP@@";
    check_entry_skipped(replaced(one_client_document(entry), kDeepMarker, nested), at,
                        std::string("\"") + key + "\" is not");
  }
  const std::string text = replaced(
      nlohmann::json{{"format", "pulse-heartbeat-state"}, {"version", "@@DEEP@@"}, {"clients", nlohmann::json::array()}}
          .dump(),
      kDeepMarker, nested_objects(kMaxStateDocumentDepth - 1));
  check_ignored(pulse::presence::decode_state(text, at), "unsupported version an object");
}

TEST_CASE("string limits: ids, messages and addresses on load, any string in the document", "[presence][state_file]") {
  const ManualClock clock;
  const Time at = clock.now();
  auto with = [](const char* key, std::string value) {
    auto entry = valid_entry();
    entry[key] = std::move(value);
    return one_client_document(entry);
  };
  // Within the document limit, but not what a client may hold: the entry is skipped.
  check_entry_skipped(with("id", std::string(65, 'a')), at, "id is 65 characters long");
  check_entry_skipped(with("id", std::string(1000, 'a')), at, "id is 1000 characters long");
  check_entry_skipped(with("msg", std::string(257, 'm')), at, "msg is 257 bytes long");
  check_entry_skipped(with("remote_addr", std::string(65, '1')), at, "remote_addr is 65 bytes long");
  check_entry_skipped(with("remote_addr", "::1\n2001:db8::1"), at, "remote_addr contains byte 0x0A");
  check_entry_skipped(with("remote_addr", "a b"), at, "a space");

  // Longer than any field can be: the whole file is ignored before parsing it.
  for (const char* key : {"id", "msg", "remote_addr", "state"}) {
    INFO(key);
    check_ignored(pulse::presence::decode_state(with(key, std::string(kMaxStateStringBytes + 1, 'x')), at),
                  "a string longer than 1024 bytes");
  }
  check_ignored(pulse::presence::decode_state(with("msg", std::string(5'000'000, 'x')), at), "a string longer");
  auto huge_key = valid_entry();
  huge_key[std::string(5000, 'k')] = 1;
  check_ignored(pulse::presence::decode_state(one_client_document(huge_key), at), "a string longer");
  // Escapes count as written: 600 escaped quotes are 1200 bytes in the file.
  check_ignored(pulse::presence::decode_state(with("msg", std::string(600, '"')), at), "a string longer");
  // A number too long to be one we wrote.
  const std::string valid = one_client_document(valid_entry());
  check_ignored(pulse::presence::decode_state(replaced(valid, "31000", std::string(40, '9')), at),
                "a number longer than 32 characters");
  // Invalid UTF-8 never reaches the message check: the parser refuses the document.
  check_ignored(pulse::presence::decode_state(replaced(valid, "\"msg\":\"\"", "\"msg\":\"\xC3(\""), at),
                "not valid JSON");
}

TEST_CASE("more clients than the maximum ignores the file", "[presence][state_file]") {
  const ManualClock clock;
  const Time at = clock.now();
  nlohmann::json entries = nlohmann::json::array();
  for (int i = 0; i < 4; ++i) {
    auto entry = valid_entry();
    entry["id"] = fmt::format("c{}", i);
    entries.push_back(entry);
  }
  const std::string four =
      nlohmann::json{{"format", "pulse-heartbeat-state"}, {"version", 1}, {"clients", entries}}.dump();
  check_ignored(pulse::presence::decode_state(four, at, 3), "4 clients, more than the 3 allowed");
  const auto decoded = pulse::presence::decode_state(four, at, 4);
  CHECK(decoded.usable);
  CHECK(decoded.clients.size() == 4);
  CHECK(decoded.problems.empty());

  // A list of cheap values is refused by count before it is parsed, whatever it holds.
  std::string zeros = R"({"format":"pulse-heartbeat-state","version":1,"clients":[0)";
  for (int i = 0; i < 1'000'000; ++i) zeros += ",0";
  zeros += "]}";
  check_ignored(pulse::presence::decode_state(zeros, at, 1000),
                "more than 64064 JSON values, too many for 1000 clients");

  // load_state_file passes the maximum on.
  TempDir dir;
  const auto path = dir.write("state.json", four);
  const auto loaded = pulse::presence::load_state_file(path, at, 3);
  CHECK(loaded.status == LoadStatus::kCorrupt);
  CHECK(loaded.clients.empty());
  REQUIRE(loaded.problems.size() == 1);
  CHECK_THAT(loaded.problems[0], Catch::Contains("more than the 3 allowed") && Catch::Contains("file ignored"));
}

TEST_CASE("a file our saver writes at the maximum, with the longest fields, passes every limit",
          "[presence][state_file]") {
  constexpr std::size_t kClients = 2000;
  auto clock = std::make_shared<ManualClock>();
  RegistryOptions options;
  options.max_clients = kClients;
  PresenceRegistry registry(options, clock);
  for (std::size_t i = 0; i < kClients; ++i) {
    BeatRequest request = beat_of(fmt::format("{:0>64}", i), 30s, i % 2 ? Health::kFail : Health::kOk,
                                  std::string(256, i % 2 ? '"' : '\t'));  // each escaped to 2 bytes
    request.remote_addr = std::string(64, '\\');
    REQUIRE(registry.beat(request).accepted());
    // Every run open, each with the longest rid, and an exit status and a duration.
    for (std::size_t run = 0; run <= pulse::presence::kMaxOpenRuns; ++run) {
      BeatRequest start = request;
      start.signal = run == 0 ? Signal::kExit : Signal::kStart;
      start.exit_code = 255;
      start.run_id = fmt::format("{:\"<64}", run);
      clock->advance(100ms);
      REQUIRE(registry.beat(start).accepted());
    }
    if (i % 3 == 0) {
      BeatRequest pause = request;
      pause.signal = Signal::kPause;
      REQUIRE(registry.beat(pause).accepted());
    }
  }
  const Time at = clock->now();
  const std::string text = pulse::presence::encode_state(registry.export_clients(), at);
  const auto decoded = pulse::presence::decode_state(text, at, kClients);
  CHECK(decoded.problems.empty());
  CHECK(decoded.usable);
  CHECK(decoded.clients.size() == kClients);
}

TEST_CASE("wrong types anywhere are reported, never thrown", "[presence][state_file]") {
  const ManualClock clock;
  const Time at = clock.now();
  const nlohmann::json wrong[] = {nlohmann::json::array(), nlohmann::json::object(), true, nullptr, 1.5, "text", -3};
  const auto valid = valid_entry();
  for (const auto& [key, value] : valid.items()) {
    for (const auto& bad : wrong) {
      if (bad.type() == value.type()) continue;
      INFO(key << " = " << bad.dump());
      auto entry = valid_entry();
      entry[key] = bad;
      check_entry_skipped(one_client_document(entry), at, "\"" + key + "\"");
    }
  }
  const nlohmann::json bad_entries[] = {nlohmann::json::array(), nullptr, "a", 1, 2.5, false};
  for (const auto& bad : bad_entries) {
    INFO(bad.dump());
    check_entry_skipped(one_client_document(bad), at, "not an object");
  }
  struct Case {
    nlohmann::json document;
    const char* reason;
  };
  const Case documents[] = {
      {{{"format", 7}, {"version", 1}, {"clients", {}}}, "not a pulse-heartbeat-state"},
      {{{"version", 1}, {"clients", {}}}, "not a pulse-heartbeat-state"},
      {{{"format", "pulse-heartbeat-state"}, {"version", "1"}, {"clients", {}}}, "unsupported version \"1\""},
      {{{"format", "pulse-heartbeat-state"}, {"version", nullptr}, {"clients", {}}}, "unsupported version null"},
      {{{"format", "pulse-heartbeat-state"}, {"version", 1.5}, {"clients", {}}}, "unsupported version 1.5"},
      {{{"format", "pulse-heartbeat-state"}, {"version", "\x1b[31mred"}, {"clients", {}}},
       "unsupported version a string of 8 bytes"},
      {{{"format", "pulse-heartbeat-state"}, {"clients", {}}}, "unsupported version (none)"},
      {{{"format", "pulse-heartbeat-state"}, {"version", 1}, {"clients", "all"}}, "not an array"},
      {{{"format", "pulse-heartbeat-state"}, {"version", 1}}, "not an array"},
      {"pulse-heartbeat-state", "not a pulse-heartbeat-state"},
      {nullptr, "not a pulse-heartbeat-state"},
  };
  for (const Case& c : documents) {
    INFO(c.document.dump());
    check_ignored(pulse::presence::decode_state(c.document.dump(), at), c.reason);
  }
}

TEST_CASE("NaN and infinity are not JSON, and huge numbers are not integers", "[presence][state_file]") {
  const ManualClock clock;
  const Time at = clock.now();
  const std::string valid = one_client_document(valid_entry());
  for (const char* literal : {"NaN", "nan", "Infinity", "-Infinity", "inf", "1e", "--1", "0x10"}) {
    INFO(literal);
    check_ignored(pulse::presence::decode_state(replaced(valid, "31000", literal), at), "not valid JSON");
  }
  // Infinity has no JSON spelling either: a number beyond a double is refused by the parser.
  check_ignored(pulse::presence::decode_state(replaced(valid, "31000", "1e999"), at), "not valid JSON");
  check_ignored(pulse::presence::decode_state(replaced(valid, "\"version\":1", "\"version\":-1e999"), at),
                "not valid JSON");
  // The largest double is a number, but not an integer, for a field and for the version.
  check_entry_skipped(replaced(valid, "31000", "1.7e308"), at, "\"next_due_ms\" is not an integer");
  check_ignored(pulse::presence::decode_state(replaced(valid, "\"version\":1", "\"version\":-1.7e308"), at),
                "unsupported version -1.7e+308");
}

TEST_CASE("a duplicate id keeps the first entry and reports the second", "[presence][state_file]") {
  const ManualClock clock;
  const Time at = clock.now();
  auto first = valid_entry();
  first["beats"] = 1;
  auto second = valid_entry();
  second["beats"] = 2;
  auto other = valid_entry();
  other["id"] = "b";
  const std::string text =
      nlohmann::json{{"format", "pulse-heartbeat-state"}, {"version", 1}, {"clients", {first, other, second}}}.dump();
  const auto decoded = pulse::presence::decode_state(text, at);
  CHECK(decoded.usable);
  REQUIRE(decoded.clients.size() == 2);
  CHECK(decoded.clients[0].id == "a");
  CHECK(decoded.clients[0].beats == 1);
  CHECK(decoded.clients[1].id == "b");
  REQUIRE(decoded.problems.size() == 1);
  CHECK_THAT(decoded.problems[0], Catch::Contains("client #3 (\"a\")") && Catch::Contains("same id"));

  // A key repeated inside one entry is not a crash either (the parser keeps one of them).
  const std::string repeated =
      replaced(one_client_document(valid_entry()), "\"id\":\"a\"", "\"id\":\"a\",\"id\":\"z\"");
  const auto again = pulse::presence::decode_state(repeated, at);
  CHECK(again.usable);
  REQUIRE(again.clients.size() == 1);
  CHECK((again.clients[0].id == "a" || again.clients[0].id == "z"));
}

TEST_CASE("problem lines are bounded and printable", "[presence][state_file]") {
  const ManualClock clock;
  const Time at = clock.now();
  nlohmann::json entries = nlohmann::json::array();
  for (int i = 0; i < 50; ++i) entries.push_back(nlohmann::json{{"id", fmt::format("\x1b[2J{}\n", i)}});
  entries.push_back(valid_entry());
  const std::string text =
      nlohmann::json{{"format", "pulse-heartbeat-state"}, {"version", 1}, {"clients", entries}}.dump();
  const auto decoded = pulse::presence::decode_state(text, at);
  CHECK(decoded.usable);
  CHECK(decoded.clients.size() == 1);
  REQUIRE(decoded.problems.size() == pulse::presence::kMaxReportedEntryProblems + 1);
  CHECK_THAT(decoded.problems.back(), Catch::Contains("40 more bad entries skipped"));
  for (const std::string& line : decoded.problems) {
    INFO(line);
    CHECK(std::all_of(line.begin(), line.end(), [](char c) { return c >= 0x20 && c < 0x7f; }));
  }
}

TEST_CASE("a state file that is not a regular file, or too large, is not read", "[presence][state_file]") {
  TempDir dir;
  const Time at = ManualClock().now();
  // A FIFO would block open() or read() forever.
  const auto fifo = dir.path() / "fifo.json";
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  auto loaded = pulse::presence::load_state_file(fifo, at);
  CHECK(loaded.status == LoadStatus::kUnreadable);
  REQUIRE(loaded.problems.size() == 1);
  CHECK_THAT(loaded.problems[0], Catch::Contains("not a regular file"));

  // A sparse file one byte over the limit: refused by its size, without reading 256 MiB.
  const auto big = dir.path() / "big.json";
  write_text(big, "{");
  std::filesystem::resize_file(big, pulse::presence::kMaxStateFileBytes + 1);
  loaded = pulse::presence::load_state_file(big, at);
  CHECK(loaded.status == LoadStatus::kCorrupt);
  REQUIRE(loaded.problems.size() == 1);
  CHECK_THAT(loaded.problems[0], Catch::Contains("larger than") && Catch::Contains("file ignored"));
}

TEST_CASE("a byte order mark before a valid file is accepted", "[presence][state_file]") {
  const Time at = ManualClock().now();
  const auto decoded = pulse::presence::decode_state("\xEF\xBB\xBF" + one_client_document(valid_entry()), at);
  CHECK(decoded.usable);
  CHECK(decoded.clients.size() == 1);
}

TEST_CASE("pauses, open runs, durations and exit codes survive a restart, a hold does not", "[presence][state_file]") {
  TempDir dir;
  const auto path = dir.path() / "heartbeat.json";
  auto old_clock = std::make_shared<ManualClock>();
  PresenceRegistry old_run({}, old_clock);
  const auto signal = [&](std::string id, Signal kind, std::string rid = {}) {
    BeatRequest request = beat_of(std::move(id), 10s);
    request.health.reset();
    request.signal = kind;
    request.run_id = std::move(rid);
    request.exit_code = 7;
    return old_run.beat(request);
  };
  const Time started = old_clock->now();
  REQUIRE(old_run.beat(beat_of("maint", 10s)).accepted());
  REQUIRE(signal("maint", Signal::kPause).client.paused);
  REQUIRE(signal("etl", Signal::kStart, "batch \"7\"").accepted());
  REQUIRE(signal("etl", Signal::kStart).accepted());
  REQUIRE(signal("job", Signal::kStart).accepted());
  old_clock->advance(2500ms);
  REQUIRE(signal("job", Signal::kExit).run_duration == 2500ms);
  REQUIRE(signal("edge", Signal::kHold).client.held);
  pulse::presence::save_state_file(path, old_run.export_clients(), old_clock->now());

  auto new_clock = std::make_shared<ManualClock>();
  new_clock->advance(1h);
  const auto loaded = pulse::presence::load_state_file(path, new_clock->now());
  REQUIRE(loaded.status == LoadStatus::kLoaded);
  CHECK(loaded.problems.empty());
  PresenceRegistry new_run({}, new_clock);
  REQUIRE(new_run.restore(loaded.clients) == 4);

  const auto maint = new_run.find("maint");
  CHECK(maint->paused);
  CHECK(maint->state == ClientState::kPaused);
  const auto etl = new_run.find("etl");
  REQUIRE(etl->runs.size() == 2);
  CHECK(etl->runs[0].rid == "batch \"7\"");
  CHECK(etl->runs[0].started == started);
  CHECK(etl->runs[1].rid.empty());
  CHECK_FALSE(etl->last_duration);
  CHECK_FALSE(etl->exit_code);
  const auto job = new_run.find("job");
  CHECK(job->runs.empty());
  CHECK(job->last_duration == 2500ms);
  CHECK(job->exit_code == 7);
  CHECK(job->message == "exit 7");
  CHECK(job->state == ClientState::kFailing);
  const auto edge = new_run.find("edge");
  CHECK_FALSE(edge->held);
  CHECK(edge->next_due == new_clock->now() + 10s);  // its own interval, not the hold's refresh

  // The run restored ends as any other; time does nothing to the paused client.
  BeatRequest end = beat_of("etl", 10s);
  end.run_id = "batch \"7\"";
  CHECK(new_run.beat(end).run_duration ==
        std::chrono::duration_cast<std::chrono::milliseconds>(new_clock->now() - started));
  new_clock->advance(48h);  // past the retention
  new_run.tick();
  CHECK(new_run.find("maint")->state == ClientState::kPaused);
  CHECK_FALSE(new_run.find("edge"));
}

TEST_CASE("the new fields are optional, and checked when present", "[presence][state_file]") {
  const ManualClock clock;
  const Time at = clock.now();
  // A file from before them: none present.
  auto decoded = pulse::presence::decode_state(one_client_document(valid_entry()), at);
  REQUIRE(decoded.clients.size() == 1);
  CHECK_FALSE(decoded.clients[0].paused);
  CHECK(decoded.clients[0].runs.empty());
  CHECK_FALSE(decoded.clients[0].last_duration);
  CHECK_FALSE(decoded.clients[0].exit_code);

  auto entry = valid_entry();
  entry["state"] = "paused";
  entry["runs"] = {{{"rid", "r1"}, {"started_ms", 500}}};
  entry["last_duration_ms"] = 1234;
  entry["exit_code"] = 255;
  decoded = pulse::presence::decode_state(one_client_document(entry), at);
  REQUIRE(decoded.clients.size() == 1);
  const auto& client = decoded.clients[0];
  CHECK(client.paused);  // the state says so even without "paused"
  REQUIRE(client.runs.size() == 1);
  CHECK(client.runs[0].rid == "r1");
  CHECK(client.runs[0].started.time_since_epoch() == 500ms);
  CHECK(client.last_duration == 1234ms);
  CHECK(client.exit_code == 255);

  struct Bad {
    const char* key;
    nlohmann::json value;
    const char* reason;
  };
  const std::vector<Bad> bad{
      {"paused", 1, "\"paused\" is not true or false"},
      {"runs", "r1", "\"runs\" is not an array"},
      {"runs", {1}, "not an object"},
      {"runs", {{{"rid", "r"}}}, "missing \"started_ms\""},
      {"runs", {{{"rid", 5}, {"started_ms", 1}}}, "\"rid\" is not a string"},
      {"runs", {{{"rid", std::string(65, 'r')}, {"started_ms", 1}}}, "\"rid\" is not valid"},
      {"runs", {{{"rid", "bell\a"}, {"started_ms", 1}}}, "\"rid\" is not valid"},
      {"runs", {{{"rid", "r"}, {"started_ms", -1}}}, "before 1970"},
      {"last_duration_ms", -1, "\"last_duration_ms\" is negative"},
      {"last_duration_ms", "1", "\"last_duration_ms\" is not an integer"},
      {"exit_code", 256, "\"exit_code\" must be 0 to 255, not 256"},
      {"exit_code", -1, "\"exit_code\" must be 0 to 255, not -1"},
      {"exit_code", true, "\"exit_code\" is not an integer"},
  };
  for (const auto& c : bad) {
    INFO(c.key << " = " << c.value.dump());
    auto wrong = valid_entry();
    wrong[c.key] = c.value;
    check_entry_skipped(one_client_document(wrong), at, c.reason);
  }
  // More runs than can be open.
  auto many = valid_entry();
  many["runs"] = nlohmann::json::array();
  for (std::size_t i = 0; i <= pulse::presence::kMaxOpenRuns; ++i) {
    many["runs"].push_back({{"rid", fmt::format("r{}", i)}, {"started_ms", 1}});
  }
  check_entry_skipped(one_client_document(many), at, "at most 4 are open at once");
}
