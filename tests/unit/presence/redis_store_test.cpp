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
  started = Steady::now();
  for (int i = 0; i < 50; ++i) CHECK_THROWS_AS(store.beat(beat_of("a")), StoreUnavailable);
  CHECK(Steady::now() - started < 500ms);

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
