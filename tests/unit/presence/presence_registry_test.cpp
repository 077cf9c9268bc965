// PresenceRegistry with a ManualClock: every transition, grace, retention, failing, sign-off,
// limits, the rate limit, and the event sequence / version that drive SSE and the ETag.
#include "pulse/presence/presence_registry.hpp"

#include <fmt/format.h>
#include <catch2/catch.hpp>
#include <memory>
#include <string>

using namespace std::chrono_literals;
using pulse::presence::BeatOutcome;
using pulse::presence::BeatRequest;
using pulse::presence::ClientState;
using pulse::presence::EventKind;
using pulse::presence::Health;
using pulse::presence::LeaveReason;
using pulse::presence::ListFilter;
using pulse::presence::ManualClock;
using pulse::presence::PresenceRegistry;
using pulse::presence::RegistryOptions;

namespace {

constexpr std::uint64_t kStart = 5000;

struct Fixture {
  explicit Fixture(RegistryOptions options = {}) : registry(with_start(std::move(options)), clock) {}

  static RegistryOptions with_start(RegistryOptions options) {
    if (!options.start_sequence) options.start_sequence = kStart;
    return options;
  }

  std::shared_ptr<ManualClock> clock = std::make_shared<ManualClock>();
  PresenceRegistry registry;
};

BeatRequest beat_of(std::string id, std::optional<std::chrono::seconds> interval = std::nullopt,
                    std::optional<std::chrono::seconds> grace = std::nullopt, Health health = Health::kOk,
                    std::string message = {}) {
  BeatRequest request;
  request.id = std::move(id);
  request.interval = interval;
  request.grace = grace;
  request.health = health;
  request.message = std::move(message);
  request.remote_addr = "192.0.2.7";
  return request;
}

ClientState state_of(const PresenceRegistry& registry, std::string_view id) {
  const auto client = registry.find(id);
  REQUIRE(client);
  return client->state;
}

}  // namespace

TEST_CASE("the first beat creates a client, later beats update it", "[presence][registry]") {
  Fixture f;
  const auto first = f.registry.beat(beat_of("web-1", 10s, std::nullopt, Health::kOk, "booting"));
  REQUIRE(first.outcome == BeatOutcome::kCreated);
  CHECK_FALSE(first.previous);
  CHECK(first.changed());
  CHECK(first.client.id == "web-1");
  CHECK(first.client.state == ClientState::kUp);
  CHECK(first.client.beats == 1);
  CHECK(first.client.interval == 10s);
  CHECK(first.client.grace == 5s);
  CHECK(first.client.message == "booting");
  CHECK(first.client.remote_addr == "192.0.2.7");
  CHECK(first.client.last_beat == f.clock->now());
  CHECK(first.client.last_ok == f.clock->now());
  CHECK(first.client.next_due == f.clock->now() + 10s);
  CHECK(first.client.down_at == f.clock->now() + 15s);

  f.clock->advance(3s);
  const auto second = f.registry.beat(beat_of("web-1", 10s));
  REQUIRE(second.outcome == BeatOutcome::kUpdated);
  CHECK(second.previous == ClientState::kUp);
  CHECK_FALSE(second.changed());
  CHECK(second.client.beats == 2);
  CHECK(second.client.message.empty());  // each beat reports afresh
  CHECK(second.client.next_due == f.clock->now() + 10s);

  const auto found = f.registry.find("web-1");
  REQUIRE(found);
  CHECK(*found == second.client);
  CHECK_FALSE(f.registry.find("web-2"));
}

