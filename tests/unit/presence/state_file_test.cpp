// The heartbeat state file: round trip through a real file, the atomic write, and every kind of
// damage being reported and survived.
#include "pulse/presence/state_file.hpp"

#include <catch2/catch.hpp>
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
using pulse::presence::TimeBase;
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
  pulse::presence::save_state_file(path, saved, TimeBase::now(*old_clock));

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
  const auto loaded = pulse::presence::load_state_file(path, TimeBase::now(*new_clock));
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
  const auto loaded = pulse::presence::load_state_file(dir.path() / "nope.json", TimeBase::now(ManualClock()));
  CHECK(loaded.status == LoadStatus::kMissing);
  CHECK(loaded.clients.empty());
  REQUIRE(loaded.problems.size() == 1);
  CHECK_THAT(loaded.problems[0], Catch::Contains("nope.json") && Catch::Contains("starting empty"));
}

TEST_CASE("a state file that cannot be read is reported", "[presence][state_file]") {
  TempDir dir;
  const auto loaded = pulse::presence::load_state_file(dir.path(), TimeBase::now(ManualClock()));  // a directory
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
    const auto loaded = pulse::presence::load_state_file(path, TimeBase::now(clock));
    CHECK(loaded.status == LoadStatus::kCorrupt);
    CHECK(loaded.clients.empty());
    REQUIRE(loaded.problems.size() == 1);
    CHECK_THAT(loaded.problems[0], Catch::Contains(c.reason) && Catch::Contains("file ignored"));
  }
}

TEST_CASE("bad entries are skipped one by one, with a reason each", "[presence][state_file]") {
  const ManualClock clock;
  const TimeBase at = TimeBase::now(clock);
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
  const TimeBase at = TimeBase::now(clock);
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
  CHECK(at.to_wall(client.last_beat).time_since_epoch() == 1000ms);
  REQUIRE(client.last_ok);
  CHECK(at.to_wall(*client.last_ok).time_since_epoch() == 900ms);
  CHECK(at.to_wall(client.next_due).time_since_epoch() == 31000ms);
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
