// RedisStore against real redis-servers started here: what the memory store has no notion of.
// Several stores on one Redis behave as one (the follower, exactly-once sweeps, cluster-wide
// limits); a Redis that stops, pauses, restarts or loses its data; the outage credit; scripts
// flushed; durability with WAIT; unix sockets, passwords and databases.
#include "pulse/presence/redis_store.hpp"

#include <fmt/format.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <condition_variable>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "pulse/presence/redis/event_mirror.hpp"
#include "support/redis_server.hpp"
#include "support/store_factories.hpp"

using namespace std::chrono_literals;
using pulse::presence::BeatOutcome;
using pulse::presence::BeatRequest;
using pulse::presence::ClientState;
using pulse::presence::EventKind;
using pulse::presence::ManualClock;
using pulse::presence::PresenceEvent;
using pulse::presence::RedisStore;
using pulse::presence::RedisStoreOptions;
using pulse::presence::StoreUnavailable;
using pulse::test::RedisServer;
using pulse::test::RedisServerOptions;
using pulse::test::StorePolicy;

namespace {

using Steady = std::chrono::steady_clock;

BeatRequest beat_of(std::string id, std::chrono::seconds interval = 10s, std::chrono::seconds grace = 5s) {
  BeatRequest request;
  request.id = std::move(id);
  request.interval = interval;
  request.grace = grace;
  request.remote_addr = "192.0.2.7";
  return request;
}

// Waits (bounded) until `condition` holds; returns whether it did.
template <typename Condition>
bool eventually(Condition condition, std::chrono::milliseconds bound = 5s) {
  const auto until = Steady::now() + bound;
  while (Steady::now() < until) {
    if (condition()) return true;
    std::this_thread::sleep_for(5ms);
  }
  return condition();
}

// Options for stores that share one prefix on `server`: "replicas" of one cluster.
RedisStoreOptions cluster_options(const RedisServer& server, const std::string& prefix,
                                  std::shared_ptr<const pulse::presence::Clock> clock, StorePolicy policy = {}) {
  auto options = pulse::test::redis_options(policy, std::move(clock), server);
  options.prefix = prefix;
  return options;
}

// A store whose calls fail fast in tests of outages.
RedisStoreOptions impatient(RedisStoreOptions options) {
  options.connect_timeout = 300ms;
  options.command_timeout = 500ms;
  return options;
}

std::vector<PresenceEvent> stream_events(const RedisServer& server, const std::string& prefix) {
  auto connection = server.connect();
  const auto reply = connection.command({"XRANGE", prefix + "events", "-", "+"});
  return pulse::presence::redis::EventMirror::decode_entries(reply);
}

}  // namespace

TEST_CASE("a beat on one replica is seen with the same fields on another", "[presence][redis]") {
  RedisServer server;
  auto clock = std::make_shared<ManualClock>();
  const std::string prefix = pulse::test::unique_prefix();
  RedisStore a(cluster_options(server, prefix, clock));
  RedisStore b(cluster_options(server, prefix, clock));

  const auto result = a.beat(beat_of("web-1"));
  REQUIRE(result.outcome == BeatOutcome::kCreated);
  const auto seen = b.find("web-1");
  REQUIRE(seen);
  CHECK(*seen == result.client);
  const auto listing = b.list({});
  REQUIRE(listing.clients.size() == 1);
  CHECK(listing.clients[0] == result.client);
  CHECK(listing.counts.total() == 1);
  // Known on B too: a beat there is an update of the same client.
  clock->advance(1s);
  const auto again = b.beat(beat_of("web-1"));
  CHECK(again.outcome == BeatOutcome::kUpdated);
  CHECK(again.client.beats == 2);
  CHECK(b.counters().beats_total == 2);
}

TEST_CASE("the follower brings another replica's events and calls the listener", "[presence][redis]") {
  RedisServer server;
  auto clock = std::make_shared<ManualClock>();
  const std::string prefix = pulse::test::unique_prefix();
  RedisStore a(cluster_options(server, prefix, clock));
  RedisStore watcher(cluster_options(server, prefix, clock));
  std::atomic<int> told{0};
  watcher.set_event_listener([&] { ++told; });
  const auto start = watcher.last_sequence();
  CHECK(a.last_sequence() == start);

  REQUIRE(a.beat(beat_of("x")).accepted());
  REQUIRE(eventually([&] { return watcher.last_sequence() == start + 1; }));
  CHECK(told.load() >= 1);
  const auto events = watcher.events_after(start);
  REQUIRE(events);
  REQUIRE(events->size() == 1);
  CHECK((*events)[0].kind == EventKind::kJoin);
  CHECK((*events)[0].client.id == "x");

  // A transition swept by A reaches the watcher too, once.
  clock->advance(11s);
  CHECK(a.tick().size() == 1);
  REQUIRE(eventually([&] { return watcher.last_sequence() == start + 2; }));
  const auto changed = watcher.events_after(start + 1);
  REQUIRE(changed);
  REQUIRE(changed->size() == 1);
  CHECK((*changed)[0].previous == ClientState::kUp);
  CHECK((*changed)[0].client.state == ClientState::kLate);
  // The watcher's own tick finds nothing left to do.
  CHECK(watcher.tick().empty());

  // A store started later primes its history from the stream: a watcher resumes on any replica.
  RedisStore late_comer(cluster_options(server, prefix, clock));
  CHECK(late_comer.last_sequence() == start + 2);
  const auto resumed = late_comer.events_after(start);
  REQUIRE(resumed);
  CHECK(resumed->size() == 2);
}