TEST_CASE("up -> late when the interval passes, late -> down after the grace", "[presence][registry]") {
  Fixture f;
  REQUIRE(f.registry.beat(beat_of("a", 10s, 4s)).accepted());

  f.clock->advance(10s - 1ms);
  CHECK(f.registry.tick().empty());
  CHECK(state_of(f.registry, "a") == ClientState::kUp);

  f.clock->advance(1ms);
  auto events = f.registry.tick();
  REQUIRE(events.size() == 1);
  CHECK(events[0].kind == EventKind::kChange);
  CHECK(events[0].previous == ClientState::kUp);
  CHECK(events[0].client.state == ClientState::kLate);
  CHECK(state_of(f.registry, "a") == ClientState::kLate);

  f.clock->advance(4s - 1ms);
  CHECK(f.registry.tick().empty());
  f.clock->advance(1ms);
  events = f.registry.tick();
  REQUIRE(events.size() == 1);
  CHECK(events[0].previous == ClientState::kLate);
  CHECK(events[0].client.state == ClientState::kDown);
  CHECK_FALSE(pulse::presence::is_online(state_of(f.registry, "a")));

  // Time alone never brings a client back; a beat does, and it is a change like any other.
  f.clock->advance(1h);
  CHECK(f.registry.tick().empty());
  const auto back = f.registry.beat(beat_of("a", 10s, 4s));
  CHECK(back.previous == ClientState::kDown);
  CHECK(back.client.state == ClientState::kUp);
  CHECK(back.changed());
  CHECK(f.registry.counters().transitions_total == 3);
}

TEST_CASE("the default grace is half the interval, at least 5 s", "[presence][registry]") {
  Fixture f;
  REQUIRE(f.registry.beat(beat_of("short", 4s)).accepted());
  REQUIRE(f.registry.beat(beat_of("long", 60s)).accepted());
  CHECK(f.registry.find("short")->grace == 5s);
  CHECK(f.registry.find("long")->grace == 30s);

  f.clock->advance(9s - 1ms);  // short: due at 4 s, down at 9 s
  f.registry.tick();
  CHECK(state_of(f.registry, "short") == ClientState::kLate);
  f.clock->advance(1ms);
  f.registry.tick();
  CHECK(state_of(f.registry, "short") == ClientState::kDown);

  f.clock->advance(90s - 9s - 1ms);  // long: due at 60 s, down at 90 s
  f.registry.tick();
  CHECK(state_of(f.registry, "long") == ClientState::kLate);
  f.clock->advance(1ms);
  f.registry.tick();
  CHECK(state_of(f.registry, "long") == ClientState::kDown);
}

TEST_CASE("without an interval the registry default applies", "[presence][registry]") {
  RegistryOptions options;
  options.default_interval = 120s;
  Fixture f(options);
  const auto result = f.registry.beat(beat_of("cron"));
  CHECK(result.client.interval == 120s);
  CHECK(result.client.grace == 60s);
}

TEST_CASE("a tick that comes late may jump straight from up to down", "[presence][registry]") {
  Fixture f;
  REQUIRE(f.registry.beat(beat_of("a", 10s, 5s)).accepted());
  f.clock->advance(1min);
  const auto events = f.registry.tick();
  REQUIRE(events.size() == 1);
  CHECK(events[0].previous == ClientState::kUp);
  CHECK(events[0].client.state == ClientState::kDown);
}

TEST_CASE("status=fail makes a client failing, never late or down while it beats", "[presence][registry]") {
  Fixture f;
  REQUIRE(f.registry.beat(beat_of("db", 10s)).accepted());
  f.clock->advance(2s);
  const auto failing = f.registry.beat(beat_of("db", 10s, std::nullopt, Health::kFail, "disk full"));
  CHECK(failing.previous == ClientState::kUp);
  CHECK(failing.client.state == ClientState::kFailing);
  CHECK(failing.changed());
  CHECK(failing.client.message == "disk full");
  // last_ok stays at the last healthy beat.
  CHECK(failing.client.last_ok == f.clock->now() - 2s);
  CHECK(f.registry.counters().clients[ClientState::kFailing] == 1);

  f.clock->advance(9s);
  CHECK(f.registry.tick().empty());
  CHECK(state_of(f.registry, "db") == ClientState::kFailing);

  // Failing and silent: a missed beat is reported as such.
  f.clock->advance(1s);
  const auto events = f.registry.tick();
  REQUIRE(events.size() == 1);
  CHECK(events[0].previous == ClientState::kFailing);
  CHECK(events[0].client.state == ClientState::kLate);

  const auto healthy = f.registry.beat(beat_of("db", 10s));
  CHECK(healthy.previous == ClientState::kLate);
  CHECK(healthy.client.state == ClientState::kUp);
  CHECK(healthy.client.last_ok == f.clock->now());
}

