// Beats from many threads at once are never lost or double counted. Tagged [concurrency] so the
// TSan build runs it: data races here would be races on the server's hottest shared state.
#include <fmt/format.h>
#include <array>
#include <atomic>
#include <catch2/catch.hpp>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "pulse/presence/presence_registry.hpp"

using namespace std::chrono_literals;
using pulse::presence::BeatOutcome;
using pulse::presence::BeatRequest;
using pulse::presence::ManualClock;
using pulse::presence::PresenceRegistry;
using pulse::presence::RegistryOptions;

namespace {

BeatRequest beat_of(std::string id) {
  BeatRequest request;
  request.id = std::move(id);
  request.interval = 30s;
  request.remote_addr = "127.0.0.1";
  return request;
}

}  // namespace

TEST_CASE("concurrent writers: every beat is counted exactly once", "[presence][concurrency]") {
  constexpr int kThreads = 8;
  constexpr int kIds = 64;
  constexpr int kRounds = 50;
  RegistryOptions options;
  options.max_beats_per_second = 0;  // the limit is tested on its own below
  options.start_sequence = 0;
  auto clock = std::make_shared<ManualClock>();
  PresenceRegistry registry(options, clock);

  // Catch2 assertions are not thread-safe: threads count, the test thread asserts.
  std::atomic<int> refused{0};
  std::atomic<int> oversized_listings{0};
  std::vector<std::thread> writers;
  for (int t = 0; t < kThreads; ++t) {
    writers.emplace_back([&registry, &clock, &refused, t] {
      for (int round = 0; round < kRounds; ++round) {
        for (int i = 0; i < kIds; ++i) {
          // Each thread walks the ids in a different order, so threads collide on every shard.
          const int id = (i * 7 + t * 13) % kIds;
          if (!registry.beat(beat_of(fmt::format("client-{}", id))).accepted()) refused.fetch_add(1);
        }
        clock->advance(1ms);
      }
    });
  }
  // Readers and the sweeper run at the same time, as in the server.
  std::thread reader([&registry, &oversized_listings] {
    for (int i = 0; i < 200; ++i) {
      if (registry.list({}).clients.size() > static_cast<std::size_t>(kIds)) oversized_listings.fetch_add(1);
      (void)registry.counters();
      (void)registry.take_beaten(16);
      (void)registry.tick();
      (void)registry.events_after(0);
    }
  });
  for (auto& writer : writers) writer.join();
  reader.join();
  CHECK(refused.load() == 0);
  CHECK(oversized_listings.load() == 0);

  constexpr std::uint64_t kBeatsPerId = std::uint64_t{kThreads} * kRounds;
  const auto listing = registry.list({});
  REQUIRE(listing.clients.size() == kIds);
  for (const auto& client : listing.clients) {
    INFO(client.id);
    CHECK(client.beats == kBeatsPerId);
  }
  const auto counters = registry.counters();
  CHECK(counters.beats_total == kBeatsPerId * kIds);
  CHECK(counters.clients.total() == kIds);
  // Exactly one join per id, however many threads raced to create it.
  const auto events = registry.events_after(0);
  REQUIRE(events);
  CHECK(events->size() == kIds);
  CHECK(registry.last_sequence() == kIds);
}

TEST_CASE("concurrent writers on one id: the rate limit admits exactly its burst", "[presence][concurrency]") {
  constexpr int kThreads = 8;
  constexpr int kAttempts = 20;
  auto clock = std::make_shared<ManualClock>();  // frozen: all beats fall in the same instant
  PresenceRegistry registry({}, clock);
  std::atomic<int> accepted{0};
  std::atomic<int> limited{0};
  std::vector<std::thread> writers;
  for (int t = 0; t < kThreads; ++t) {
    writers.emplace_back([&] {
      for (int i = 0; i < kAttempts; ++i) {
        const auto outcome = registry.beat(beat_of("contended")).outcome;
        if (outcome == BeatOutcome::kCreated || outcome == BeatOutcome::kUpdated) {
          accepted.fetch_add(1);
        } else if (outcome == BeatOutcome::kRateLimited) {
          limited.fetch_add(1);
        }
      }
    });
  }
  for (auto& writer : writers) writer.join();
  CHECK(accepted.load() == static_cast<int>(pulse::presence::kDefaultMaxBeatsPerSecond));
  CHECK(limited.load() == kThreads * kAttempts - accepted.load());
  CHECK(registry.find("contended")->beats == pulse::presence::kDefaultMaxBeatsPerSecond);
}

