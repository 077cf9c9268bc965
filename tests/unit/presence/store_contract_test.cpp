// The PresenceStore contract: every test here runs against the memory registry and against the
// Redis store (on a redis-server of this test's own), with a ManualClock, so both stores are
// held to one behaviour: outcomes, states, time-driven transitions and their events, limits,
// listings, the event history, versions, take_beaten and restore.
#include <fmt/format.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "support/store_factories.hpp"

using namespace std::chrono_literals;
using pulse::presence::BeatOutcome;
using pulse::presence::BeatRequest;
using pulse::presence::ClientState;
using pulse::presence::ClientView;
using pulse::presence::EventKind;
using pulse::presence::Health;
using pulse::presence::LeaveReason;
using pulse::presence::ListFilter;
using pulse::presence::ManualClock;
using pulse::presence::PresenceStore;
using pulse::test::MemoryStoreFactory;
using pulse::test::RedisStoreFactory;
using pulse::test::StorePolicy;

namespace {

template <typename Factory>
struct Subject {
  explicit Subject(const StorePolicy& policy = {}) : store(Factory::make(policy, clock)) {}

  std::shared_ptr<ManualClock> clock = std::make_shared<ManualClock>();
  std::unique_ptr<PresenceStore> store;
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

ClientState state_of(const PresenceStore& store, std::string_view id) {
  const auto client = store.find(id);
  REQUIRE(client);
  return client->state;
}

}  // namespace

#define STORE_CONTRACT(name) TEMPLATE_TEST_CASE(name, "[presence][contract]", MemoryStoreFactory, RedisStoreFactory)

STORE_CONTRACT("the first beat creates a client, later beats update it") {
  Subject<TestType> f;
  PresenceStore& store = *f.store;
  CHECK(store.now() == f.clock->now());
  const auto first = store.beat(beat_of("web-1", 10s, std::nullopt, Health::kOk, "booting"));
  REQUIRE(first.outcome == BeatOutcome::kCreated);
  CHECK_FALSE(first.previous);
  CHECK(first.changed());
  CHECK(first.client.id == "web-1");
  CHECK(first.client.state == ClientState::kUp);
  CHECK(first.client.health == Health::kOk);
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
  const auto second = store.beat(beat_of("web-1", 10s));
  REQUIRE(second.outcome == BeatOutcome::kUpdated);
  CHECK(second.previous == ClientState::kUp);
  CHECK_FALSE(second.changed());
  CHECK(second.client.beats == 2);
  CHECK(second.client.message.empty());
  CHECK(second.client.next_due == f.clock->now() + 10s);

  const auto found = store.find("web-1");
  REQUIRE(found);
  CHECK(*found == second.client);
  CHECK_FALSE(store.find("web-2"));
  CHECK(store.counters().beats_total == 2);
  CHECK(store.counters().clients.total() == 1);
}

STORE_CONTRACT("a remote address is capped, a message kept as sent") {
  Subject<TestType> f;
  auto request = beat_of("a", 10s, std::nullopt, Health::kOk, "caf\xc3\xa9 \"quoted\" \\ / \t tab");
  request.remote_addr = std::string(100, '1');
  const auto result = f.store->beat(request);
  REQUIRE(result.accepted());
  CHECK(result.client.remote_addr.size() == pulse::presence::kMaxRemoteAddrBytes);
  CHECK(f.store->find("a")->message == "caf\xc3\xa9 \"quoted\" \\ / \t tab");
}

STORE_CONTRACT("up -> late when the interval passes, late -> down after the grace") {
  Subject<TestType> f;
  PresenceStore& store = *f.store;
  REQUIRE(store.beat(beat_of("a", 10s, 4s)).accepted());

  f.clock->advance(10s - 1ms);
  CHECK(store.tick().empty());
  CHECK(state_of(store, "a") == ClientState::kUp);

  f.clock->advance(1ms);
  auto events = store.tick();
  REQUIRE(events.size() == 1);
  CHECK(events[0].kind == EventKind::kChange);
  CHECK(events[0].previous == ClientState::kUp);
  CHECK(events[0].client.state == ClientState::kLate);
  CHECK(state_of(store, "a") == ClientState::kLate);

  f.clock->advance(4s - 1ms);
  CHECK(store.tick().empty());
  f.clock->advance(1ms);
  events = store.tick();
  REQUIRE(events.size() == 1);
  CHECK(events[0].previous == ClientState::kLate);
  CHECK(events[0].client.state == ClientState::kDown);
  CHECK_FALSE(pulse::presence::is_online(state_of(store, "a")));

  f.clock->advance(1h);
  CHECK(store.tick().empty());
  const auto back = store.beat(beat_of("a", 10s, 4s));
  CHECK(back.previous == ClientState::kDown);
  CHECK(back.client.state == ClientState::kUp);
  CHECK(back.changed());
  CHECK(store.counters().transitions_total == 3);
}

STORE_CONTRACT("the default grace is half the interval, at least 5 s, and the default interval applies") {
  StorePolicy policy;
  policy.default_interval = 120s;
  Subject<TestType> f(policy);
  PresenceStore& store = *f.store;
  REQUIRE(store.beat(beat_of("short", 4s)).accepted());
  REQUIRE(store.beat(beat_of("long", 60s)).accepted());
  const auto cron = store.beat(beat_of("cron"));
  CHECK(cron.client.interval == 120s);
  CHECK(cron.client.grace == 60s);
  CHECK(store.find("short")->grace == 5s);
  CHECK(store.find("long")->grace == 30s);

  f.clock->advance(9s - 1ms);
  store.tick();
  CHECK(state_of(store, "short") == ClientState::kLate);
  f.clock->advance(1ms);
  store.tick();
  CHECK(state_of(store, "short") == ClientState::kDown);
  f.clock->advance(90s - 9s - 1ms);
  store.tick();
  CHECK(state_of(store, "long") == ClientState::kLate);
  f.clock->advance(1ms);
  store.tick();
  CHECK(state_of(store, "long") == ClientState::kDown);
}

STORE_CONTRACT("a tick that comes late may jump straight from up to down") {
  Subject<TestType> f;
  REQUIRE(f.store->beat(beat_of("a", 10s, 5s)).accepted());
  f.clock->advance(1min);
  const auto events = f.store->tick();
  REQUIRE(events.size() == 1);
  CHECK(events[0].previous == ClientState::kUp);
  CHECK(events[0].client.state == ClientState::kDown);
}

STORE_CONTRACT("status=fail makes a client failing, never late or down while it beats") {
  Subject<TestType> f;
  PresenceStore& store = *f.store;
  REQUIRE(store.beat(beat_of("db", 10s)).accepted());
  f.clock->advance(2s);
  const auto failing = store.beat(beat_of("db", 10s, std::nullopt, Health::kFail, "disk full"));
  CHECK(failing.previous == ClientState::kUp);
  CHECK(failing.client.state == ClientState::kFailing);
  CHECK(failing.client.health == Health::kFail);
  CHECK(failing.changed());
  CHECK(failing.client.last_ok == f.clock->now() - 2s);
  CHECK(store.counters().clients[ClientState::kFailing] == 1);

  f.clock->advance(9s);
  CHECK(store.tick().empty());
  CHECK(state_of(store, "db") == ClientState::kFailing);
  f.clock->advance(1s);
  const auto events = store.tick();
  REQUIRE(events.size() == 1);
  CHECK(events[0].previous == ClientState::kFailing);
  CHECK(events[0].client.state == ClientState::kLate);

  const auto healthy = store.beat(beat_of("db", 10s));
  CHECK(healthy.previous == ClientState::kLate);
  CHECK(healthy.client.state == ClientState::kUp);
  CHECK(healthy.client.last_ok == f.clock->now());
}

STORE_CONTRACT("signing off removes the client instead of marking it down") {
  Subject<TestType> f;
  PresenceStore& store = *f.store;
  REQUIRE(store.beat(beat_of("a")).accepted());
  REQUIRE(store.beat(beat_of("b")).accepted());
  const auto before = store.last_sequence();

  CHECK(store.remove("a"));
  CHECK_FALSE(store.find("a"));
  CHECK_FALSE(store.remove("a"));
  CHECK_FALSE(store.remove("never-seen"));

  const auto listing = store.list({});
  REQUIRE(listing.clients.size() == 1);
  CHECK(listing.clients[0].id == "b");
  CHECK(listing.counts.total() == 1);
  CHECK(listing.counts[ClientState::kDown] == 0);

  const auto events = store.events_after(before);
  REQUIRE(events);
  REQUIRE(events->size() == 1);
  CHECK((*events)[0].kind == EventKind::kLeave);
  CHECK((*events)[0].reason == LeaveReason::kSignedOff);
  CHECK((*events)[0].client.id == "a");

  CHECK(store.beat(beat_of("a")).outcome == BeatOutcome::kCreated);
}

STORE_CONTRACT("clients down for longer than the retention are forgotten") {
  StorePolicy policy;
  policy.retention = 1h;
  Subject<TestType> f(policy);
  PresenceStore& store = *f.store;
  REQUIRE(store.beat(beat_of("gone", 10s, 5s)).accepted());
  REQUIRE(store.beat(beat_of("stays", 1h)).accepted());

  f.clock->advance(15s);
  store.tick();
  CHECK(state_of(store, "gone") == ClientState::kDown);

  f.clock->advance(1h - 1ms);
  CHECK(store.tick().size() == 1);  // only "stays" turning late
  CHECK(store.find("gone"));

  f.clock->advance(1ms);
  const auto events = store.tick();
  REQUIRE(events.size() == 1);
  CHECK(events[0].kind == EventKind::kLeave);
  CHECK(events[0].reason == LeaveReason::kExpired);
  CHECK(events[0].client.id == "gone");
  CHECK_FALSE(store.find("gone"));
  CHECK(store.find("stays"));
  CHECK(store.counters().clients.total() == 1);
}

STORE_CONTRACT("a client can go down and be forgotten in the same tick") {
  StorePolicy policy;
  policy.retention = 10min;
  Subject<TestType> f(policy);
  REQUIRE(f.store->beat(beat_of("a", 10s, 5s)).accepted());
  f.clock->advance(1h);
  const auto events = f.store->tick();
  REQUIRE(events.size() == 2);
  CHECK(events[0].kind == EventKind::kChange);
  CHECK(events[0].client.state == ClientState::kDown);
  CHECK(events[1].kind == EventKind::kLeave);
  CHECK(events[1].sequence == events[0].sequence + 1);
  CHECK(f.store->counters().clients.total() == 0);
}

STORE_CONTRACT("past the maximum, new ids are refused and known ids keep working") {
  StorePolicy policy;
  policy.max_clients = 3;
  Subject<TestType> f(policy);
  PresenceStore& store = *f.store;
  for (const char* id : {"a", "b", "c"}) REQUIRE(store.beat(beat_of(id)).outcome == BeatOutcome::kCreated);

  CHECK(store.beat(beat_of("d")).outcome == BeatOutcome::kFull);
  CHECK_FALSE(store.find("d"));
  f.clock->advance(1s);
  CHECK(store.beat(beat_of("a")).outcome == BeatOutcome::kUpdated);
  CHECK(store.counters().rejected_full_total == 1);

  REQUIRE(store.remove("b"));
  CHECK(store.beat(beat_of("d")).outcome == BeatOutcome::kCreated);
  CHECK(store.beat(beat_of("e")).outcome == BeatOutcome::kFull);
  CHECK(store.counters().clients.total() == 3);
}

STORE_CONTRACT("more than 10 beats a second from one id are refused") {
  Subject<TestType> f;
  PresenceStore& store = *f.store;
  for (int i = 0; i < 10; ++i) {
    INFO("beat " << i);
    REQUIRE(store.beat(beat_of("eager")).accepted());
  }
  const auto refused = store.beat(beat_of("eager", std::nullopt, std::nullopt, Health::kFail));
  CHECK(refused.outcome == BeatOutcome::kRateLimited);
  CHECK(store.find("eager")->beats == 10);
  CHECK(state_of(store, "eager") == ClientState::kUp);
  CHECK(store.counters().rate_limited_total == 1);
  CHECK(store.beat(beat_of("calm")).accepted());

  f.clock->advance(100ms);
  CHECK(store.beat(beat_of("eager")).accepted());
  CHECK(store.beat(beat_of("eager")).outcome == BeatOutcome::kRateLimited);
  f.clock->advance(1s);
  for (int i = 0; i < 10; ++i) CHECK(store.beat(beat_of("eager")).accepted());
  CHECK(store.beat(beat_of("eager")).outcome == BeatOutcome::kRateLimited);
  for (int i = 0; i < 50; ++i) {
    f.clock->advance(100ms);
    REQUIRE(store.beat(beat_of("eager")).accepted());
  }
}

STORE_CONTRACT("the rate limit can be turned off") {
  StorePolicy policy;
  policy.max_beats_per_second = 0;
  Subject<TestType> f(policy);
  for (int i = 0; i < 100; ++i) REQUIRE(f.store->beat(beat_of("fast")).accepted());
  CHECK(f.store->find("fast")->beats == 100);
}

STORE_CONTRACT("out-of-bounds beats are refused without a trace") {
  Subject<TestType> f;
  PresenceStore& store = *f.store;
  const auto version = store.version();
  CHECK(store.beat(beat_of("bad id")).outcome == BeatOutcome::kInvalid);
  CHECK(store.beat(beat_of("")).outcome == BeatOutcome::kInvalid);
  CHECK(store.beat(beat_of(std::string(65, 'a'))).outcome == BeatOutcome::kInvalid);
  CHECK(store.beat(beat_of("a", 0s)).outcome == BeatOutcome::kInvalid);
  CHECK(store.beat(beat_of("a", std::chrono::days(30) + 1s)).outcome == BeatOutcome::kInvalid);
  CHECK(store.beat(beat_of("a", 10s, 0s)).outcome == BeatOutcome::kInvalid);
  CHECK(store.beat(beat_of("a", 10s, std::nullopt, Health::kOk, std::string(257, 'x'))).outcome ==
        BeatOutcome::kInvalid);
  CHECK(store.beat(beat_of("a", 10s, std::nullopt, Health::kOk, "bell\a")).outcome == BeatOutcome::kInvalid);
  CHECK(store.version() == version);
  CHECK(store.beat(beat_of("a", std::chrono::days(30))).accepted());
  CHECK(store.counters().clients.total() == 1);
  CHECK(store.counters().beats_total == 1);
}

STORE_CONTRACT("the version changes on every change, the sequence only on events") {
  Subject<TestType> f;
  PresenceStore& store = *f.store;
  const auto start = store.last_sequence();
  const auto v0 = store.version();

  REQUIRE(store.beat(beat_of("a", 10s, 5s)).accepted());
  const auto v1 = store.version();
  CHECK(v1 != v0);
  CHECK(store.last_sequence() == start + 1);

  f.clock->advance(1s);
  REQUIRE(store.beat(beat_of("a", 10s, 5s)).accepted());
  const auto v2 = store.version();
  CHECK(v2 != v1);
  CHECK(store.last_sequence() == start + 1);

  f.clock->advance(1s);
  CHECK(store.tick().empty());
  CHECK(store.version() == v2);
  CHECK(store.list({}).version == v2);

  for (int i = 0; i < 20; ++i) (void)store.beat(beat_of("a", 10s, 5s));
  const auto v3 = store.version();
  REQUIRE(store.beat(beat_of("a", 10s, 5s)).outcome == BeatOutcome::kRateLimited);
  CHECK(store.version() == v3);
  REQUIRE(store.beat(beat_of("b b")).outcome == BeatOutcome::kInvalid);
  CHECK(store.version() == v3);

  f.clock->advance(1min);
  const auto events = store.tick();
  REQUIRE(events.size() == 1);
  CHECK(events[0].sequence == start + 2);
  CHECK(store.version() != v3);

  const auto history = store.events_after(start);
  REQUIRE(history);
  REQUIRE(history->size() == 2);
  CHECK((*history)[0].kind == EventKind::kJoin);
  CHECK((*history)[0].sequence == start + 1);
  CHECK((*history)[0].client.id == "a");
  CHECK((*history)[1].kind == EventKind::kChange);
  CHECK((*history)[1].previous == ClientState::kUp);
  CHECK((*history)[1].client.state == ClientState::kDown);

  const auto listing = store.list({});
  CHECK(listing.sequence == start + 2);
  CHECK(listing.version == store.version());
  REQUIRE(store.events_after(listing.sequence));
  CHECK(store.events_after(listing.sequence)->empty());
}

STORE_CONTRACT("event numbering starts at the clock in microseconds") {
  Subject<TestType> f;
  const auto micros = std::chrono::duration_cast<std::chrono::microseconds>(f.clock->now().time_since_epoch()).count();
  CHECK(f.store->last_sequence() == static_cast<std::uint64_t>(micros));
  REQUIRE(f.store->events_after(f.store->last_sequence()));
  CHECK(f.store->events_after(f.store->last_sequence())->empty());
  CHECK_FALSE(f.store->events_after(f.store->last_sequence() + 1));  // not issued yet
  CHECK_FALSE(f.store->events_after(12345));                         // another store's
}

STORE_CONTRACT("the event history is bounded") {
  StorePolicy policy;
  policy.event_history = 4;
  Subject<TestType> f(policy);
  PresenceStore& store = *f.store;
  const auto start = store.last_sequence();
  for (int i = 0; i < 10; ++i) REQUIRE(store.beat(beat_of(fmt::format("c{}", i))).accepted());
  CHECK(store.last_sequence() == start + 10);
  CHECK_FALSE(store.events_after(start));
  CHECK_FALSE(store.events_after(start + 5));
  const auto recent = store.events_after(start + 6);
  REQUIRE(recent);
  CHECK(recent->size() == 4);
  CHECK(recent->front().client.id == "c6");
  CHECK(recent->back().sequence == start + 10);
}

STORE_CONTRACT("without a history only the numbering moves on") {
  StorePolicy policy;
  policy.event_history = 0;
  Subject<TestType> f(policy);
  const auto start = f.store->last_sequence();
  REQUIRE(f.store->beat(beat_of("a")).accepted());
  REQUIRE(f.store->beat(beat_of("b")).accepted());
  CHECK(f.store->last_sequence() == start + 2);
  CHECK_FALSE(f.store->events_after(start));
  REQUIRE(f.store->events_after(start + 2));
  CHECK(f.store->events_after(start + 2)->empty());
  CHECK(f.store->list({}).sequence == start + 2);
}

STORE_CONTRACT("listings are sorted, filtered, and count every client") {
  Subject<TestType> f;
  PresenceStore& store = *f.store;
  for (const char* id : {"web-2", "db-1", "web-1", "web-3"}) REQUIRE(store.beat(beat_of(id, 60s)).accepted());
  REQUIRE(store.beat(beat_of("web-3", 60s, std::nullopt, Health::kFail)).accepted());
  REQUIRE(store.beat(beat_of("cache", 10s, 5s)).accepted());
  f.clock->advance(11s);
  store.tick();

  const auto all = store.list({});
  REQUIRE(all.clients.size() == 5);
  CHECK(all.clients[0].id == "cache");
  CHECK(all.clients[1].id == "db-1");
  CHECK(all.clients[4].id == "web-3");
  CHECK(all.counts[ClientState::kUp] == 3);
  CHECK(all.counts[ClientState::kLate] == 1);
  CHECK(all.counts[ClientState::kFailing] == 1);
  CHECK(all.counts.online() == 5);
  CHECK(all.clients[4] == *store.find("web-3"));

  ListFilter web;
  web.prefix = "web-";
  const auto webs = store.list(web);
  REQUIRE(webs.clients.size() == 3);
  CHECK(webs.clients[0].id == "web-1");
  CHECK(webs.counts.total() == 5);

  ListFilter late;
  late.states.reset();
  late.states.set(pulse::presence::index_of(ClientState::kLate));
  const auto lates = store.list(late);
  REQUIRE(lates.clients.size() == 1);
  CHECK(lates.clients[0].id == "cache");

  ListFilter failing_web = web;
  failing_web.states.reset();
  failing_web.states.set(pulse::presence::index_of(ClientState::kFailing));
  const auto failing_webs = store.list(failing_web);
  REQUIRE(failing_webs.clients.size() == 1);
  CHECK(failing_webs.clients[0].id == "web-3");

  ListFilter none;
  none.prefix = "zzz";
  CHECK(store.list(none).clients.empty());

  const auto counters = store.counters();
  CHECK(counters.clients[ClientState::kLate] == 1);
  CHECK(counters.beats_total == 6);
  CHECK(counters.transitions_total == 2);  // web-3 up -> failing, cache up -> late
}

STORE_CONTRACT("take_beaten reports each client that beat once") {
  StorePolicy policy;
  policy.max_beats_per_second = 0;
  Subject<TestType> f(policy);
  PresenceStore& store = *f.store;
  for (int i = 0; i < 3; ++i) {
    REQUIRE(store.beat(beat_of("a")).accepted());
    REQUIRE(store.beat(beat_of("b")).accepted());
  }
  auto beaten = store.take_beaten(100);
  REQUIRE(beaten.size() == 2);
  for (const auto& client : beaten) CHECK(client.beats == 3);
  CHECK(store.take_beaten(100).empty());

  REQUIRE(store.beat(beat_of("a")).accepted());
  REQUIRE(store.beat(beat_of("c")).accepted());
  REQUIRE(store.remove("c"));
  beaten = store.take_beaten(100);
  REQUIRE(beaten.size() == 1);
  CHECK(beaten[0].id == "a");
  CHECK(beaten[0].beats == 4);

  for (int i = 0; i < 10; ++i) REQUIRE(store.beat(beat_of(fmt::format("n{}", i))).accepted());
  const auto first = store.take_beaten(4);
  CHECK(first.size() == 4);
  const auto rest = store.take_beaten(100);
  CHECK(rest.size() == 6);
  std::set<std::string> ids;
  for (const auto& client : first) ids.insert(client.id);
  for (const auto& client : rest) ids.insert(client.id);
  CHECK(ids.size() == 10);
}

STORE_CONTRACT("restored clients get a fresh interval plus grace") {
  Subject<TestType> old_run;
  PresenceStore& old_store = *old_run.store;
  REQUIRE(old_store.beat(beat_of("up", 10s, 5s, Health::kOk, "fine")).accepted());
  REQUIRE(old_store.beat(beat_of("failing", 10s, 5s, Health::kFail)).accepted());
  REQUIRE(old_store.beat(beat_of("late", 2s, 20s)).accepted());
  REQUIRE(old_store.beat(beat_of("down", 1s, 1s)).accepted());
  old_run.clock->advance(8s);
  old_store.tick();
  REQUIRE(state_of(old_store, "late") == ClientState::kLate);
  REQUIRE(state_of(old_store, "down") == ClientState::kDown);
  const auto saved = old_store.export_clients();
  REQUIRE(saved.size() == 4);

  Subject<TestType> f;
  PresenceStore& store = *f.store;
  f.clock->advance(1h);
  REQUIRE(store.beat(beat_of("up", 30s)).accepted());
  CHECK(store.restore(saved) == 3);
  CHECK(store.find("up")->interval == 30s);
  CHECK(store.find("failing")->message.empty());
  CHECK(state_of(store, "failing") == ClientState::kFailing);
  CHECK(state_of(store, "late") == ClientState::kUp);
  CHECK(state_of(store, "down") == ClientState::kDown);
  const auto late = store.find("late");
  CHECK(late->next_due == f.clock->now() + 2s);
  CHECK(late->down_at == f.clock->now() + 22s);
  CHECK(late->beats == 1);
  CHECK(store.find("down")->down_at <= f.clock->now());

  f.clock->advance(2s);
  auto events = store.tick();
  REQUIRE(events.size() == 1);
  CHECK(events[0].client.id == "late");
  CHECK(events[0].client.state == ClientState::kLate);
  f.clock->advance(13s);
  events = store.tick();
  CHECK(state_of(store, "failing") == ClientState::kDown);
  CHECK(store.counters().clients.total() == 4);
}

STORE_CONTRACT("restore skips invalid entries and respects the maximum") {
  StorePolicy policy;
  policy.max_clients = 2;
  Subject<TestType> f(policy);
  ClientView good;
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
  CHECK(f.store->restore({good, bad_id, bad_interval, good, second, third}) == 2);
  CHECK(f.store->find("good"));
  CHECK(f.store->find("second"));
  CHECK_FALSE(f.store->find("third"));
  CHECK(f.store->counters().clients.total() == 2);
}

STORE_CONTRACT("export_clients returns every client as find() sees it") {
  Subject<TestType> f;
  for (int i = 0; i < 20; ++i)
    REQUIRE(f.store->beat(beat_of(fmt::format("e{}", i), 10s + std::chrono::seconds(i))).accepted());
  auto exported = f.store->export_clients();
  REQUIRE(exported.size() == 20);
  for (const auto& client : exported) CHECK(*f.store->find(client.id) == client);
}

// ---------------------------------------------------------------------------------------------
// Issue 11: sticky settings, job signals, runs, pause, hold, the log, the history, and the event
// a call returns. Each case is registered once per store, named "<case> - memory" and
// "<case> - redis" and tagged [memory] or [redis], so one store can be run alone:
//   integration_presence_contract '[signals][memory]'
// ---------------------------------------------------------------------------------------------

using pulse::presence::HistoryEntry;
using pulse::presence::HistoryKind;
using pulse::presence::kHoldGrace;
using pulse::presence::kHoldRefresh;
using pulse::presence::kMaxOpenRuns;
using pulse::presence::Signal;

#define SIGNALS_CONCAT2(a, b) a##b
#define SIGNALS_CONCAT(a, b) SIGNALS_CONCAT2(a, b)
#define STORE_CONTRACT_SIGNALS_IMPL(name, body)                          \
  template <typename TestType>                                           \
  static void body();                                                    \
  TEST_CASE(name " - memory", "[presence][contract][signals][memory]") { \
    body<MemoryStoreFactory>();                                          \
  }                                                                      \
  TEST_CASE(name " - redis", "[presence][contract][signals][redis]") {   \
    body<RedisStoreFactory>();                                           \
  }                                                                      \
  template <typename TestType>                                           \
  static void body()
#define STORE_CONTRACT_SIGNALS(name) STORE_CONTRACT_SIGNALS_IMPL(name, SIGNALS_CONCAT(signals_case_, __LINE__))

namespace {

// A request with nothing set but the id, the signal and the peer: no status, no settings.
BeatRequest signal_of(std::string id, Signal signal, std::string run_id = {}) {
  BeatRequest request;
  request.id = std::move(id);
  request.signal = signal;
  request.run_id = std::move(run_id);
  request.remote_addr = "192.0.2.7";
  return request;
}

BeatRequest plain_beat(std::string id, std::optional<std::chrono::seconds> interval = std::nullopt,
                       std::optional<std::chrono::seconds> grace = std::nullopt) {
  BeatRequest request = signal_of(std::move(id), Signal::kBeat);
  request.interval = interval;
  request.grace = grace;
  return request;
}

BeatRequest status_beat(std::string id, Health health, std::string run_id = {}) {
  BeatRequest request = signal_of(std::move(id), Signal::kBeat, std::move(run_id));
  request.health = health;
  return request;
}

BeatRequest exit_of(std::string id, std::uint8_t code, std::string message = {}) {
  BeatRequest request = signal_of(std::move(id), Signal::kExit);
  request.exit_code = code;
  request.message = std::move(message);
  return request;
}

HistoryEntry change(pulse::presence::Time at, std::optional<ClientState> from, ClientState to) {
  return HistoryEntry{.at = at, .kind = HistoryKind::kChange, .from = from, .to = to};
}

HistoryEntry run(pulse::presence::Time at, Health result, std::chrono::milliseconds duration,
                 std::optional<std::uint8_t> exit_code = std::nullopt) {
  return HistoryEntry{.at = at,
                      .kind = HistoryKind::kRun,
                      .from = std::nullopt,
                      .to = ClientState::kUp,
                      .result = result,
                      .exit_code = exit_code,
                      .duration = duration};
}

std::vector<HistoryEntry> history_of(const PresenceStore& store, std::string_view id) {
  const auto detail = store.detail(id);
  REQUIRE(detail);
  return detail->history;
}

}  // namespace

STORE_CONTRACT_SIGNALS("settings are sticky: a beat without interval or grace keeps the client's") {
  StorePolicy policy;
  policy.default_interval = 30s;
  Subject<TestType> f(policy);
  PresenceStore& store = *f.store;
  REQUIRE(store.beat(plain_beat("db-1", 5s, 7s)).outcome == BeatOutcome::kCreated);

  // The example: status=fail alone must not turn a 5 s client into a 30 s one.
  f.clock->advance(1s);
  const auto failing = store.beat(status_beat("db-1", Health::kFail));
  REQUIRE(failing.accepted());
  CHECK(failing.client.interval == 5s);
  CHECK(failing.client.grace == 7s);
  CHECK(failing.client.next_due == f.clock->now() + 5s);
  CHECK(failing.client.down_at == f.clock->now() + 12s);
  f.clock->advance(5s);
  store.tick();
  CHECK(state_of(store, "db-1") == ClientState::kLate);

  // An interval alone takes its default grace; a grace alone keeps the interval.
  const auto longer = store.beat(plain_beat("db-1", 20s));
  CHECK(longer.client.interval == 20s);
  CHECK(longer.client.grace == 10s);
  f.clock->advance(1s);
  const auto tighter = store.beat(plain_beat("db-1", std::nullopt, 3s));
  CHECK(tighter.client.interval == 20s);
  CHECK(tighter.client.grace == 3s);
  f.clock->advance(1s);
  CHECK(store.beat(plain_beat("db-1")).client.grace == 3s);
  CHECK(store.find("db-1")->interval == 20s);

  // A new id starts from the store's default.
  const auto fresh = store.beat(plain_beat("db-2"));
  CHECK(fresh.client.interval == 30s);
  CHECK(fresh.client.grace == 15s);
}

STORE_CONTRACT_SIGNALS("start then ok: the run's duration, in the result, the client and the history") {
  Subject<TestType> f;
  PresenceStore& store = *f.store;
  const auto t0 = f.clock->now();
  const auto started = store.beat([] {
    auto request = signal_of("backup", Signal::kStart);
    request.interval = 60s;
    return request;
  }());
  REQUIRE(started.outcome == BeatOutcome::kCreated);
  CHECK(started.client.health == Health::kOk);
  CHECK(started.client.state == ClientState::kUp);
  CHECK(started.client.beats == 1);
  REQUIRE(started.client.runs.size() == 1);
  CHECK(started.client.runs[0].rid.empty());
  CHECK(started.client.runs[0].started == t0);
  CHECK_FALSE(started.run_duration);
  CHECK_FALSE(started.client.last_duration);

  f.clock->advance(42s + 500ms);
  const auto ended = store.beat(status_beat("backup", Health::kOk));
  REQUIRE(ended.outcome == BeatOutcome::kUpdated);
  CHECK(ended.run_duration == std::chrono::milliseconds(42'500));
  CHECK(ended.client.last_duration == std::chrono::milliseconds(42'500));
  CHECK(ended.client.runs.empty());
  CHECK(ended.client.beats == 2);
  CHECK(ended.client.interval == 60s);
  CHECK(ended.client.state == ClientState::kUp);
  CHECK(*store.find("backup") == ended.client);
  const std::vector<HistoryEntry> expected{change(t0, std::nullopt, ClientState::kUp),
                                           run(f.clock->now(), Health::kOk, 42'500ms)};
  CHECK(history_of(store, "backup") == expected);

  // Nothing is open any more: the next end has no run to end.
  f.clock->advance(1s);
  const auto again = store.beat(status_beat("backup", Health::kOk));
  CHECK_FALSE(again.run_duration);
  CHECK(again.client.last_duration == std::chrono::milliseconds(42'500));
  CHECK(history_of(store, "backup").size() == 2);
}

STORE_CONTRACT_SIGNALS("start then fail: failing, the run recorded before the change") {
  Subject<TestType> f;
  PresenceStore& store = *f.store;
  const auto t0 = f.clock->now();
  REQUIRE(store.beat(signal_of("nightly", Signal::kStart)).accepted());
  f.clock->advance(3s);
  const auto failed = store.beat(signal_of("nightly", Signal::kFail));
  REQUIRE(failed.accepted());
  CHECK(failed.previous == ClientState::kUp);
  CHECK(failed.client.state == ClientState::kFailing);
  CHECK(failed.client.health == Health::kFail);
  CHECK(failed.client.last_ok == t0);
  CHECK(failed.run_duration == 3000ms);
  CHECK_FALSE(failed.client.exit_code);
  const std::vector<HistoryEntry> expected{change(t0, std::nullopt, ClientState::kUp),
                                           run(f.clock->now(), Health::kFail, 3000ms),
                                           change(f.clock->now(), ClientState::kUp, ClientState::kFailing)};
  CHECK(history_of(store, "nightly") == expected);

  // A fail with nothing open is a failing beat, no run.
  f.clock->advance(1s);
  const auto plain_fail = store.beat(signal_of("nightly", Signal::kFail));
  CHECK_FALSE(plain_fail.run_duration);
  CHECK(plain_fail.client.state == ClientState::kFailing);
}

STORE_CONTRACT_SIGNALS("exit 0 is ok, exit N is failing with the message \"exit N\"") {
  Subject<TestType> f;
  PresenceStore& store = *f.store;
  REQUIRE(store.beat(signal_of("job", Signal::kStart)).accepted());
  f.clock->advance(2s);
  const auto ok = store.beat(exit_of("job", 0));
  REQUIRE(ok.accepted());
  CHECK(ok.client.health == Health::kOk);
  CHECK(ok.client.state == ClientState::kUp);
  CHECK(ok.client.exit_code == 0);
  CHECK(ok.client.message.empty());
  CHECK(ok.client.last_ok == f.clock->now());
  CHECK(ok.run_duration == 2000ms);
  const auto after_ok = history_of(store, "job");
  REQUIRE_FALSE(after_ok.empty());
  CHECK(after_ok.back() == run(f.clock->now(), Health::kOk, 2000ms, 0));

  REQUIRE(store.beat(signal_of("job", Signal::kStart)).accepted());
  f.clock->advance(1s);
  const auto three = store.beat(exit_of("job", 3));
  CHECK(three.client.health == Health::kFail);
  CHECK(three.client.state == ClientState::kFailing);
  CHECK(three.client.exit_code == 3);
  CHECK(three.client.message == "exit 3");
  CHECK(three.run_duration == 1000ms);
  const auto history = history_of(store, "job");
  REQUIRE(history.size() >= 2);
  CHECK(history[history.size() - 2] == run(f.clock->now(), Health::kFail, 1000ms, 3));
  CHECK(history.back() == change(f.clock->now(), ClientState::kUp, ClientState::kFailing));

  // A message of the client's own wins; an exit with no run open is still an exit.
  f.clock->advance(1s);
  const auto with_message = store.beat(exit_of("job", 255, "disk full"));
  CHECK(with_message.client.message == "disk full");
  CHECK(with_message.client.exit_code == 255);
  CHECK_FALSE(with_message.run_duration);
  f.clock->advance(1s);
  const auto back = store.beat(exit_of("job", 0));
  CHECK(back.client.state == ClientState::kUp);
  CHECK(back.client.exit_code == 0);
  CHECK(back.client.message.empty());
  // Any other beat keeps the last exit status.
  f.clock->advance(1s);
  CHECK(store.beat(status_beat("job", Health::kOk)).client.exit_code == 0);
}

STORE_CONTRACT_SIGNALS("overlapping runs are told apart by rid, and an end without rid ends the oldest") {
  Subject<TestType> f;
  PresenceStore& store = *f.store;
  const auto t0 = f.clock->now();
  REQUIRE(store.beat(signal_of("etl", Signal::kStart, "a")).accepted());
  f.clock->advance(10s);
  const auto second = store.beat(signal_of("etl", Signal::kStart, "b"));
  REQUIRE(second.client.runs.size() == 2);
  CHECK(second.client.runs[0] == pulse::presence::OpenRun{"a", t0});
  CHECK(second.client.runs[1] == pulse::presence::OpenRun{"b", t0 + 10s});

  f.clock->advance(5s);
  const auto b_done = store.beat(status_beat("etl", Health::kOk, "b"));
  CHECK(b_done.run_duration == 5000ms);
  REQUIRE(b_done.client.runs.size() == 1);
  CHECK(b_done.client.runs[0].rid == "a");

  // An rid that is not open ends nothing (the beat still counts, with its health).
  f.clock->advance(1s);
  const auto stray = store.beat(status_beat("etl", Health::kFail, "zzz"));
  REQUIRE(stray.accepted());
  CHECK_FALSE(stray.run_duration);
  CHECK(stray.client.runs.size() == 1);
  CHECK(stray.client.state == ClientState::kFailing);
  CHECK(stray.client.last_duration == 5000ms);

  f.clock->advance(14s);
  auto a_done = signal_of("etl", Signal::kFail, "a");
  const auto failed = store.beat(a_done);
  CHECK(failed.run_duration == 30'000ms);
  CHECK(failed.client.runs.empty());

  // Without rid: the oldest open run, whatever its rid.
  REQUIRE(store.beat(signal_of("etl", Signal::kStart, "x")).accepted());
  f.clock->advance(1s);
  REQUIRE(store.beat(signal_of("etl", Signal::kStart, "y")).accepted());
  f.clock->advance(1s);
  const auto oldest = store.beat(status_beat("etl", Health::kOk));
  CHECK(oldest.run_duration == 2000ms);
  REQUIRE(oldest.client.runs.size() == 1);
  CHECK(oldest.client.runs[0].rid == "y");
}

STORE_CONTRACT_SIGNALS("a start of an open rid restarts it, and beyond the limit the oldest run is dropped") {
  Subject<TestType> f;
  PresenceStore& store = *f.store;
  REQUIRE(store.beat(signal_of("cron", Signal::kStart, "r1")).accepted());
  REQUIRE(store.beat(signal_of("cron", Signal::kStart, "r2")).accepted());
  f.clock->advance(5s);
  const auto restarted = store.beat(signal_of("cron", Signal::kStart, "r1"));
  REQUIRE(restarted.client.runs.size() == 2);
  CHECK(restarted.client.runs[0].rid == "r2");
  CHECK(restarted.client.runs[1] == pulse::presence::OpenRun{"r1", f.clock->now()});
  f.clock->advance(1s);
  CHECK(store.beat(status_beat("cron", Health::kOk, "r1")).run_duration == 1000ms);

  // Two starts without rid: the first never ended, so the second restarts it.
  REQUIRE(store.beat(signal_of("plain", Signal::kStart)).accepted());
  f.clock->advance(4s);
  CHECK(store.beat(signal_of("plain", Signal::kStart)).client.runs.size() == 1);
  f.clock->advance(1s);
  CHECK(store.beat(status_beat("plain", Health::kOk)).run_duration == 1000ms);

  for (std::size_t i = 0; i < kMaxOpenRuns + 2; ++i) {
    f.clock->advance(200ms);  // under the rate limit
    REQUIRE(store.beat(signal_of("many", Signal::kStart, fmt::format("run-{}", i))).accepted());
  }
  const auto many = store.find("many");
  REQUIRE(many->runs.size() == kMaxOpenRuns);
  CHECK(many->runs.front().rid == "run-2");
  CHECK(many->runs.back().rid == fmt::format("run-{}", kMaxOpenRuns + 1));
}

STORE_CONTRACT_SIGNALS("a plain beat during a run is still alive: the deadline moves, the run goes on") {
  Subject<TestType> f;
  PresenceStore& store = *f.store;
  REQUIRE(store
              .beat([] {
                auto request = signal_of("long-job", Signal::kStart);
                request.interval = 10s;
                request.grace = 5s;
                return request;
              }())
              .accepted());
  for (int i = 0; i < 3; ++i) {
    f.clock->advance(8s);
    CHECK(store.tick().empty());
    const auto alive = store.beat(plain_beat("long-job"));
    REQUIRE(alive.accepted());
    CHECK_FALSE(alive.run_duration);
    CHECK(alive.client.runs.size() == 1);
    CHECK(alive.client.next_due == f.clock->now() + 10s);
    CHECK(alive.client.state == ClientState::kUp);
  }
  f.clock->advance(8s);
  CHECK(store.tick().empty());
  CHECK(store.beat(status_beat("long-job", Health::kOk)).run_duration == std::chrono::milliseconds(32'000));
  CHECK(history_of(store, "long-job").size() == 2);  // the join and the run

  // "Still alive" keeps a failing health during a run; with no run open a plain beat is ok.
  REQUIRE(store.beat(status_beat("flaky", Health::kFail)).accepted());
  REQUIRE(store.beat(signal_of("flaky", Signal::kStart)).client.state == ClientState::kFailing);
  f.clock->advance(1s);
  const auto still = store.beat(plain_beat("flaky"));
  CHECK(still.client.health == Health::kFail);
  CHECK(still.client.state == ClientState::kFailing);
  CHECK(still.client.runs.size() == 1);
  f.clock->advance(1s);
  REQUIRE(store.beat(status_beat("flaky", Health::kOk)).run_duration == 2000ms);
  f.clock->advance(1s);
  REQUIRE(store.beat(status_beat("flaky", Health::kFail)).accepted());
  f.clock->advance(1s);
  const auto healed = store.beat(plain_beat("flaky"));
  CHECK(healed.client.health == Health::kOk);
  CHECK(healed.client.state == ClientState::kUp);
}

STORE_CONTRACT_SIGNALS("a start with no end goes late, then down, and the end still counts") {
  Subject<TestType> f;
  PresenceStore& store = *f.store;
  REQUIRE(store
              .beat([] {
                auto request = signal_of("hung", Signal::kStart);
                request.interval = 10s;
                request.grace = 5s;
                return request;
              }())
              .accepted());
  f.clock->advance(10s);
  auto events = store.tick();
  REQUIRE(events.size() == 1);
  CHECK(events[0].client.state == ClientState::kLate);
  CHECK(events[0].client.runs.size() == 1);
  f.clock->advance(5s);
  events = store.tick();
  REQUIRE(events.size() == 1);
  CHECK(events[0].client.state == ClientState::kDown);

  f.clock->advance(5s);
  const auto ended = store.beat(status_beat("hung", Health::kOk));
  CHECK(ended.previous == ClientState::kDown);
  CHECK(ended.client.state == ClientState::kUp);
  CHECK(ended.run_duration == 20'000ms);
}

STORE_CONTRACT_SIGNALS("pause: no late or down, never forgotten, until the next beat") {
  StorePolicy policy;
  policy.retention = 1h;
  Subject<TestType> f(policy);
  PresenceStore& store = *f.store;
  REQUIRE(store.beat(plain_beat("db", 10s, 5s)).accepted());
  f.clock->advance(2s);
  const auto version = store.version();
  const auto paused = store.beat(signal_of("db", Signal::kPause));
  REQUIRE(paused.outcome == BeatOutcome::kUpdated);
  CHECK(paused.previous == ClientState::kUp);
  CHECK(paused.client.state == ClientState::kPaused);
  CHECK(paused.client.paused);
  CHECK(paused.client.beats == 1);  // not a beat
  CHECK(paused.client.last_beat == f.clock->now() - 2s);
  CHECK(paused.changed());
  REQUIRE(paused.event);
  CHECK(paused.event->kind == EventKind::kChange);
  CHECK(paused.event->previous == ClientState::kUp);
  CHECK(paused.event->client.state == ClientState::kPaused);
  CHECK(store.version() != version);
  CHECK(store.counters().beats_total == 1);
  CHECK(store.counters().clients[ClientState::kPaused] == 1);
  CHECK(store.counters().clients.online() == 0);
  CHECK_FALSE(pulse::presence::is_online(ClientState::kPaused));

  // Time changes nothing, not even past the retention.
  f.clock->advance(3h);
  CHECK(store.tick().empty());
  CHECK(state_of(store, "db") == ClientState::kPaused);
  ListFilter paused_only;
  paused_only.states.reset();
  paused_only.states.set(pulse::presence::index_of(ClientState::kPaused));
  CHECK(store.list(paused_only).clients.size() == 1);

  // A second pause is no change; the next beat (settings still sticky) ends it.
  const auto again = store.beat(signal_of("db", Signal::kPause));
  CHECK(again.outcome == BeatOutcome::kUpdated);
  CHECK_FALSE(again.changed());
  CHECK_FALSE(again.event);
  const auto back = store.beat(plain_beat("db"));
  CHECK(back.previous == ClientState::kPaused);
  CHECK(back.client.state == ClientState::kUp);
  CHECK_FALSE(back.client.paused);
  CHECK(back.client.interval == 10s);
  CHECK(back.client.beats == 2);
  REQUIRE(back.event);
  CHECK(back.event->previous == ClientState::kPaused);
  f.clock->advance(10s);
  const auto events = store.tick();
  REQUIRE(events.size() == 1);
  CHECK(events[0].client.state == ClientState::kLate);
}

STORE_CONTRACT_SIGNALS("pause of an unknown id is not found and records nothing") {
  Subject<TestType> f;
  PresenceStore& store = *f.store;
  const auto version = store.version();
  const auto sequence = store.last_sequence();
  const auto result = store.beat(signal_of("ghost", Signal::kPause));
  CHECK(result.outcome == BeatOutcome::kNotFound);
  CHECK_FALSE(result.accepted());
  CHECK_FALSE(result.event);
  CHECK_FALSE(store.find("ghost"));
  CHECK(store.version() == version);
  CHECK(store.last_sequence() == sequence);
  CHECK(store.counters().clients.total() == 0);
  CHECK(store.beat(signal_of("ghost", Signal::kAlive)).outcome == BeatOutcome::kNotFound);
  CHECK(store.beat(signal_of("ghost", Signal::kRelease)).outcome == BeatOutcome::kNotFound);
  CHECK_FALSE(store.find("ghost"));
  CHECK(store.beat(signal_of("bad id", Signal::kPause)).outcome == BeatOutcome::kInvalid);
}

STORE_CONTRACT_SIGNALS("a down client can be paused, and the pause is rate-limited like a beat") {
  Subject<TestType> f;
  PresenceStore& store = *f.store;
  REQUIRE(store.beat(plain_beat("old", 10s, 5s)).accepted());
  f.clock->advance(1min);
  store.tick();
  REQUIRE(state_of(store, "old") == ClientState::kDown);
  const auto paused = store.beat(signal_of("old", Signal::kPause));
  CHECK(paused.previous == ClientState::kDown);
  CHECK(paused.client.state == ClientState::kPaused);
  CHECK(store.counters().clients[ClientState::kDown] == 0);

  REQUIRE(store.beat(plain_beat("busy")).accepted());
  for (int i = 0; i < 9; ++i) REQUIRE(store.beat(plain_beat("busy")).accepted());
  CHECK(store.beat(signal_of("busy", Signal::kPause)).outcome == BeatOutcome::kRateLimited);
  CHECK(state_of(store, "busy") == ClientState::kUp);
}

STORE_CONTRACT_SIGNALS("hold: fresh on the hold refresh, alive extends it, release is late at once") {
  Subject<TestType> f;
  PresenceStore& store = *f.store;
  REQUIRE(store
              .beat([] {
                auto request = plain_beat("edge", 60s, 20s);
                request.message = "hello";
                return request;
              }())
              .accepted());
  f.clock->advance(1s);
  const auto held = store.beat(signal_of("edge", Signal::kHold));
  REQUIRE(held.outcome == BeatOutcome::kUpdated);
  CHECK(held.client.held);
  CHECK(held.client.beats == 2);
  CHECK(held.client.interval == 60s);  // settings untouched
  CHECK(held.client.grace == 20s);
  CHECK(held.client.message == "hello");  // kept: the hold gave none
  CHECK(held.client.next_due == f.clock->now() + kHoldRefresh);
  CHECK(held.client.down_at == f.clock->now() + kHoldRefresh + kHoldGrace);

  f.clock->advance(10s);
  const auto beats_total = store.counters().beats_total;
  const auto alive = store.beat(signal_of("edge", Signal::kAlive));
  REQUIRE(alive.outcome == BeatOutcome::kUpdated);
  CHECK(alive.client.beats == 2);  // not a beat
  CHECK(alive.client.last_beat == f.clock->now() - 10s);
  CHECK(alive.client.next_due == f.clock->now() + kHoldRefresh);
  CHECK(alive.client.down_at == f.clock->now() + kHoldRefresh + kHoldGrace);
  CHECK_FALSE(alive.event);
  CHECK(store.counters().beats_total == beats_total);

  // The holding server vanished for a while: late, and the next alive brings it back.
  f.clock->advance(kHoldRefresh);
  auto events = store.tick();
  REQUIRE(events.size() == 1);
  CHECK(events[0].client.state == ClientState::kLate);
  const auto revived = store.beat(signal_of("edge", Signal::kAlive));
  CHECK(revived.previous == ClientState::kLate);
  CHECK(revived.client.state == ClientState::kUp);
  REQUIRE(revived.event);
  CHECK(revived.event->kind == EventKind::kChange);
  CHECK(revived.event->previous == ClientState::kLate);

  // The connection dropped: late now, down after the hold grace.
  f.clock->advance(1s);
  const auto released = store.beat(signal_of("edge", Signal::kRelease));
  REQUIRE(released.outcome == BeatOutcome::kUpdated);
  CHECK_FALSE(released.client.held);
  CHECK(released.client.state == ClientState::kLate);
  CHECK(released.client.next_due == f.clock->now());
  CHECK(released.client.down_at == f.clock->now() + kHoldGrace);
  CHECK(released.client.beats == 2);
  REQUIRE(released.event);
  CHECK(released.event->previous == ClientState::kUp);
  f.clock->advance(kHoldGrace - 1ms);
  CHECK(store.tick().empty());
  f.clock->advance(1ms);
  events = store.tick();
  REQUIRE(events.size() == 1);
  CHECK(events[0].client.state == ClientState::kDown);

  // Once released, alive and release change nothing.
  const auto version = store.version();
  const auto ignored = store.beat(signal_of("edge", Signal::kAlive));
  CHECK(ignored.outcome == BeatOutcome::kUpdated);
  CHECK(ignored.client.state == ClientState::kDown);
  CHECK_FALSE(ignored.event);
  CHECK(store.beat(signal_of("edge", Signal::kRelease)).client.state == ClientState::kDown);
  CHECK(store.version() == version);
}

STORE_CONTRACT_SIGNALS("hold on a new id creates it held, a fail beat meanwhile is failing, hold unpauses") {
  Subject<TestType> f;
  PresenceStore& store = *f.store;
  const auto created = store.beat(signal_of("fresh", Signal::kHold));
  REQUIRE(created.outcome == BeatOutcome::kCreated);
  CHECK(created.client.held);
  CHECK(created.client.health == Health::kOk);
  CHECK(created.client.state == ClientState::kUp);
  CHECK(created.client.interval == pulse::presence::kDefaultInterval);
  CHECK(created.client.next_due == f.clock->now() + kHoldRefresh);
  REQUIRE(created.event);
  CHECK(created.event->kind == EventKind::kJoin);

  f.clock->advance(1s);
  const auto failing = store.beat(status_beat("fresh", Health::kFail));
  CHECK(failing.client.state == ClientState::kFailing);
  CHECK(failing.client.held);
  f.clock->advance(1s);
  CHECK(store.beat(signal_of("fresh", Signal::kAlive)).client.state == ClientState::kFailing);

  // A hold keeps the failing health; it unpauses.
  REQUIRE(store.beat(signal_of("fresh", Signal::kPause)).client.state == ClientState::kPaused);
  f.clock->advance(1s);
  CHECK(store.beat(signal_of("fresh", Signal::kAlive)).client.state == ClientState::kPaused);
  const auto rehold = store.beat(signal_of("fresh", Signal::kHold));
  CHECK_FALSE(rehold.client.paused);
  CHECK(rehold.client.state == ClientState::kFailing);
  // A release of a paused client only clears `held`.
  REQUIRE(store.beat(signal_of("fresh", Signal::kPause)).client.state == ClientState::kPaused);
  const auto released = store.beat(signal_of("fresh", Signal::kRelease));
  CHECK_FALSE(released.client.held);
  CHECK(released.client.state == ClientState::kPaused);
}

// The holder token (presence_store.hpp's Signal): replicas A and B of one store, each with its own.
namespace {
const std::string kReplicaA = "a0a0a0a0a0a0a0a0";
const std::string kReplicaB = "b1b1b1b1b1b1b1b1";
}  // namespace

STORE_CONTRACT_SIGNALS("hold tokens: a client that reconnected to another replica is not released by the old one") {
  // The reviewer's case: X holds on A, reconnects to B, and A sees its old socket drop later.
  Subject<TestType> f;
  PresenceStore& store = *f.store;
  REQUIRE(store.beat(signal_of("x", Signal::kHold, kReplicaA)).outcome == BeatOutcome::kCreated);
  f.clock->advance(2s);
  const auto on_b = store.beat(signal_of("x", Signal::kHold, kReplicaB));
  REQUIRE(on_b.outcome == BeatOutcome::kUpdated);
  CHECK(on_b.client.held);

  f.clock->advance(1s);
  const auto version = store.version();
  const auto sequence = store.last_sequence();
  const auto history = history_of(store, "x");
  const auto stale = store.beat(signal_of("x", Signal::kRelease, kReplicaA));
  CHECK(stale.outcome == BeatOutcome::kUpdated);
  CHECK_FALSE(stale.event);
  CHECK(stale.client.held);
  CHECK(stale.client.state == ClientState::kUp);
  CHECK(stale.client == on_b.client);
  CHECK(*store.find("x") == on_b.client);
  CHECK(store.version() == version);
  CHECK(store.last_sequence() == sequence);
  CHECK(history_of(store, "x") == history);

  // B's connection is the one that counts: its refresh and then its release.
  const auto refreshed = store.beat(signal_of("x", Signal::kAlive, kReplicaB));
  CHECK(refreshed.client.next_due == f.clock->now() + kHoldRefresh);
  f.clock->advance(1s);
  const auto released = store.beat(signal_of("x", Signal::kRelease, kReplicaB));
  CHECK_FALSE(released.client.held);
  CHECK(released.client.state == ClientState::kLate);
  CHECK(released.client.next_due == f.clock->now());
  CHECK(released.client.down_at == f.clock->now() + kHoldGrace);
  REQUIRE(released.event);
  CHECK(released.event->previous == ClientState::kUp);
}

STORE_CONTRACT_SIGNALS(
    "hold tokens: a release or a refresh from a server that does not hold the client changes nothing") {
  Subject<TestType> f;
  PresenceStore& store = *f.store;
  REQUIRE(store.beat(plain_beat("y", 60s, 20s)).accepted());
  f.clock->advance(1s);
  const auto held = store.beat(signal_of("y", Signal::kHold, kReplicaA));
  REQUIRE(held.client.held);

  // A stale connection of this client on B: B's refresh neither takes the hold nor moves it.
  f.clock->advance(5s);
  const auto version = store.version();
  const auto sequence = store.last_sequence();
  const auto alive = store.beat(signal_of("y", Signal::kAlive, kReplicaB));
  CHECK(alive.outcome == BeatOutcome::kUpdated);
  CHECK_FALSE(alive.event);
  CHECK(alive.client == held.client);
  const auto release = store.beat(signal_of("y", Signal::kRelease, kReplicaB));
  CHECK(release.outcome == BeatOutcome::kUpdated);
  CHECK_FALSE(release.event);
  CHECK(release.client == held.client);
  CHECK(*store.find("y") == held.client);
  CHECK(store.version() == version);
  CHECK(store.last_sequence() == sequence);

  // So B's stale refreshes before its release cannot make A's hold releasable by B either.
  const auto still = store.beat(signal_of("y", Signal::kRelease, kReplicaB));
  CHECK(still.client.held);
  CHECK(still.client.state == ClientState::kUp);
  // A's own refresh still works.
  const auto own = store.beat(signal_of("y", Signal::kAlive, kReplicaA));
  CHECK(own.client.next_due == f.clock->now() + kHoldRefresh);
}

STORE_CONTRACT_SIGNALS("hold tokens: an alive from another server takes over a client nobody holds") {
  Subject<TestType> f;
  PresenceStore& store = *f.store;
  REQUIRE(store.beat(signal_of("z", Signal::kHold, kReplicaA)).accepted());
  f.clock->advance(1s);
  REQUIRE(store.beat(signal_of("z", Signal::kRelease, kReplicaA)).client.state == ClientState::kLate);

  // B still has a connection of this client (two were open): its refresh takes the hold over.
  f.clock->advance(1s);
  const auto version = store.version();
  const auto taken = store.beat(signal_of("z", Signal::kAlive, kReplicaB));
  CHECK(taken.outcome == BeatOutcome::kUpdated);
  CHECK(taken.client.held);
  CHECK(taken.client.state == ClientState::kUp);
  CHECK(taken.client.beats == 1);  // not a beat
  CHECK(taken.client.next_due == f.clock->now() + kHoldRefresh);
  CHECK(taken.client.down_at == f.clock->now() + kHoldRefresh + kHoldGrace);
  REQUIRE(taken.event);
  CHECK(taken.event->previous == ClientState::kLate);
  CHECK(taken.event->client.held);
  CHECK(store.version() > version);
  CHECK(*store.find("z") == taken.client);

  // B is the holder now: A's late refresh and release change nothing, B's release counts.
  f.clock->advance(1s);
  CHECK(store.beat(signal_of("z", Signal::kAlive, kReplicaA)).client == taken.client);
  CHECK(store.beat(signal_of("z", Signal::kRelease, kReplicaA)).client == taken.client);
  const auto released = store.beat(signal_of("z", Signal::kRelease, kReplicaB));
  CHECK_FALSE(released.client.held);
  CHECK(released.client.state == ClientState::kLate);

  // A holder's own refresh after its release takes nothing back.
  const auto after = store.beat(signal_of("z", Signal::kAlive, kReplicaB));
  CHECK_FALSE(after.client.held);
  CHECK(after.client.state == ClientState::kLate);
  CHECK_FALSE(after.event);
}

STORE_CONTRACT_SIGNALS("hold tokens: an empty token matches any holder, and a hold without one is released by any") {
  Subject<TestType> f;
  PresenceStore& store = *f.store;
  REQUIRE(store.beat(signal_of("e", Signal::kHold, kReplicaA)).accepted());
  f.clock->advance(1s);
  CHECK(store.beat(signal_of("e", Signal::kAlive)).client.next_due == f.clock->now() + kHoldRefresh);
  CHECK(store.beat(signal_of("e", Signal::kRelease)).client.state == ClientState::kLate);

  REQUIRE(store.beat(signal_of("e", Signal::kHold)).client.held);  // no token: anybody's
  f.clock->advance(1s);
  CHECK(store.beat(signal_of("e", Signal::kAlive, kReplicaB)).client.next_due == f.clock->now() + kHoldRefresh);
  const auto released = store.beat(signal_of("e", Signal::kRelease, kReplicaA));
  CHECK_FALSE(released.client.held);
  CHECK(released.client.state == ClientState::kLate);
}

STORE_CONTRACT_SIGNALS("a beat on a held client keeps the hold's deadlines when they are later") {
  Subject<TestType> f;
  PresenceStore& store = *f.store;
  REQUIRE(store.beat(plain_beat("short", 5s, 1s)).accepted());
  const auto held = store.beat(signal_of("short", Signal::kHold, kReplicaA));
  REQUIRE(held.client.next_due == f.clock->now() + kHoldRefresh);

  // interval 5 s + grace 1 s is less than the hold's 15 s + 5 s: the hold's deadlines stay.
  f.clock->advance(1s);
  const auto beaten = store.beat(plain_beat("short"));
  CHECK(beaten.client.held);
  CHECK(beaten.client.beats == 3);
  CHECK(beaten.client.last_beat == f.clock->now());
  CHECK(beaten.client.next_due == held.client.next_due);
  CHECK(beaten.client.down_at == held.client.down_at);
  f.clock->advance(1s);
  const auto failed = store.beat(signal_of("short", Signal::kFail));
  CHECK(failed.client.state == ClientState::kFailing);
  CHECK(failed.client.next_due == held.client.next_due);
  CHECK(failed.client.down_at == held.client.down_at);

  // Past the beat's own interval and grace, before the hold's: still failing, not late.
  f.clock->advance(7s);
  CHECK(store.tick().empty());
  CHECK(state_of(store, "short") == ClientState::kFailing);

  // A longer interval than the hold's: the beat's own deadlines.
  REQUIRE(store.beat(signal_of("long", Signal::kHold, kReplicaA)).accepted());
  f.clock->advance(1s);
  const auto long_beat = store.beat(plain_beat("long", 60s, 2s));
  CHECK(long_beat.client.held);
  CHECK(long_beat.client.next_due == f.clock->now() + 60s);
  CHECK(long_beat.client.down_at == f.clock->now() + 62s);
  // Its grace is shorter than the hold's: down no sooner than the hold says, either.
  REQUIRE(store.beat(signal_of("mixed", Signal::kHold, kReplicaA)).accepted());
  const auto mixed_hold = store.find("mixed");
  f.clock->advance(1s);
  const auto mixed = store.beat(plain_beat("mixed", 15s, 1s));
  CHECK(mixed.client.next_due == f.clock->now() + 15s);
  CHECK(mixed.client.down_at == mixed_hold->down_at);

  // Released, a beat has its own deadlines again.
  REQUIRE(store.beat(signal_of("short", Signal::kRelease, kReplicaA)).accepted());
  f.clock->advance(1s);
  const auto after = store.beat(plain_beat("short"));
  CHECK_FALSE(after.client.held);
  CHECK(after.client.next_due == f.clock->now() + 5s);
  CHECK(after.client.down_at == f.clock->now() + 6s);
}

STORE_CONTRACT_SIGNALS(
    "restore of a paused client: the flag or the state alone keep it paused, with its saved deadlines") {
  Subject<TestType> f;
  PresenceStore& store = *f.store;
  f.clock->advance(1h);
  ClientView by_state;
  by_state.id = "by-state";
  by_state.state = ClientState::kPaused;  // the flag not set: an older file, or a hand-made one
  by_state.interval = 10s;
  by_state.grace = 5s;
  by_state.beats = 3;
  by_state.last_beat = f.clock->now() - 30min;
  by_state.next_due = f.clock->now() - 20min;
  by_state.down_at = f.clock->now() - 19min;
  ClientView by_flag = by_state;
  by_flag.id = "by-flag";
  by_flag.state = ClientState::kUp;
  by_flag.paused = true;
  ClientView down_paused = by_state;
  down_paused.id = "down-paused";
  down_paused.state = ClientState::kDown;
  down_paused.paused = true;
  REQUIRE(store.restore({by_state, by_flag, down_paused}) == 3);
  for (const ClientView* saved : {&by_state, &by_flag, &down_paused}) {
    INFO(saved->id);
    const auto client = store.find(saved->id);
    REQUIRE(client);
    CHECK(client->state == ClientState::kPaused);
    CHECK(client->paused);
    CHECK(client->next_due == saved->next_due);
    CHECK(client->down_at == saved->down_at);
  }
  CHECK(store.counters().clients[ClientState::kPaused] == 3);

  f.clock->advance(1h);
  CHECK(store.tick().empty());
  CHECK(state_of(store, "by-state") == ClientState::kPaused);
  const auto beaten = store.beat(plain_beat("by-state"));
  CHECK(beaten.client.state == ClientState::kUp);
  CHECK_FALSE(beaten.client.paused);
  CHECK(beaten.client.next_due == f.clock->now() + 10s);
}

STORE_CONTRACT_SIGNALS("the last log is kept until a beat brings another, and only detail() shows it") {
  Subject<TestType> f;
  PresenceStore& store = *f.store;
  auto with_log = plain_beat("backup");
  with_log.log = "copied 3 files\nall good\n";
  with_log.message = "copied 3 files";
  const auto first = store.beat(with_log);
  CHECK(first.client.log_bytes == with_log.log->size());
  auto detail = store.detail("backup");
  REQUIRE(detail);
  CHECK(detail->log == *with_log.log);
  CHECK(detail->client == *store.find("backup"));
  CHECK(store.list({}).clients.at(0).log_bytes == with_log.log->size());

  f.clock->advance(1s);
  CHECK(store.beat(signal_of("backup", Signal::kStart)).client.log_bytes == with_log.log->size());
  CHECK(store.detail("backup")->log == *with_log.log);

  f.clock->advance(1s);
  auto replaced = status_beat("backup", Health::kFail);
  replaced.log = std::string(pulse::presence::kMaxLogBytes, 'x');
  CHECK(store.beat(replaced).client.log_bytes == pulse::presence::kMaxLogBytes);
  CHECK(store.detail("backup")->log == *replaced.log);

  f.clock->advance(1s);
  auto emptied = plain_beat("backup");
  emptied.log = "";
  CHECK(store.beat(emptied).client.log_bytes == 0);
  CHECK(store.detail("backup")->log.empty());
  CHECK_FALSE(store.detail("nobody"));
}

STORE_CONTRACT_SIGNALS("history: joins, every change (tick's and pause's) and runs, oldest first, bounded") {
  StorePolicy policy;
  policy.history_length = 4;
  Subject<TestType> f(policy);
  PresenceStore& store = *f.store;
  const auto t0 = f.clock->now();
  REQUIRE(store.beat(plain_beat("svc", 10s, 5s)).accepted());
  CHECK(history_of(store, "svc") == std::vector<HistoryEntry>{change(t0, std::nullopt, ClientState::kUp)});

  f.clock->advance(10s);
  store.tick();  // late
  f.clock->advance(5s);
  store.tick();  // down
  std::vector<HistoryEntry> expected{change(t0, std::nullopt, ClientState::kUp),
                                     change(t0 + 10s, ClientState::kUp, ClientState::kLate),
                                     change(t0 + 15s, ClientState::kLate, ClientState::kDown)};
  CHECK(history_of(store, "svc") == expected);

  f.clock->advance(1s);
  REQUIRE(store.beat(signal_of("svc", Signal::kStart)).accepted());  // down -> up
  f.clock->advance(2s);
  REQUIRE(store.beat(signal_of("svc", Signal::kPause)).accepted());
  // Plain beats and starts add nothing; the ring keeps the last four.
  expected = {
      change(t0 + 10s, ClientState::kUp, ClientState::kLate), change(t0 + 15s, ClientState::kLate, ClientState::kDown),
      change(t0 + 16s, ClientState::kDown, ClientState::kUp), change(t0 + 18s, ClientState::kUp, ClientState::kPaused)};
  CHECK(history_of(store, "svc") == expected);

  f.clock->advance(2s);
  REQUIRE(store.beat(exit_of("svc", 1)).accepted());  // ends the run, paused -> failing
  expected = {change(t0 + 16s, ClientState::kDown, ClientState::kUp),
              change(t0 + 18s, ClientState::kUp, ClientState::kPaused), run(t0 + 20s, Health::kFail, 4000ms, 1),
              change(t0 + 20s, ClientState::kPaused, ClientState::kFailing)};
  CHECK(history_of(store, "svc") == expected);

  // The history goes with the client.
  REQUIRE(store.remove("svc"));
  REQUIRE(store.beat(plain_beat("svc")).accepted());
  CHECK(history_of(store, "svc").size() == 1);
}

STORE_CONTRACT_SIGNALS("a history length of 0 keeps none") {
  StorePolicy policy;
  policy.history_length = 0;
  Subject<TestType> f(policy);
  PresenceStore& store = *f.store;
  REQUIRE(store.beat(signal_of("quiet", Signal::kStart)).accepted());
  f.clock->advance(1s);
  CHECK(store.beat(signal_of("quiet", Signal::kFail)).run_duration == 1000ms);
  f.clock->advance(1min);
  store.tick();
  CHECK(history_of(store, "quiet").empty());
}

STORE_CONTRACT_SIGNALS("each event is returned by exactly one call") {
  Subject<TestType> f;
  PresenceStore& store = *f.store;
  const auto start = store.last_sequence();
  std::vector<std::uint64_t> returned;
  const auto keep = [&](const pulse::presence::BeatResult& result) {
    if (result.event) returned.push_back(result.event->sequence);
    return result;
  };

  const auto joined = keep(store.beat(plain_beat("a", 10s, 5s)));
  REQUIRE(joined.event);
  CHECK(joined.event->kind == EventKind::kJoin);
  CHECK(joined.event->sequence == store.last_sequence());
  CHECK(joined.event->client == joined.client);
  f.clock->advance(1s);
  CHECK_FALSE(keep(store.beat(plain_beat("a"))).event);  // no change
  CHECK_FALSE(keep(store.beat(signal_of("a", Signal::kStart))).event);
  f.clock->advance(1s);
  const auto failed = keep(store.beat(signal_of("a", Signal::kFail)));
  REQUIRE(failed.event);
  CHECK(failed.event->previous == ClientState::kUp);
  CHECK(failed.event->client == failed.client);
  CHECK(failed.event->client.last_duration == 1000ms);
  CHECK_FALSE(keep(store.beat(signal_of("a", Signal::kFail))).event);
  REQUIRE(keep(store.beat(signal_of("a", Signal::kPause))).event);
  CHECK_FALSE(keep(store.beat(signal_of("nobody", Signal::kPause))).event);
  CHECK_FALSE(keep(store.beat(plain_beat("bad id"))).event);
  for (const auto& event : store.tick()) returned.push_back(event.sequence);  // paused: nothing
  f.clock->advance(1s);
  REQUIRE(keep(store.beat(plain_beat("a"))).event);
  REQUIRE(keep(store.beat(plain_beat("b", 10s, 5s))).event);
  f.clock->advance(1min);
  for (const auto& event : store.tick()) returned.push_back(event.sequence);

  const auto all = store.events_after(start);
  REQUIRE(all);
  std::vector<std::uint64_t> logged;
  for (const auto& event : *all) logged.push_back(event.sequence);
  std::sort(returned.begin(), returned.end());
  CHECK(returned == logged);
  CHECK(logged.size() == 7);  // a: join, failing, paused, up, down; b: join, down
}

STORE_CONTRACT_SIGNALS("restore keeps pauses, runs, durations and exit codes, and a held client comes back unheld") {
  Subject<TestType> old_run;
  PresenceStore& old_store = *old_run.store;
  REQUIRE(old_store.beat(plain_beat("maint", 10s, 5s)).accepted());
  REQUIRE(old_store.beat(signal_of("maint", Signal::kPause)).accepted());
  REQUIRE(old_store.beat(signal_of("job", Signal::kStart, "r1")).accepted());
  REQUIRE(old_store.beat(signal_of("done", Signal::kStart)).accepted());
  old_run.clock->advance(3s);
  REQUIRE(old_store.beat(exit_of("done", 4)).accepted());
  REQUIRE(old_store.beat(signal_of("edge", Signal::kHold)).accepted());
  const auto saved = old_store.export_clients();
  REQUIRE(saved.size() == 4);

  Subject<TestType> f;
  PresenceStore& store = *f.store;
  f.clock->advance(1h);
  CHECK(store.restore(saved) == 4);
  const auto maint = store.find("maint");
  CHECK(maint->state == ClientState::kPaused);
  CHECK(maint->paused);
  const auto job = store.find("job");
  REQUIRE(job->runs.size() == 1);
  CHECK(job->runs[0].rid == "r1");
  CHECK(job->runs[0].started == old_run.clock->now() - 3s);
  const auto done = store.find("done");
  CHECK(done->last_duration == 3000ms);
  CHECK(done->exit_code == 4);
  CHECK(done->state == ClientState::kFailing);
  CHECK(done->message == "exit 4");
  const auto edge = store.find("edge");
  CHECK_FALSE(edge->held);
  CHECK(edge->state == ClientState::kUp);
  CHECK(edge->next_due == f.clock->now() + edge->interval);
  CHECK(edge->down_at == edge->next_due + edge->grace);

  f.clock->advance(3h);
  store.tick();
  CHECK(state_of(store, "maint") == ClientState::kPaused);
  CHECK(state_of(store, "job") == ClientState::kDown);
  f.clock->advance(1s);
  CHECK(store.beat(status_beat("job", Health::kOk, "r1")).run_duration ==
        std::chrono::duration_cast<std::chrono::milliseconds>(f.clock->now() - job->runs[0].started));
}