TEST_CASE("signing off removes the client instead of marking it down", "[presence][registry]") {
  Fixture f;
  REQUIRE(f.registry.beat(beat_of("a")).accepted());
  REQUIRE(f.registry.beat(beat_of("b")).accepted());
  const auto before = f.registry.last_sequence();

  CHECK(f.registry.remove("a"));
  CHECK_FALSE(f.registry.find("a"));
  CHECK_FALSE(f.registry.remove("a"));
  CHECK_FALSE(f.registry.remove("never-seen"));

  const auto listing = f.registry.list({});
  REQUIRE(listing.clients.size() == 1);
  CHECK(listing.clients[0].id == "b");
  CHECK(listing.counts.total() == 1);
  CHECK(listing.counts[ClientState::kDown] == 0);

  const auto events = f.registry.events_after(before);
  REQUIRE(events);
  REQUIRE(events->size() == 1);
  CHECK((*events)[0].kind == EventKind::kLeave);
  CHECK((*events)[0].reason == LeaveReason::kSignedOff);
  CHECK((*events)[0].client.id == "a");

  // The id is free again: its next beat is a new client.
  CHECK(f.registry.beat(beat_of("a")).outcome == BeatOutcome::kCreated);
}

TEST_CASE("clients down for longer than the retention are forgotten", "[presence][registry]") {
  RegistryOptions options;
  options.retention = 1h;
  Fixture f(options);
  REQUIRE(f.registry.beat(beat_of("gone", 10s, 5s)).accepted());
  REQUIRE(f.registry.beat(beat_of("stays", 1h)).accepted());

  f.clock->advance(15s);  // "gone" is down from here
  f.registry.tick();
  CHECK(state_of(f.registry, "gone") == ClientState::kDown);

  f.clock->advance(1h - 1ms);
  CHECK(f.registry.tick().size() == 1);  // only "stays" turning late
  CHECK(f.registry.find("gone"));

  f.clock->advance(1ms);
  const auto events = f.registry.tick();
  REQUIRE(events.size() == 1);
  CHECK(events[0].kind == EventKind::kLeave);
  CHECK(events[0].reason == LeaveReason::kExpired);
  CHECK(events[0].client.id == "gone");
  CHECK_FALSE(f.registry.find("gone"));
  CHECK(f.registry.find("stays"));
  CHECK(f.registry.counters().clients.total() == 1);
}

TEST_CASE("a client can go down and be forgotten in the same tick", "[presence][registry]") {
  RegistryOptions options;
  options.retention = 10min;
  Fixture f(options);
  REQUIRE(f.registry.beat(beat_of("a", 10s, 5s)).accepted());
  f.clock->advance(1h);
  const auto events = f.registry.tick();
  REQUIRE(events.size() == 2);
  CHECK(events[0].kind == EventKind::kChange);
  CHECK(events[0].client.state == ClientState::kDown);
  CHECK(events[1].kind == EventKind::kLeave);
  CHECK(events[1].sequence == events[0].sequence + 1);
  CHECK(f.registry.counters().clients.total() == 0);
}

TEST_CASE("past the maximum, new ids are refused and known ids keep working", "[presence][registry]") {
  RegistryOptions options;
  options.max_clients = 3;
  Fixture f(options);
  for (const char* id : {"a", "b", "c"}) REQUIRE(f.registry.beat(beat_of(id)).outcome == BeatOutcome::kCreated);

  CHECK(f.registry.beat(beat_of("d")).outcome == BeatOutcome::kFull);
  CHECK_FALSE(f.registry.find("d"));
  f.clock->advance(1s);
  CHECK(f.registry.beat(beat_of("a")).outcome == BeatOutcome::kUpdated);
  CHECK(f.registry.counters().rejected_full_total == 1);

  REQUIRE(f.registry.remove("b"));
  CHECK(f.registry.beat(beat_of("d")).outcome == BeatOutcome::kCreated);
  CHECK(f.registry.beat(beat_of("e")).outcome == BeatOutcome::kFull);
  CHECK(f.registry.counters().clients.total() == 3);
}