TEST_CASE("replicas sweeping at once announce each transition exactly once", "[presence][redis]") {
  RedisServer server;
  auto clock = std::make_shared<ManualClock>();
  const std::string prefix = pulse::test::unique_prefix();
  StorePolicy policy;
  policy.retention = 1min;
  policy.event_history = 5000;  // the stream keeps every event of the test
  auto options = cluster_options(server, prefix, clock, policy);
  options.sweep_batch = 50;  // many small scripts, so the replicas interleave
  std::vector<std::unique_ptr<RedisStore>> replicas;
  for (int i = 0; i < 3; ++i) replicas.push_back(std::make_unique<RedisStore>(options));

  constexpr int kClients = 600;
  for (int i = 0; i < kClients; ++i) {
    REQUIRE(replicas[static_cast<std::size_t>(i) % replicas.size()]->beat(beat_of(fmt::format("c{}", i))).accepted());
  }
  std::map<std::string, int> returned;  // (id, state) -> how many tick() results announced it
  std::mutex returned_mutex;
  const auto sweep_all = [&] {
    std::vector<std::thread> threads;
    for (auto& replica : replicas) {
      threads.emplace_back([&] {
        for (int round = 0; round < 3; ++round) {
          for (const auto& event : replica->tick()) {
            std::lock_guard lock(returned_mutex);
            ++returned[event.client.id + (event.kind == EventKind::kLeave
                                              ? std::string("/leave")
                                              : "/" + std::string(to_string(event.client.state)))];
          }
        }
      });
    }
    for (auto& thread : threads) thread.join();
  };
  clock->advance(10s);  // all late
  sweep_all();
  clock->advance(5s);  // all down
  sweep_all();
  clock->advance(1min);  // all forgotten
  sweep_all();

  const auto events = stream_events(server, prefix);
  std::map<std::string, int> announced;
  for (const auto& event : events) {
    if (event.kind == EventKind::kJoin) continue;
    ++announced[event.client.id + (event.kind == EventKind::kLeave ? std::string("/leave")
                                                                   : "/" + std::string(to_string(event.client.state)))];
  }
  CHECK(announced.size() == 3 * kClients);
  for (const auto& [what, times] : announced) {
    INFO(what);
    CHECK(times == 1);
  }
  CHECK(returned == announced);
  for (std::size_t i = 1; i < events.size(); ++i) CHECK(events[i].sequence == events[i - 1].sequence + 1);
  const auto counters = replicas[0]->counters();
  CHECK(counters.transitions_total == 2 * kClients);
  CHECK(counters.clients.total() == 0);
  CHECK(replicas[1]->list({}).clients.empty());
}

TEST_CASE("the rate limit and the client maximum hold across replicas", "[presence][redis]") {
  RedisServer server;
  auto clock = std::make_shared<ManualClock>();
  const std::string prefix = pulse::test::unique_prefix();
  StorePolicy policy;
  policy.max_clients = 5;
  RedisStore a(cluster_options(server, prefix, clock, policy));
  RedisStore b(cluster_options(server, prefix, clock, policy));

  int accepted = 0;
  for (int i = 0; i < 20; ++i) accepted += (i % 2 == 0 ? a : b).beat(beat_of("eager")).accepted() ? 1 : 0;
  CHECK(accepted == 10);
  CHECK(a.counters().rate_limited_total + b.counters().rate_limited_total >= 10);
  CHECK(b.find("eager")->beats == 10);

  for (int i = 0; i < 4; ++i) REQUIRE((i % 2 == 0 ? b : a).beat(beat_of(fmt::format("n{}", i))).accepted());
  CHECK(a.beat(beat_of("one-too-many")).outcome == BeatOutcome::kFull);
  CHECK(b.beat(beat_of("another")).outcome == BeatOutcome::kFull);
  CHECK(b.list({}).counts.total() == 5);
}

