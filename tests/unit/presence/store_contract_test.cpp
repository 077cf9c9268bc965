// The PresenceStore contract: every test here runs against the memory registry and against the
// Redis store (on a redis-server of this test's own), with a ManualClock, so both stores are
// held to one behaviour: outcomes, states, time-driven transitions and their events, limits,
// listings, the event history, versions, take_beaten and restore.
#include <fmt/format.h>

#include <catch2/catch.hpp>
#include <memory>
#include <set>
#include <string>

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

STORE_CONTRACT("the default grace is half the interval, at least 5 s; the default interval applies") {
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