TEST_CASE("more than 10 beats a second from one id are refused", "[presence][registry]") {
  Fixture f;
  for (int i = 0; i < 10; ++i) {
    INFO("beat " << i);
    REQUIRE(f.registry.beat(beat_of("eager")).accepted());
  }
  const auto refused = f.registry.beat(beat_of("eager", std::nullopt, std::nullopt, Health::kFail));
  CHECK(refused.outcome == BeatOutcome::kRateLimited);
  // Nothing of a refused beat is recorded.
  CHECK(f.registry.find("eager")->beats == 10);
  CHECK(state_of(f.registry, "eager") == ClientState::kUp);
  CHECK(f.registry.counters().rate_limited_total == 1);

  // Other ids are not affected.
  CHECK(f.registry.beat(beat_of("calm")).accepted());

  // The allowance refills at 10 per second: one beat per 100 ms.
  f.clock->advance(100ms);
  CHECK(f.registry.beat(beat_of("eager")).accepted());
  CHECK(f.registry.beat(beat_of("eager")).outcome == BeatOutcome::kRateLimited);
  f.clock->advance(1s);
  for (int i = 0; i < 10; ++i) CHECK(f.registry.beat(beat_of("eager")).accepted());
  CHECK(f.registry.beat(beat_of("eager")).outcome == BeatOutcome::kRateLimited);

  // 10 per second sustained is allowed.
  for (int i = 0; i < 50; ++i) {
    f.clock->advance(100ms);
    REQUIRE(f.registry.beat(beat_of("eager")).accepted());
  }
}

TEST_CASE("the rate limit can be turned off", "[presence][registry]") {
  RegistryOptions options;
  options.max_beats_per_second = 0;
  Fixture f(options);
  for (int i = 0; i < 100; ++i) REQUIRE(f.registry.beat(beat_of("fast")).accepted());
  CHECK(f.registry.find("fast")->beats == 100);
}

TEST_CASE("out-of-bounds beats are refused without a trace", "[presence][registry]") {
  Fixture f;
  CHECK(f.registry.beat(beat_of("bad id")).outcome == BeatOutcome::kInvalid);
  CHECK(f.registry.beat(beat_of("")).outcome == BeatOutcome::kInvalid);
  CHECK(f.registry.beat(beat_of("a", 0s)).outcome == BeatOutcome::kInvalid);
  CHECK(f.registry.beat(beat_of("a", std::chrono::days(30) + 1s)).outcome == BeatOutcome::kInvalid);
  CHECK(f.registry.beat(beat_of("a", 10s, 0s)).outcome == BeatOutcome::kInvalid);
  CHECK(f.registry.beat(beat_of("a", 10s, std::nullopt, Health::kOk, std::string(257, 'x'))).outcome ==
        BeatOutcome::kInvalid);
  CHECK(f.registry.beat(beat_of("a", std::chrono::days(30))).accepted());
  CHECK(f.registry.counters().clients.total() == 1);
  CHECK(f.registry.counters().beats_total == 1);
}

TEST_CASE("the version changes on every change, the sequence only on events", "[presence][registry]") {
  Fixture f;
  CHECK(f.registry.last_sequence() == kStart);
  const auto v0 = f.registry.version();

  REQUIRE(f.registry.beat(beat_of("a", 10s, 5s)).accepted());  // join
  const auto v1 = f.registry.version();
  CHECK(v1 != v0);
  CHECK(f.registry.last_sequence() == kStart + 1);

  f.clock->advance(1s);
  REQUIRE(f.registry.beat(beat_of("a", 10s, 5s)).accepted());  // a plain beat: shown in lists
  const auto v2 = f.registry.version();
  CHECK(v2 != v1);
  CHECK(f.registry.last_sequence() == kStart + 1);

  // Time passing without a transition changes nothing.
  f.clock->advance(1s);
  CHECK(f.registry.tick().empty());
  CHECK(f.registry.version() == v2);
  CHECK(f.registry.list({}).version == v2);

  // A refused beat changes nothing either: rate-limited or invalid.
  for (int i = 0; i < 20; ++i) (void)f.registry.beat(beat_of("a", 10s, 5s));
  const auto v3 = f.registry.version();
  REQUIRE(f.registry.beat(beat_of("a", 10s, 5s)).outcome == BeatOutcome::kRateLimited);
  CHECK(f.registry.version() == v3);
  REQUIRE(f.registry.beat(beat_of("b b")).outcome == BeatOutcome::kInvalid);
  CHECK(f.registry.version() == v3);

  f.clock->advance(1min);
  const auto events = f.registry.tick();  // a: up -> down
  REQUIRE(events.size() == 1);
  CHECK(events[0].sequence == kStart + 2);
  CHECK(f.registry.version() != v3);

  const auto history = f.registry.events_after(kStart);
  REQUIRE(history);
  REQUIRE(history->size() == 2);
  CHECK((*history)[0].kind == EventKind::kJoin);
  CHECK((*history)[0].client.id == "a");
  CHECK((*history)[1].kind == EventKind::kChange);

  const auto listing = f.registry.list({});
  CHECK(listing.sequence == kStart + 2);
  CHECK(listing.version == f.registry.version());
}