TEST_CASE("concurrent new ids never overshoot the maximum", "[presence][concurrency]") {
  constexpr int kThreads = 8;
  constexpr int kPerThread = 100;
  constexpr std::size_t kMax = 250;
  RegistryOptions options;
  options.max_clients = kMax;
  PresenceRegistry registry(options, std::make_shared<ManualClock>());
  std::atomic<int> full{0};
  std::vector<std::thread> writers;
  for (int t = 0; t < kThreads; ++t) {
    writers.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        if (registry.beat(beat_of(fmt::format("{}-{}", t, i))).outcome == BeatOutcome::kFull) {
          full.fetch_add(1);
        }
      }
    });
  }
  for (auto& writer : writers) writer.join();
  CHECK(registry.counters().clients.total() == kMax);
  CHECK(registry.list({}).clients.size() == kMax);
  CHECK(full.load() == kThreads * kPerThread - static_cast<int>(kMax));
}

TEST_CASE("concurrent signals of every kind keep the counts, the deadline index and the states consistent",
          "[presence][concurrency]") {
  using pulse::presence::ClientState;
  using pulse::presence::Signal;
  constexpr int kThreads = 6;
  constexpr int kIds = 32;
  constexpr int kRounds = 300;
  RegistryOptions options;
  options.max_beats_per_second = 0;
  options.event_history = 1'000'000;  // every event kept, so they can be counted
  options.history_length = 4;
  options.default_interval = 1s;  // late, down and forgotten while others beat
  options.retention = 1s;
  options.start_sequence = 0;
  auto clock = std::make_shared<ManualClock>();
  PresenceRegistry registry(options, clock);

  constexpr Signal kSignals[] = {Signal::kBeat,  Signal::kStart, Signal::kFail,  Signal::kExit,
                                 Signal::kPause, Signal::kHold,  Signal::kAlive, Signal::kRelease};
  std::atomic<std::uint64_t> beats{0};
  std::vector<std::thread> writers;
  for (int t = 0; t < kThreads; ++t) {
    writers.emplace_back([&, t] {
      for (int round = 0; round < kRounds; ++round) {
        for (int i = 0; i < kIds; ++i) {
          BeatRequest request = beat_of(fmt::format("job-{}", (i * 5 + t * 11) % kIds));
          const Signal signal = kSignals[static_cast<std::size_t>(round + i + t) % std::size(kSignals)];
          request.signal = signal;
          request.interval = std::nullopt;
          request.exit_code = static_cast<std::uint8_t>(round % 3);
          request.run_id = round % 2 ? "" : fmt::format("r{}", i % 3);
          if (i % 4 == 0) request.log = fmt::format("log {} {}", t, round);
          const auto result = registry.beat(request);
          const bool is_beat = signal != Signal::kPause && signal != Signal::kAlive && signal != Signal::kRelease;
          if (is_beat && result.accepted()) beats.fetch_add(1);
        }
        clock->advance(1ms);
      }
    });
  }
  std::thread reader([&] {
    for (int i = 0; i < 300; ++i) {
      (void)registry.list({});
      (void)registry.detail(fmt::format("job-{}", i % kIds));
      (void)registry.take_beaten(8);
      (void)registry.tick();
      if (i % 50 == 0) (void)registry.remove(fmt::format("job-{}", i % kIds));
      clock->advance(50ms);
    }
  });
  for (auto& writer : writers) writer.join();
  reader.join();

  (void)registry.tick();
  const auto now = clock->now();
  const auto listing = registry.list({});
  std::size_t paused = 0;
  std::uint64_t beats_held = 0;
  std::array<std::size_t, pulse::presence::kClientStateCount> by_state{};
  for (const auto& client : listing.clients) {
    INFO(client.id);
    CHECK(client.state ==
          pulse::presence::state_at(now, client.next_due, client.down_at, client.health, client.paused));
    CHECK(client.runs.size() <= pulse::presence::kMaxOpenRuns);
    CHECK(registry.detail(client.id)->history.size() <= 4);
    if (client.paused) ++paused;
    beats_held += client.beats;
    ++by_state[pulse::presence::index_of(client.state)];
  }
  CHECK(listing.counts.by_state == by_state);
  const auto stats = registry.memory_stats();
  CHECK(stats.clients == listing.clients.size());
  CHECK(stats.scheduled == listing.clients.size() - paused);
  CHECK(stats.beaten <= stats.clients);
  CHECK(registry.counters().beats_total == beats.load());
  CHECK(beats_held <= beats.load());  // removed and forgotten clients took their counts along
  CHECK(stats.history_entries > 0);
}