TEST_CASE("many threads beating through one store and two replicas lose nothing", "[presence][redis]") {
  RedisServer server;
  auto clock = std::make_shared<ManualClock>();
  const std::string prefix = pulse::test::unique_prefix();
  StorePolicy policy;
  policy.max_beats_per_second = 0;
  RedisStore a(cluster_options(server, prefix, clock, policy));
  RedisStore b(cluster_options(server, prefix, clock, policy));
  constexpr int kThreads = 6;
  constexpr int kBeats = 200;
  std::atomic<int> refused{0};  // Catch2's assertions are not for other threads: count instead
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      RedisStore& store = t % 2 == 0 ? a : b;
      for (int i = 0; i < kBeats; ++i) {
        if (!store.beat(beat_of(fmt::format("t{}-{}", t, i % 20))).accepted()) ++refused;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  CHECK(refused.load() == 0);
  const auto listing = a.list({});
  CHECK(listing.clients.size() == kThreads * 20);
  for (const auto& client : listing.clients) CHECK(client.beats == kBeats / 20);
  CHECK(a.counters().beats_total == kThreads * kBeats);
  // Both mirrors hold every join, in order.
  REQUIRE(eventually([&] { return b.last_sequence() == a.last_sequence(); }));
  const auto joins = b.events_after(b.last_sequence() - kThreads * 20);
  REQUIRE(joins);
  CHECK(joins->size() == kThreads * 20);
}

TEST_CASE("with Redis stopped calls throw StoreUnavailable at once, and recover when it returns", "[presence][redis]") {
  RedisServer server;
  auto clock = std::make_shared<ManualClock>();
  RedisStore store(impatient(cluster_options(server, pulse::test::unique_prefix(), clock)));
  REQUIRE(store.beat(beat_of("a")).accepted());
  CHECK(store.health().ready);
  const auto errors_before = store.health().errors_total;

  server.kill();
  CHECK_THROWS_AS(store.beat(beat_of("a")), StoreUnavailable);
  const auto health = store.health();
  CHECK_FALSE(health.ready);
  CHECK(health.errors_total > errors_before);
  CHECK_FALSE(health.detail.empty());

  // Backing off: refusals are immediate, and every call refuses the same way.
  const auto started = Steady::now();
  for (int i = 0; i < 100; ++i) CHECK_THROWS_AS(store.find("a"), StoreUnavailable);
  CHECK_THROWS_AS(store.list({}), StoreUnavailable);
  CHECK_THROWS_AS(store.tick(), StoreUnavailable);
  CHECK(Steady::now() - started < 1s);
  // What never blocks still answers.
  (void)store.version();
  (void)store.counters();
  (void)store.events_after(store.last_sequence());

  server.start();  // an empty Redis on the same port (no AOF): the store finds it by itself
  REQUIRE(eventually(
      [&] {
        try {
          return store.beat(beat_of("b")).accepted();
        } catch (const StoreUnavailable&) {
          return false;
        }
      },
      10s));
  CHECK(store.health().ready);
  CHECK(store.find("b"));
}

TEST_CASE("a paused Redis times calls out, then they are refused fast until it is back", "[presence][redis]") {
  RedisServer server;
  auto clock = std::make_shared<ManualClock>();
  RedisStore store(impatient(cluster_options(server, pulse::test::unique_prefix(), clock)));
  REQUIRE(store.beat(beat_of("a")).accepted());

  server.pause();
  auto started = Steady::now();
  CHECK_THROWS_AS(store.beat(beat_of("a")), StoreUnavailable);
  CHECK(Steady::now() - started < 1500ms);  // the command timeout, not forever
  CHECK_FALSE(store.health().ready);
  // Refused at once while backing off. When a back-off ends (50-100 ms, then doubling) one call
  // tries Redis again and waits out the command timeout: on a slow machine the loop can outlast
  // a back-off or two, so a few slow calls are allowed, not a slow loop.
  int slow_calls = 0;
  for (int i = 0; i < 50; ++i) {
    started = Steady::now();
    CHECK_THROWS_AS(store.beat(beat_of("a")), StoreUnavailable);
    if (Steady::now() - started >= 100ms) ++slow_calls;
  }
  CHECK(slow_calls <= 3);

  server.resume();
  REQUIRE(eventually(
      [&] {
        try {
          clock->advance(200ms);
          return store.beat(beat_of("a")).accepted();
        } catch (const StoreUnavailable&) {
          return false;
        }
      },
      10s));
  CHECK(store.health().ready);
}

TEST_CASE("a Redis restarted with AOF loses no client, and the store carries on", "[presence][redis]") {
  RedisServerOptions server_options;
  server_options.append_only = true;
  RedisServer server(server_options);
  auto clock = std::make_shared<ManualClock>();
  const std::string prefix = pulse::test::unique_prefix();
  RedisStore store(impatient(cluster_options(server, prefix, clock)));
  for (int i = 0; i < 50; ++i) REQUIRE(store.beat(beat_of(fmt::format("k{}", i))).accepted());
  const auto sequence = store.last_sequence();

  server.restart();
  REQUIRE(eventually(
      [&] {
        try {
          return store.list({}).clients.size() == 50;
        } catch (const StoreUnavailable&) {
          return false;
        }
      },
      10s));
  // The numbering goes on where it was, and the history is intact.
  REQUIRE(store.beat(beat_of("after")).accepted());
  CHECK(store.last_sequence() == sequence + 1);
  REQUIRE(store.events_after(sequence - 10));
  CHECK(store.events_after(sequence - 10)->size() == 11);
}

TEST_CASE("a Redis that lost its data never reuses an event number or a version", "[presence][redis]") {
  RedisServer server;
  auto clock = std::make_shared<ManualClock>();
  const std::string prefix = pulse::test::unique_prefix();
  RedisStore store(cluster_options(server, prefix, clock));
  REQUIRE(store.beat(beat_of("a")).accepted());
  const auto sequence = store.last_sequence();
  const auto version = store.version();
  const auto old_cursor = sequence;

  (void)server.command({"FLUSHALL"});
  clock->advance(1s);
  REQUIRE(store.beat(beat_of("b")).outcome == BeatOutcome::kCreated);
  CHECK(store.last_sequence() > sequence);
  CHECK(store.version() > version);
  // A watcher from before the loss cannot be given the events it missed: a snapshot.
  CHECK_FALSE(store.events_after(old_cursor));
  const auto listing = store.list({});
  REQUIRE(listing.clients.size() == 1);
  REQUIRE(store.events_after(listing.sequence));
}

TEST_CASE("scripts flushed from Redis are loaded again", "[presence][redis]") {
  RedisServer server;
  auto clock = std::make_shared<ManualClock>();
  RedisStore store(cluster_options(server, pulse::test::unique_prefix(), clock));
  REQUIRE(store.beat(beat_of("a")).accepted());
  (void)server.command({"SCRIPT", "FLUSH"});
  clock->advance(1s);
  CHECK(store.beat(beat_of("a")).outcome == BeatOutcome::kUpdated);
  CHECK(store.health().ready);
}

TEST_CASE("the outage credit: time nobody could beat does not count against anyone", "[presence][redis]") {
  RedisServer server;
  auto clock = std::make_shared<ManualClock>();
  auto options = cluster_options(server, pulse::test::unique_prefix(), clock);
  options.outage_credit_after = 3s;
  RedisStore store(options);
  REQUIRE(store.beat(beat_of("a", 10s, 5s)).accepted());
  REQUIRE(store.beat(beat_of("b", 2s, 1s)).accepted());
  for (int i = 0; i < 24; ++i) {  // 6 s of sweeps, as the service makes them
    clock->advance(250ms);
    (void)store.tick();
  }
  REQUIRE(store.find("b")->state == ClientState::kDown);  // b went down while Redis was there

  // Nothing reaches Redis for a minute (it, or every replica, was away).
  const auto a_before = *store.find("a");
  clock->advance(1min);
  CHECK(store.tick().empty());
  const auto a_after = *store.find("a");
  CHECK(a_after.state == ClientState::kUp);
  CHECK(a_after.next_due - a_before.next_due == 1min);
  CHECK(a_after.down_at - a_before.down_at == 1min);
  // ... it keeps the time it had left, no more: late on its shifted deadline, swept as usual.
  std::vector<PresenceEvent> events;
  while (clock->now() < a_after.next_due) {
    clock->advance(250ms);
    for (auto& event : store.tick()) events.push_back(event);
  }
  REQUIRE(events.size() == 1);
  CHECK(events[0].client.state == ClientState::kLate);
  // A client that was down stays down, its retention running from when it went down.
  CHECK(store.find("b")->state == ClientState::kDown);

  // Short gaps are not outages.
  clock->advance(2s);
  (void)store.tick();
  CHECK(store.find("a")->state == ClientState::kLate);
}

TEST_CASE("the outage credit with Redis's own clock: a 4 s pause makes nobody down", "[presence][redis][slow]") {
  RedisServer server;
  auto options = impatient(cluster_options(server, pulse::test::unique_prefix(), nullptr));
  options.outage_credit_after = 1500ms;
  RedisStore store(options);
  REQUIRE(store.beat(beat_of("a", 1s, 1s)).accepted());
  const auto start = store.last_sequence();
  std::atomic<bool> stop{false};
  std::thread sweeper([&] {
    while (!stop) {
      try {
        (void)store.tick();
        (void)store.beat(beat_of("a", 1s, 1s));
      } catch (const StoreUnavailable&) {
      }
      std::this_thread::sleep_for(250ms);
    }
  });
  std::this_thread::sleep_for(500ms);
  server.pause();
  std::this_thread::sleep_for(4s);
  server.resume();
  std::this_thread::sleep_for(100ms);
  // The sweeper's first write credited the gap: "a" was never allowed to go down.
  REQUIRE(eventually([&] {
    try {
      return store.health().ready && store.find("a")->state == ClientState::kUp;
    } catch (const StoreUnavailable&) {
      return false;
    }
  }));
  stop = true;
  sweeper.join();
  const auto events = store.events_after(start);
  REQUIRE(events);
  for (const auto& event : *events) CHECK(event.client.state != ClientState::kDown);
}

TEST_CASE("WAIT: a write no replica acknowledged is refused", "[presence][redis]") {
  RedisServer server;
  auto clock = std::make_shared<ManualClock>();
  auto options = cluster_options(server, pulse::test::unique_prefix(), clock);
  options.wait_replicas = 1;
  options.wait_timeout = 100ms;
  RedisStore store(options);
  const auto started = Steady::now();
  CHECK_THROWS_AS(store.beat(beat_of("a")), StoreUnavailable);
  CHECK(Steady::now() - started < 1s);
  CHECK(store.health().ready);  // Redis answered; it is the replica that is missing
  CHECK(store.health().errors_total == 1);
}

TEST_CASE("unix sockets, passwords and databases", "[presence][redis]") {
  RedisServerOptions server_options;
  server_options.password = "s3cret";
  RedisServer server(server_options);
  auto clock = std::make_shared<ManualClock>();
  auto options = cluster_options(server, "p:", clock);
  options.url = pulse::presence::parse_redis_url("unix://" + server.unix_path() + "?db=2");
  options.password = "s3cret";
  RedisStore store(options);
  REQUIRE(store.beat(beat_of("a")).accepted());
  auto connection = server.connect();
  CHECK(connection.command({"SELECT", "2"}).text == "OK");
  CHECK(connection.command({"HLEN", "p:clients"}).integer == 1);

  auto wrong = impatient(options);
  wrong.password = "nope";
  wrong.prefix = "q:";
  RedisStore refused(wrong);
  CHECK_FALSE(refused.health().ready);
  CHECK_THROWS_AS(refused.beat(beat_of("a")), StoreUnavailable);
  CHECK_THAT(refused.health().detail, Catch::Contains("AUTH"));
}

TEST_CASE("a store made while Redis is away starts, then connects", "[presence][redis]") {
  const auto port = pulse::test::free_local_port();
  auto clock = std::make_shared<ManualClock>();
  RedisStoreOptions options;
  options.url = pulse::presence::parse_redis_url(fmt::format("redis://127.0.0.1:{}", port));
  options.clock = clock;
  options.outage_credit_after = 0ms;
  const auto started = Steady::now();
  RedisStore store(impatient(options));
  CHECK(Steady::now() - started < 1s);
  CHECK_FALSE(store.health().ready);
  CHECK_THROWS_AS(store.beat(beat_of("a")), StoreUnavailable);

  RedisServerOptions server_options;
  server_options.port = port;
  RedisServer server(server_options);
  REQUIRE(eventually(
      [&] {
        try {
          return store.beat(beat_of("a")).accepted();
        } catch (const StoreUnavailable&) {
          return false;
        }
      },
      10s));
  // The follower connected too and primed: another replica's events arrive.
  RedisStore other(options);
  const auto before = store.last_sequence();
  REQUIRE(other.beat(beat_of("b")).accepted());
  CHECK(eventually([&] { return store.last_sequence() == before + 1; }));
}

TEST_CASE("stopping a store ends its follower promptly", "[presence][redis]") {
  RedisServer server;
  auto clock = std::make_shared<ManualClock>();
  const auto started = Steady::now();
  for (int i = 0; i < 5; ++i) {
    RedisStore store(cluster_options(server, pulse::test::unique_prefix(), clock));
    std::this_thread::sleep_for(20ms);  // the follower is blocked in XREAD
  }
  CHECK(Steady::now() - started < 2s);
}

// ---- Issue 11: the store semantics the memory store has too, and what only Redis can get wrong
// (keys left behind, records carrying logs, replicas announcing twice).

namespace {

using pulse::presence::Health;
using pulse::presence::HistoryEntry;
using pulse::presence::HistoryKind;
using pulse::presence::Signal;

BeatRequest signal_of(std::string id, Signal signal) {
  BeatRequest request;
  request.id = std::move(id);
  request.signal = signal;
  request.remote_addr = "192.0.2.8";
  return request;
}

// A store of its own on the process's shared redis-server: the semantics, not the server.
std::unique_ptr<RedisStore> semantics_store(std::shared_ptr<ManualClock> clock, std::size_t history_length = 10,
                                            StorePolicy policy = {}) {
  auto options = pulse::test::redis_options(policy, std::move(clock));
  options.history_length = history_length;
  return std::make_unique<RedisStore>(options);
}

bool in_zset(const RedisServer& server, const std::string& key, const std::string& id) {
  auto connection = server.connect();
  return !connection.command({"ZSCORE", key, id}).is_nil();
}

bool key_exists(const RedisServer& server, const std::string& key) {
  auto connection = server.connect();
  return connection.command({"EXISTS", key}).as_integer() == 1;
}

HistoryEntry change(pulse::presence::Time at, std::optional<ClientState> from, ClientState to) {
  HistoryEntry entry;
  entry.at = at;
  entry.kind = HistoryKind::kChange;
  entry.from = from;
  entry.to = to;
  return entry;
}

HistoryEntry run(pulse::presence::Time at, Health result, std::optional<std::uint8_t> exit_code,
                 std::chrono::milliseconds duration) {
  HistoryEntry entry;
  entry.at = at;
  entry.kind = HistoryKind::kRun;
  entry.result = result;
  entry.exit_code = exit_code;
  entry.duration = duration;
  return entry;
}

}  // namespace

TEST_CASE("redis: settings are sticky, a new id takes the defaults", "[presence][redis][issue11]") {
  auto clock = std::make_shared<ManualClock>();
  StorePolicy policy;
  policy.default_interval = 40s;
  auto store = semantics_store(clock, 10, policy);

  auto fresh = store->beat(signal_of("new", Signal::kBeat));
  REQUIRE(fresh.outcome == BeatOutcome::kCreated);
  CHECK(fresh.client.interval == 40s);
  CHECK(fresh.client.grace == 20s);

  REQUIRE(store->beat(beat_of("db-1", 5s, 7s)).accepted());
  clock->advance(1s);
  auto failing = signal_of("db-1", Signal::kBeat);
  failing.health = Health::kFail;
  const auto kept = store->beat(failing);
  CHECK(kept.client.interval == 5s);
  CHECK(kept.client.grace == 7s);
  CHECK(kept.client.state == ClientState::kFailing);
  CHECK(kept.client.next_due == clock->now() + 5s);
  CHECK(kept.client.down_at == clock->now() + 12s);

  clock->advance(1s);
  auto interval_only = signal_of("db-1", Signal::kBeat);
  interval_only.interval = 20s;
  const auto with_default_grace = store->beat(interval_only);
  CHECK(with_default_grace.client.interval == 20s);
  CHECK(with_default_grace.client.grace == 10s);
  // Without status= and no run open, a plain beat is healthy again.
  CHECK(with_default_grace.client.health == Health::kOk);

  clock->advance(1s);
  auto grace_only = signal_of("db-1", Signal::kBeat);
  grace_only.grace = 3s;
  const auto with_grace = store->beat(grace_only);
  CHECK(with_grace.client.interval == 20s);
  CHECK(with_grace.client.grace == 3s);
  // The record another replica reads says the same.
  CHECK(*store->find("db-1") == with_grace.client);
}

TEST_CASE("redis: runs, still-alive beats, rids, durations and exit statuses", "[presence][redis][issue11]") {
  auto clock = std::make_shared<ManualClock>();
  auto store = semantics_store(clock);
  const auto t0 = clock->now();
  auto start_a = signal_of("job", Signal::kStart);
  start_a.run_id = "a";
  const auto started = store->beat(start_a);
  REQUIRE(started.outcome == BeatOutcome::kCreated);
  CHECK(started.client.health == Health::kOk);
  REQUIRE(started.client.runs.size() == 1);
  CHECK(started.client.runs[0] == pulse::presence::OpenRun{"a", t0});
  CHECK_FALSE(started.run_duration);
  REQUIRE(started.event);
  CHECK(started.event->kind == EventKind::kJoin);

  clock->advance(2s);
  const auto t1 = clock->now();
  auto start_b = signal_of("job", Signal::kStart);
  start_b.run_id = "b";
  CHECK(store->beat(start_b).client.runs.size() == 2);

  // A plain beat while runs are open: still alive, nothing ends, the health stays.
  clock->advance(3s);
  auto alive = store->beat(signal_of("job", Signal::kBeat));
  CHECK(alive.client.runs.size() == 2);
  CHECK_FALSE(alive.run_duration);
  CHECK(alive.client.beats == 3);
  CHECK_FALSE(alive.event);

  // status=ok with rid=b ends b only.
  clock->advance(1500ms);
  auto end_b = signal_of("job", Signal::kBeat);
  end_b.health = Health::kOk;
  end_b.run_id = "b";
  const auto ended_b = store->beat(end_b);
  REQUIRE(ended_b.run_duration);
  CHECK(*ended_b.run_duration == clock->now() - t1);
  CHECK(ended_b.client.last_duration == ended_b.run_duration);
  REQUIRE(ended_b.client.runs.size() == 1);
  CHECK(ended_b.client.runs[0].rid == "a");

  // An rid no run has ends nothing.
  auto end_none = signal_of("job", Signal::kFail);
  end_none.run_id = "zzz";
  clock->advance(1s);
  const auto not_ended = store->beat(end_none);
  CHECK_FALSE(not_ended.run_duration);
  CHECK(not_ended.client.runs.size() == 1);
  CHECK(not_ended.client.state == ClientState::kFailing);
  REQUIRE(not_ended.event);
  CHECK(not_ended.event->previous == ClientState::kUp);
  CHECK(not_ended.event->client.state == ClientState::kFailing);

  // An exit status without rid ends the oldest run: a, with "exit 3".
  clock->advance(1s);
  const auto t_exit = clock->now();
  auto exit3 = signal_of("job", Signal::kExit);
  exit3.exit_code = 3;
  const auto exited = store->beat(exit3);
  REQUIRE(exited.run_duration);
  CHECK(*exited.run_duration == t_exit - t0);
  CHECK(exited.client.runs.empty());
  CHECK(exited.client.exit_code == std::uint8_t{3});
  CHECK(exited.client.message == "exit 3");
  CHECK(exited.client.health == Health::kFail);

  // exit 0 with a message of its own: ok, that message; nothing to end.
  clock->advance(1s);
  auto exit0 = signal_of("job", Signal::kExit);
  exit0.exit_code = 0;
  exit0.message = "done";
  const auto fine = store->beat(exit0);
  CHECK(fine.client.state == ClientState::kUp);
  CHECK(fine.client.message == "done");
  CHECK(fine.client.exit_code == std::uint8_t{0});
  CHECK(fine.client.last_ok == clock->now());
  CHECK(fine.client.last_duration == exited.run_duration);  // the last run's, kept

  const auto detail = store->detail("job");
  REQUIRE(detail);
  CHECK(detail->client == fine.client);
  const std::vector<HistoryEntry> expected{
      change(t0, std::nullopt, ClientState::kUp),
      run(t1 + 4500ms, Health::kOk, std::nullopt, std::chrono::milliseconds(4500)),
      change(t1 + 5500ms, ClientState::kUp, ClientState::kFailing),
      run(t_exit, Health::kFail, std::uint8_t{3}, std::chrono::duration_cast<std::chrono::milliseconds>(t_exit - t0)),
      change(t_exit + 1s, ClientState::kFailing, ClientState::kUp),
  };
  CHECK(detail->history == expected);
}

TEST_CASE("redis: at most kMaxOpenRuns runs, a start with an open rid restarts it", "[presence][redis][issue11]") {
  auto clock = std::make_shared<ManualClock>();
  auto store = semantics_store(clock);
  pulse::presence::ClientView client;
  for (int i = 0; i < 6; ++i) {
    auto start = signal_of("cron", Signal::kStart);
    start.run_id = fmt::format("r{}", i);
    client = store->beat(start).client;
    clock->advance(1s);
  }
  REQUIRE(client.runs.size() == pulse::presence::kMaxOpenRuns);
  CHECK(client.runs.front().rid == "r2");
  CHECK(client.runs.back().rid == "r5");
  auto again = signal_of("cron", Signal::kStart);
  again.run_id = "r3";
  const auto restarted = store->beat(again).client;
  REQUIRE(restarted.runs.size() == pulse::presence::kMaxOpenRuns);
  CHECK(restarted.runs.back() == pulse::presence::OpenRun{"r3", clock->now()});
  CHECK(std::count_if(restarted.runs.begin(), restarted.runs.end(), [](const auto& r) { return r.rid == "r3"; }) == 1);
  // The runs survive a listing and an export (the record's flat run fields).
  CHECK(store->list({}).clients.at(0) == restarted);
  CHECK(store->export_clients().at(0).runs == restarted.runs);
  // A start with no end within interval + grace means down.
  clock->advance(restarted.down_at - clock->now());
  (void)store->tick();
  CHECK(store->find("cron")->state == ClientState::kDown);
}

TEST_CASE("redis: a pause stops time for a client until its next beat", "[presence][redis][issue11]") {
  auto& server = pulse::test::shared_redis_server();
  auto clock = std::make_shared<ManualClock>();
  StorePolicy policy;
  policy.retention = 1min;
  auto store = semantics_store(clock, 10, policy);

  const auto unknown = store->beat(signal_of("ghost", Signal::kPause));
  CHECK(unknown.outcome == BeatOutcome::kNotFound);
  CHECK_FALSE(store->find("ghost"));
  CHECK(store->counters().clients.total() == 0);

  REQUIRE(store->beat(beat_of("db", 10s, 5s)).accepted());
  clock->advance(12s);
  const auto paused = store->beat(signal_of("db", Signal::kPause));
  CHECK(paused.outcome == BeatOutcome::kUpdated);
  CHECK(paused.previous == ClientState::kUp);  // the stored state: nobody swept it late yet
  CHECK(paused.client.state == ClientState::kPaused);
  CHECK(paused.client.paused);
  CHECK(paused.client.beats == 1);  // not a beat
  REQUIRE(paused.event);
  CHECK(paused.event->kind == EventKind::kChange);
  CHECK(paused.event->client.state == ClientState::kPaused);
  CHECK(store->counters().clients[ClientState::kPaused] == 1);
  CHECK(store->counters().clients.online() == 0);
  CHECK_FALSE(in_zset(server, store->key("deadlines"), "db"));
  CHECK_FALSE(in_zset(server, store->key("expiries"), "db"));
  // Pausing again changes nothing and announces nothing.
  const auto version = store->version();
  const auto twice = store->beat(signal_of("db", Signal::kPause));
  CHECK(twice.outcome == BeatOutcome::kUpdated);
  CHECK_FALSE(twice.event);
  CHECK(store->version() == version);

  // Hours pass: not late, not down, not forgotten.
  for (int i = 0; i < 5; ++i) {
    clock->advance(1h);
    CHECK(store->tick().empty());
  }
  CHECK(store->find("db")->state == ClientState::kPaused);
  CHECK(store->list({}).clients.at(0).state == ClientState::kPaused);

  // The next beat unpauses, with fresh deadlines.
  const auto back = store->beat(signal_of("db", Signal::kBeat));
  CHECK(back.client.state == ClientState::kUp);
  CHECK_FALSE(back.client.paused);
  CHECK(back.client.next_due == clock->now() + 10s);
  CHECK(back.previous == ClientState::kPaused);
  CHECK(in_zset(server, store->key("deadlines"), "db"));
  CHECK(store->counters().clients[ClientState::kPaused] == 0);

  // A down client paused leaves the expiries: it is not forgotten while paused.
  clock->advance(20s);
  (void)store->tick();
  REQUIRE(store->find("db")->state == ClientState::kDown);
  CHECK(in_zset(server, store->key("expiries"), "db"));
  CHECK(store->beat(signal_of("db", Signal::kPause)).client.state == ClientState::kPaused);
  CHECK_FALSE(in_zset(server, store->key("expiries"), "db"));
  clock->advance(2min);
  CHECK(store->tick().empty());
  CHECK(store->find("db"));

  const auto detail = store->detail("db");
  REQUIRE(detail);
  REQUIRE(detail->history.size() == 5);  // join, paused, up, down, paused
  CHECK(detail->history[1].to == ClientState::kPaused);
  CHECK(detail->history[3].from == ClientState::kUp);
  CHECK(detail->history[3].to == ClientState::kDown);
}

TEST_CASE("redis: a pause is rate-limited like a beat, alive and release are not", "[presence][redis][issue11]") {
  auto clock = std::make_shared<ManualClock>();
  StorePolicy policy;
  policy.max_beats_per_second = 1;
  auto store = semantics_store(clock, 10, policy);
  REQUIRE(store->beat(signal_of("x", Signal::kHold)).accepted());
  CHECK(store->beat(signal_of("x", Signal::kPause)).outcome == BeatOutcome::kRateLimited);
  CHECK(store->beat(signal_of("x", Signal::kAlive)).outcome == BeatOutcome::kUpdated);
  CHECK(store->beat(signal_of("x", Signal::kRelease)).outcome == BeatOutcome::kUpdated);
}

TEST_CASE("redis: hold, alive and release", "[presence][redis][issue11]") {
  using pulse::presence::kHoldGrace;
  using pulse::presence::kHoldRefresh;
  auto clock = std::make_shared<ManualClock>();
  auto store = semantics_store(clock);

  CHECK(store->beat(signal_of("h", Signal::kAlive)).outcome == BeatOutcome::kNotFound);
  CHECK(store->beat(signal_of("h", Signal::kRelease)).outcome == BeatOutcome::kNotFound);
  CHECK_FALSE(store->find("h"));

  auto first = beat_of("h", 60s, 30s);
  first.message = "hello";
  REQUIRE(store->beat(first).accepted());
  // Not held: alive changes nothing.
  clock->advance(1s);
  const auto ignored = store->beat(signal_of("h", Signal::kAlive));
  CHECK(ignored.outcome == BeatOutcome::kUpdated);
  CHECK(ignored.client == *store->find("h"));
  CHECK(ignored.client.next_due == clock->now() + 59s);

  auto hold = signal_of("h", Signal::kHold);
  const auto held = store->beat(hold);
  CHECK(held.client.held);
  CHECK(held.client.beats == 2);
  CHECK(held.client.interval == 60s);  // kept for when the client polls again
  CHECK(held.client.grace == 30s);
  CHECK(held.client.message == "hello");  // a hold keeps the message unless it brings one
  CHECK(held.client.next_due == clock->now() + kHoldRefresh);
  CHECK(held.client.down_at == clock->now() + kHoldRefresh + kHoldGrace);

  // The holding server refreshes: deadlines only.
  clock->advance(10s);
  const auto version = store->version();
  const auto refreshed = store->beat(signal_of("h", Signal::kAlive));
  CHECK(refreshed.client.next_due == clock->now() + kHoldRefresh);
  CHECK(refreshed.client.beats == 2);
  CHECK_FALSE(refreshed.event);
  CHECK(store->version() == version);

  // That server stalled: late; its next refresh makes the client up again, announced.
  clock->advance(kHoldRefresh);
  REQUIRE(store->tick().size() == 1);
  const auto recovered = store->beat(signal_of("h", Signal::kAlive));
  CHECK(recovered.previous == ClientState::kLate);
  CHECK(recovered.client.state == ClientState::kUp);
  REQUIRE(recovered.event);
  CHECK(recovered.event->previous == ClientState::kLate);

  // The connection drops: late at once, down after kHoldGrace.
  clock->advance(1s);
  const auto released = store->beat(signal_of("h", Signal::kRelease));
  CHECK_FALSE(released.client.held);
  CHECK(released.client.state == ClientState::kLate);
  CHECK(released.client.next_due == clock->now());
  CHECK(released.client.down_at == clock->now() + kHoldGrace);
  REQUIRE(released.event);
  CHECK(released.event->previous == ClientState::kUp);
  // Alive after the release is ignored (a late refresh from the old connection).
  CHECK(store->beat(signal_of("h", Signal::kAlive)).client.state == ClientState::kLate);
  clock->advance(kHoldGrace);
  const auto swept = store->tick();
  REQUIRE(swept.size() == 1);
  CHECK(swept[0].client.state == ClientState::kDown);

  // A paused held client released stays paused.
  REQUIRE(store->beat(signal_of("h", Signal::kHold)).accepted());
  clock->advance(1s);
  REQUIRE(store->beat(signal_of("h", Signal::kPause)).client.state == ClientState::kPaused);
  const auto paused_release = store->beat(signal_of("h", Signal::kRelease));
  CHECK(paused_release.client.state == ClientState::kPaused);
  CHECK_FALSE(paused_release.client.held);
  CHECK_FALSE(paused_release.event);
}

TEST_CASE("redis: the log lives apart from the record and goes with the client", "[presence][redis][issue11]") {
  auto& server = pulse::test::shared_redis_server();
  auto clock = std::make_shared<ManualClock>();
  StorePolicy policy;
  policy.retention = 1min;
  auto store = semantics_store(clock, 10, policy);

  auto with_log = beat_of("backup", 10s, 5s);
  const std::string log = "backup started\nbackup done: 42 files \xc3\xa9\n";
  with_log.log = log;
  const auto logged = store->beat(with_log);
  CHECK(logged.client.log_bytes == log.size());
  // A beat without a log keeps the last one.
  clock->advance(1s);
  CHECK(store->beat(beat_of("backup", 10s, 5s)).client.log_bytes == log.size());
  auto detail = store->detail("backup");
  REQUIRE(detail);
  CHECK(detail->log == log);
  CHECK(detail->client.log_bytes == log.size());
  // Never in the record: listings, events and exports do not carry it.
  {
    auto connection = server.connect();
    const auto record = connection.command({"HGET", store->key("clients"), "backup"}).as_string();
    CHECK(record.find("backup done") == std::string::npos);
  }
  // An empty log replaces it.
  auto empty = beat_of("backup", 10s, 5s);
  empty.log = "";
  CHECK(store->beat(empty).client.log_bytes == 0);
  CHECK(store->detail("backup")->log.empty());
  CHECK_FALSE(key_exists(server, store->key("logs")));

  // Removed with the client, log and history.
  REQUIRE(store->beat(with_log).accepted());
  REQUIRE(key_exists(server, store->key("history:backup")));
  REQUIRE(store->remove("backup"));
  CHECK_FALSE(key_exists(server, store->key("logs")));
  CHECK_FALSE(key_exists(server, store->key("history:backup")));
  CHECK_FALSE(store->detail("backup"));

  // And on expiry.
  REQUIRE(store->beat(with_log).accepted());
  REQUIRE(store->detail("backup")->history.size() == 1);  // a new client's history starts afresh
  clock->advance(15s);
  (void)store->tick();
  clock->advance(1min);
  const auto left = store->tick();
  REQUIRE(left.size() == 1);
  CHECK(left[0].kind == EventKind::kLeave);
  CHECK_FALSE(key_exists(server, store->key("logs")));
  CHECK_FALSE(key_exists(server, store->key("history:backup")));
}

TEST_CASE("redis: the history keeps the last history_length entries, oldest first", "[presence][redis][issue11]") {
  auto& server = pulse::test::shared_redis_server();
  auto clock = std::make_shared<ManualClock>();
  auto store = semantics_store(clock, 3);
  const auto t0 = clock->now();
  REQUIRE(store->beat(beat_of("w", 10s, 5s)).accepted());
  clock->advance(10s);
  (void)store->tick();  // late
  clock->advance(5s);
  (void)store->tick();  // down
  clock->advance(1s);
  REQUIRE(store->beat(beat_of("w", 10s, 5s)).accepted());  // up
  const auto detail = store->detail("w");
  REQUIRE(detail);
  const std::vector<HistoryEntry> expected{change(t0 + 10s, ClientState::kUp, ClientState::kLate),
                                           change(t0 + 15s, ClientState::kLate, ClientState::kDown),
                                           change(t0 + 16s, ClientState::kDown, ClientState::kUp)};
  CHECK(detail->history == expected);

  // history_length 0 keeps none, and no list at all.
  auto none = semantics_store(clock, 0);
  REQUIRE(none->beat(beat_of("w", 10s, 5s)).accepted());
  CHECK(none->detail("w")->history.empty());
  CHECK_FALSE(key_exists(server, none->key("history:w")));
}

TEST_CASE("redis: a pause and a release on one replica are seen by another and announced once",
          "[presence][redis][issue11]") {
  RedisServer server;
  auto clock = std::make_shared<ManualClock>();
  const std::string prefix = pulse::test::unique_prefix();
  RedisStore a(cluster_options(server, prefix, clock));
  RedisStore b(cluster_options(server, prefix, clock));
  const auto start = b.last_sequence();

  REQUIRE(a.beat(beat_of("p", 10s, 5s)).accepted());
  REQUIRE(a.beat(signal_of("h", Signal::kHold)).accepted());
  clock->advance(1s);
  const auto paused = a.beat(signal_of("p", Signal::kPause));
  REQUIRE(paused.event);
  clock->advance(1s);
  const auto released = b.beat(signal_of("h", Signal::kRelease));
  REQUIRE(released.event);
  CHECK(released.client.state == ClientState::kLate);

  // Both see both.
  for (RedisStore* store : {&a, &b}) {
    CHECK(store->find("p")->state == ClientState::kPaused);
    CHECK(store->find("h")->state == ClientState::kLate);
    CHECK_FALSE(store->find("h")->held);
    const auto listing = store->list({});
    CHECK(listing.counts[ClientState::kPaused] == 1);
    CHECK(listing.counts[ClientState::kLate] == 1);
    REQUIRE(eventually([&] { return store->last_sequence() == start + 4; }));
    const auto events = store->events_after(start);
    REQUIRE(events);
    REQUIRE(events->size() == 4);  // two joins, the pause, the release
    CHECK((*events)[2].sequence == paused.event->sequence);
    CHECK((*events)[2].client.state == ClientState::kPaused);
    CHECK((*events)[3].sequence == released.event->sequence);
    CHECK((*events)[3].previous == ClientState::kUp);
  }
  // Sweeping both replicas at once: the released client goes down once, the paused one never.
  clock->advance(1h);
  std::vector<PresenceEvent> swept;
  std::mutex swept_mutex;
  {
    std::vector<std::thread> threads;
    for (RedisStore* store : {&a, &b}) {
      threads.emplace_back([&, store] {
        for (int round = 0; round < 3; ++round) {
          auto events = store->tick();
          std::lock_guard lock(swept_mutex);
          swept.insert(swept.end(), events.begin(), events.end());
        }
      });
    }
    for (auto& thread : threads) thread.join();
  }
  REQUIRE(swept.size() == 1);
  CHECK(swept[0].client.id == "h");
  CHECK(swept[0].client.state == ClientState::kDown);
  const auto all = stream_events(server, prefix);
  CHECK(std::count_if(all.begin(), all.end(), [](const auto& e) { return e.client.id == "p"; }) == 2);
  CHECK(a.find("p")->state == ClientState::kPaused);
}

TEST_CASE("redis: the outage credit for held, released and paused clients", "[presence][redis][issue11]") {
  using pulse::presence::kHoldGrace;
  using pulse::presence::kHoldRefresh;
  RedisServer server;
  auto clock = std::make_shared<ManualClock>();
  auto options = cluster_options(server, pulse::test::unique_prefix(), clock);
  options.outage_credit_after = 3s;
  RedisStore store(options);
  REQUIRE(store.beat(signal_of("held", Signal::kHold)).accepted());
  REQUIRE(store.beat(signal_of("released", Signal::kHold)).accepted());
  REQUIRE(store.beat(beat_of("paused", 10s, 5s)).accepted());
  REQUIRE(store.beat(signal_of("paused", Signal::kPause)).accepted());
  clock->advance(1s);
  REQUIRE(store.beat(signal_of("released", Signal::kRelease)).client.state == ClientState::kLate);
  const auto held_before = *store.find("held");
  const auto released_before = *store.find("released");

  // Nobody reached Redis for a minute: the holding server could not refresh, nor could anyone beat.
  clock->advance(1min);
  CHECK(store.tick().empty());
  const auto held_after = *store.find("held");
  CHECK(held_after.state == ClientState::kUp);
  CHECK(held_after.next_due - held_before.next_due == 1min);
  const auto released_after = *store.find("released");
  CHECK(released_after.state == ClientState::kLate);
  CHECK(released_after.down_at - released_before.down_at == 1min);
  CHECK(store.find("paused")->state == ClientState::kPaused);
  // The holding server's refresh after the outage keeps the held client up; the released one
  // goes down when the grace it had left is over; the paused one stays paused.
  (void)store.beat(signal_of("held", Signal::kAlive));
  std::vector<PresenceEvent> events;
  for (auto left = released_after.down_at - clock->now(); left > std::chrono::seconds(0); left -= 250ms) {
    clock->advance(250ms);
    (void)store.beat(signal_of("held", Signal::kAlive));
    for (auto& event : store.tick()) events.push_back(event);
  }
  REQUIRE(events.size() == 1);
  CHECK(events[0].client.id == "released");
  CHECK(events[0].client.state == ClientState::kDown);
  CHECK(store.find("held")->state == ClientState::kUp);
  CHECK(store.find("paused")->state == ClientState::kPaused);
}

TEST_CASE("redis: requests out of bounds record nothing", "[presence][redis][issue11]") {
  auto clock = std::make_shared<ManualClock>();
  auto store = semantics_store(clock);
  auto bad_rid = signal_of("j", Signal::kStart);
  bad_rid.run_id = "line\nbreak";
  CHECK(store->beat(bad_rid).outcome == BeatOutcome::kInvalid);
  bad_rid.run_id = std::string(pulse::presence::kMaxRunIdBytes + 1, 'r');
  CHECK(store->beat(bad_rid).outcome == BeatOutcome::kInvalid);
  auto big_log = signal_of("j", Signal::kBeat);
  big_log.log = std::string(pulse::presence::kMaxLogBytes + 1, 'x');
  CHECK(store->beat(big_log).outcome == BeatOutcome::kInvalid);
  CHECK(store->beat(signal_of("j", Signal::kExit)).outcome == BeatOutcome::kInvalid);  // no status
  auto bad_grace = signal_of("j", Signal::kBeat);
  bad_grace.grace = 0s;
  CHECK(store->beat(bad_grace).outcome == BeatOutcome::kInvalid);
  CHECK_FALSE(store->find("j"));
  // The largest log and rid fit.
  auto largest = signal_of("j", Signal::kStart);
  largest.run_id = std::string(pulse::presence::kMaxRunIdBytes, 'r');
  largest.log = std::string(pulse::presence::kMaxLogBytes, 'x');
  const auto accepted = store->beat(largest);
  REQUIRE(accepted.accepted());
  CHECK(accepted.client.log_bytes == pulse::presence::kMaxLogBytes);
  CHECK(accepted.client.runs.at(0).rid == largest.run_id);
  CHECK(store->detail("j")->log == *largest.log);
}