TEST_CASE("the event history is bounded", "[presence][registry]") {
  RegistryOptions options;
  options.event_history = 4;
  Fixture f(options);
  for (int i = 0; i < 10; ++i) REQUIRE(f.registry.beat(beat_of(fmt::format("c{}", i))).accepted());
  CHECK(f.registry.last_sequence() == kStart + 10);
  CHECK_FALSE(f.registry.events_after(kStart));
  CHECK_FALSE(f.registry.events_after(kStart + 5));
  const auto recent = f.registry.events_after(kStart + 6);
  REQUIRE(recent);
  CHECK(recent->size() == 4);
  CHECK(recent->front().client.id == "c6");
}

TEST_CASE("the default event numbering starts at the clock in microseconds", "[presence][registry]") {
  auto clock = std::make_shared<ManualClock>();
  const PresenceRegistry registry({}, clock);
  const auto micros = std::chrono::duration_cast<std::chrono::microseconds>(clock->now().time_since_epoch()).count();
  CHECK(registry.last_sequence() == static_cast<std::uint64_t>(micros));
}

TEST_CASE("listings are sorted, filtered, and count every client", "[presence][registry]") {
  Fixture f;
  for (const char* id : {"web-2", "db-1", "web-1", "web-3"}) REQUIRE(f.registry.beat(beat_of(id, 60s)).accepted());
  REQUIRE(f.registry.beat(beat_of("web-3", 60s, std::nullopt, Health::kFail)).accepted());
  REQUIRE(f.registry.beat(beat_of("cache", 10s, 5s)).accepted());
  f.clock->advance(11s);
  f.registry.tick();  // cache: late

  const auto all = f.registry.list({});
  REQUIRE(all.clients.size() == 5);
  CHECK(all.clients[0].id == "cache");
  CHECK(all.clients[1].id == "db-1");
  CHECK(all.clients[4].id == "web-3");
  CHECK(all.counts[ClientState::kUp] == 3);
  CHECK(all.counts[ClientState::kLate] == 1);
  CHECK(all.counts[ClientState::kFailing] == 1);
  CHECK(all.counts.online() == 5);

  ListFilter web;
  web.prefix = "web-";
  const auto webs = f.registry.list(web);
  REQUIRE(webs.clients.size() == 3);
  CHECK(webs.clients[0].id == "web-1");
  CHECK(webs.counts.total() == 5);  // counts stay registry-wide

  ListFilter late;
  late.states.reset();
  late.states.set(pulse::presence::index_of(ClientState::kLate));
  const auto lates = f.registry.list(late);
  REQUIRE(lates.clients.size() == 1);
  CHECK(lates.clients[0].id == "cache");

  ListFilter failing_web = web;
  failing_web.states.reset();
  failing_web.states.set(pulse::presence::index_of(ClientState::kFailing));
  const auto failing_webs = f.registry.list(failing_web);
  REQUIRE(failing_webs.clients.size() == 1);
  CHECK(failing_webs.clients[0].id == "web-3");

  ListFilter none;
  none.prefix = "zzz";
  CHECK(f.registry.list(none).clients.empty());
}

TEST_CASE("take_beaten reports each client that beat once", "[presence][registry]") {
  RegistryOptions options;
  options.max_beats_per_second = 0;
  Fixture f(options);
  for (int i = 0; i < 3; ++i) {
    REQUIRE(f.registry.beat(beat_of("a")).accepted());
    REQUIRE(f.registry.beat(beat_of("b")).accepted());
  }
  auto beaten = f.registry.take_beaten(100);
  REQUIRE(beaten.size() == 2);
  for (const auto& client : beaten) CHECK(client.beats == 3);
  CHECK(f.registry.take_beaten(100).empty());

  REQUIRE(f.registry.beat(beat_of("a")).accepted());
  REQUIRE(f.registry.beat(beat_of("c")).accepted());
  REQUIRE(f.registry.remove("c"));
  beaten = f.registry.take_beaten(100);
  REQUIRE(beaten.size() == 1);
  CHECK(beaten[0].id == "a");
  CHECK(beaten[0].beats == 4);

  for (int i = 0; i < 10; ++i) REQUIRE(f.registry.beat(beat_of(fmt::format("n{}", i))).accepted());
  CHECK(f.registry.take_beaten(4).size() == 4);
  CHECK(f.registry.take_beaten(100).size() == 6);
}

TEST_CASE("restored clients get a fresh interval plus grace", "[presence][registry]") {
  Fixture old_run;
  REQUIRE(old_run.registry.beat(beat_of("up", 10s, 5s, Health::kOk, "fine")).accepted());
  REQUIRE(old_run.registry.beat(beat_of("failing", 10s, 5s, Health::kFail)).accepted());
  REQUIRE(old_run.registry.beat(beat_of("late", 2s, 20s)).accepted());
  REQUIRE(old_run.registry.beat(beat_of("down", 1s, 1s)).accepted());
  old_run.clock->advance(8s);
  old_run.registry.tick();
  REQUIRE(state_of(old_run.registry, "late") == ClientState::kLate);
  REQUIRE(state_of(old_run.registry, "down") == ClientState::kDown);
  const auto saved = old_run.registry.export_clients();
  REQUIRE(saved.size() == 4);

  Fixture f;
  f.clock->advance(1h);                                     // the new process starts an hour later on its own clock
  REQUIRE(f.registry.beat(beat_of("up", 30s)).accepted());  // already beat since the restart: kept
  CHECK(f.registry.restore(saved) == 3);
  CHECK(f.registry.find("up")->interval == 30s);

  CHECK(state_of(f.registry, "failing") == ClientState::kFailing);
  CHECK(state_of(f.registry, "late") == ClientState::kUp);
  CHECK(state_of(f.registry, "down") == ClientState::kDown);
  const auto late = f.registry.find("late");
  CHECK(late->next_due == f.clock->now() + 2s);
  CHECK(late->down_at == f.clock->now() + 22s);
  CHECK(late->beats == 1);
  CHECK(f.registry.find("down")->down_at <= f.clock->now());

  // No false alarm before interval + grace; then the usual transitions.
  f.clock->advance(2s);
  auto events = f.registry.tick();
  REQUIRE(events.size() == 1);
  CHECK(events[0].client.id == "late");
  CHECK(events[0].client.state == ClientState::kLate);
  f.clock->advance(13s);  // failing: 10 s interval + 5 s grace
  events = f.registry.tick();
  CHECK(state_of(f.registry, "failing") == ClientState::kDown);
  CHECK(f.registry.counters().clients.total() == 4);
}

TEST_CASE("restore skips invalid entries and respects the maximum", "[presence][registry]") {
  RegistryOptions options;
  options.max_clients = 2;
  Fixture f(options);
  pulse::presence::ClientView good;
  good.id = "good";
  good.interval = 10s;
  good.grace = 5s;
  auto bad_id = good;
  bad_id.id = "bad id";
  auto bad_interval = good;
  bad_interval.id = "bad-interval";
  bad_interval.interval = 0s;
  auto second = good;
  second.id = "second";
  auto third = good;
  third.id = "third";
  CHECK(f.registry.restore({good, bad_id, bad_interval, good, second, third}) == 2);
  CHECK(f.registry.find("good"));
  CHECK(f.registry.find("second"));
  CHECK_FALSE(f.registry.find("third"));
  CHECK(f.registry.counters().clients.total() == 2);
}

TEST_CASE("re-creating ids never grows memory", "[presence][registry][memory]") {
  // The reported leak: with no event stream open nobody calls take_beaten(), and every id that
  // was created and deleted left an entry in the beaten list for good.
  constexpr int kIds = 1000;
  constexpr int kCycles = 100'000;
  RegistryOptions options;
  options.max_clients = kIds;
  Fixture f(options);
  PresenceRegistry::MemoryStats after_first_round;
  for (int cycle = 0; cycle < kCycles; ++cycle) {
    const std::string id = fmt::format("client-{}", cycle % kIds);
    REQUIRE(f.registry.beat(beat_of(id)).outcome == BeatOutcome::kCreated);
    REQUIRE(f.registry.beat(beat_of(id)).outcome == BeatOutcome::kUpdated);
    // Every other id is deleted at once; the rest stay until the end of their round.
    if (cycle % 2 == 0) REQUIRE(f.registry.remove(id));
    if (cycle % kIds == kIds - 1) {
      for (int i = 1; i < kIds; i += 2) REQUIRE(f.registry.remove(fmt::format("client-{}", i)));
      const auto stats = f.registry.memory_stats();
      CHECK(stats.clients == 0);
      CHECK(stats.beaten == 0);
      CHECK(stats.events <= options.event_history);
      if (cycle == kIds - 1) after_first_round = stats;
      // Hash buckets stay at their peak, which the first round reached.
      CHECK(stats.client_buckets == after_first_round.client_buckets);
      CHECK(stats.scheduled == 0);
      CHECK(stats.history_entries == 0);
      CHECK(stats.history_slots == 0);
    }
    f.clock->advance(1s);  // well under the rate limit
  }
  const auto end = f.registry.memory_stats();
  CHECK(end.clients == 0);
  CHECK(end.beaten == 0);
  CHECK(end.events == options.event_history);
  CHECK(end.client_buckets <= 2 * kIds);
  CHECK(end.scheduled == 0);
  CHECK(f.registry.take_beaten(kIds).empty());
  CHECK(f.registry.counters().clients.total() == 0);
}

TEST_CASE("the beaten set holds only live clients, each once", "[presence][registry][memory]") {
  RegistryOptions options;
  options.max_beats_per_second = 0;
  options.retention = 10s;
  Fixture f(options);
  for (int i = 0; i < 100; ++i) {
    for (int beat = 0; beat < 5; ++beat) REQUIRE(f.registry.beat(beat_of(fmt::format("n{}", i), 1s, 1s)).accepted());
  }
  CHECK(f.registry.memory_stats().beaten == 100);
  for (int i = 0; i < 40; ++i) REQUIRE(f.registry.remove(fmt::format("n{}", i)));
  CHECK(f.registry.memory_stats().beaten == 60);

  // Clients forgotten after the retention leave the set too.
  f.clock->advance(2s);
  f.registry.tick();  // down
  f.clock->advance(10s);
  f.registry.tick();  // forgotten
  const auto stats = f.registry.memory_stats();
  CHECK(stats.clients == 0);
  CHECK(stats.beaten == 0);
  CHECK(f.registry.take_beaten(1000).empty());
}

TEST_CASE("per-id state stays within its limits whatever the caller passes", "[presence][registry][memory]") {
  Fixture f;
  BeatRequest request = beat_of("web-1");
  request.remote_addr = std::string(10'000, '1');
  const auto result = f.registry.beat(request);
  REQUIRE(result.accepted());
  CHECK(result.client.remote_addr.size() == pulse::presence::kMaxRemoteAddrBytes);

  // Restoring trusts nothing either: an address that no peer could have is refused.
  pulse::presence::ClientView saved = result.client;
  saved.id = "restored";
  saved.remote_addr = "bad\naddress";
  CHECK(f.registry.restore({saved}) == 0);
}

TEST_CASE("runs and logs take memory only while a client has them", "[presence][registry][memory]") {
  using pulse::presence::Signal;
  Fixture f;
  REQUIRE(f.registry.beat(beat_of("plain")).accepted());
  CHECK(f.registry.memory_stats().with_extras == 0);

  BeatRequest start = beat_of("job");
  start.health.reset();
  start.signal = Signal::kStart;
  REQUIRE(f.registry.beat(start).accepted());
  CHECK(f.registry.memory_stats().with_extras == 1);
  f.clock->advance(1s);
  REQUIRE(f.registry.beat(beat_of("job")).run_duration);  // status=ok ends it
  CHECK(f.registry.memory_stats().with_extras == 0);

  BeatRequest logged = beat_of("job");
  logged.log = "output";
  f.clock->advance(1s);
  REQUIRE(f.registry.beat(logged).accepted());
  CHECK(f.registry.memory_stats().with_extras == 1);
  f.clock->advance(1s);
  REQUIRE(f.registry.beat(beat_of("job")).accepted());  // no body: the log stays
  CHECK(f.registry.memory_stats().with_extras == 1);
  logged.log = "";
  f.clock->advance(1s);
  REQUIRE(f.registry.beat(logged).accepted());
  CHECK(f.registry.memory_stats().with_extras == 0);
  CHECK(f.registry.detail("job")->log.empty());
}

TEST_CASE("the history takes memory on the first entry, and none when it is off", "[presence][registry][memory]") {
  RegistryOptions off;
  off.history_length = 0;
  Fixture without(off);
  for (int i = 0; i < 10; ++i) REQUIRE(without.registry.beat(beat_of(fmt::format("c{}", i), 10s, 5s)).accepted());
  without.clock->advance(1min);
  without.registry.tick();
  CHECK(without.registry.memory_stats().history_slots == 0);

  Fixture with;
  REQUIRE(with.registry.beat(beat_of("a", 10s, 5s)).accepted());
  auto stats = with.registry.memory_stats();
  CHECK(stats.history_entries == 1);
  CHECK(stats.history_slots == 1);
  for (int i = 0; i < 30; ++i) {
    with.clock->advance(1min);
    with.registry.tick();                                           // down
    REQUIRE(with.registry.beat(beat_of("a", 10s, 5s)).accepted());  // up
  }
  stats = with.registry.memory_stats();
  CHECK(stats.history_entries == pulse::presence::kDefaultHistoryLength);
  CHECK(stats.history_slots == pulse::presence::kDefaultHistoryLength);
}

TEST_CASE("the deadline index holds every client but the paused ones, on every path", "[presence][registry][memory]") {
  using pulse::presence::Signal;
  RegistryOptions options;
  options.retention = 1min;
  Fixture f(options);
  const auto signal = [&](const char* id, Signal kind) {
    BeatRequest request = beat_of(id);
    request.health.reset();
    request.signal = kind;
    return f.registry.beat(request);
  };
  const auto scheduled = [&] { return f.registry.memory_stats().scheduled; };
  REQUIRE(f.registry.beat(beat_of("a", 10s, 5s)).accepted());
  REQUIRE(f.registry.beat(beat_of("b", 10s, 5s)).accepted());
  CHECK(scheduled() == 2);
  REQUIRE(signal("a", Signal::kPause).client.paused);
  CHECK(scheduled() == 1);
  REQUIRE(signal("a", Signal::kPause).client.paused);  // a second pause files nothing
  CHECK(scheduled() == 1);
  REQUIRE(signal("a", Signal::kAlive).client.paused);  // not held: ignored
  CHECK(scheduled() == 1);
  REQUIRE(signal("a", Signal::kHold).client.held);  // unpauses
  CHECK(scheduled() == 2);
  REQUIRE(signal("a", Signal::kPause).accepted());
  REQUIRE(signal("a", Signal::kAlive).client.paused);  // held: deadlines move, still paused
  REQUIRE(signal("a", Signal::kRelease).client.state == ClientState::kPaused);
  CHECK(scheduled() == 1);
  f.clock->advance(1s);
  REQUIRE(signal("a", Signal::kStart).client.state == ClientState::kUp);
  CHECK(scheduled() == 2);

  // Through late, down and forgotten, the index follows; a paused client is never visited.
  REQUIRE(signal("b", Signal::kPause).accepted());
  f.clock->advance(10s);
  CHECK(f.registry.tick().size() == 1);  // a: late
  CHECK(scheduled() == 1);
  f.clock->advance(5s);
  CHECK(f.registry.tick().size() == 1);  // a: down
  f.clock->advance(1min);
  const auto events = f.registry.tick();  // a: forgotten
  REQUIRE(events.size() == 1);
  CHECK(events[0].kind == EventKind::kLeave);
  CHECK(scheduled() == 0);
  CHECK(f.registry.memory_stats().clients == 1);
  REQUIRE(f.registry.remove("b"));
  CHECK(f.registry.memory_stats().clients == 0);
  CHECK(f.registry.memory_stats().beaten == 0);
}
