// HistoryRing: entries come back exactly as pushed, oldest first, bounded by the limit; memory
// only once there is an entry, growing by doubling to the limit.
#include "pulse/presence/history_ring.hpp"

#include <catch2/catch.hpp>
#include <vector>

using namespace std::chrono_literals;
using pulse::presence::ClientState;
using pulse::presence::Health;
using pulse::presence::HistoryEntry;
using pulse::presence::HistoryKind;
using pulse::presence::HistoryRing;
using pulse::presence::Time;

namespace {

const Time kAt = Time(std::chrono::seconds(1767225600)) + 123456789ns;

HistoryEntry change_at(std::chrono::nanoseconds offset, std::optional<ClientState> from, ClientState to) {
  return HistoryEntry{.at = kAt + offset, .kind = HistoryKind::kChange, .from = from, .to = to};
}

HistoryEntry run_at(std::chrono::nanoseconds offset, Health result, std::chrono::milliseconds duration,
                    std::optional<std::uint8_t> exit_code) {
  return HistoryEntry{.at = kAt + offset,
                      .kind = HistoryKind::kRun,
                      .from = std::nullopt,
                      .to = ClientState::kUp,
                      .result = result,
                      .exit_code = exit_code,
                      .duration = duration};
}

}  // namespace

TEST_CASE("every kind of entry comes back as it went in", "[presence][history_ring]") {
  HistoryRing ring;
  const std::vector<HistoryEntry> entries{
      change_at(0ns, std::nullopt, ClientState::kUp),
      change_at(1ns, ClientState::kUp, ClientState::kPaused),
      change_at(2s, ClientState::kPaused, ClientState::kFailing),
      run_at(3s, Health::kOk, 42'500ms, std::nullopt),
      run_at(4s, Health::kFail, 0ms, 0),
      run_at(5s, Health::kFail, 1ms, 255),
      change_at(6s, ClientState::kLate, ClientState::kDown),
  };
  for (const auto& entry : entries) ring.push(entry, 10);
  CHECK(ring.entries() == entries);
  CHECK(ring.size() == entries.size());
}

TEST_CASE("the ring keeps the newest entries up to its limit", "[presence][history_ring]") {
  HistoryRing ring;
  CHECK(ring.capacity() == 0);
  CHECK(ring.heap_bytes() == 0);
  std::vector<std::size_t> capacities;
  for (int i = 0; i < 25; ++i) {
    ring.push(change_at(std::chrono::seconds(i), ClientState::kUp, ClientState::kLate), 10);
    capacities.push_back(ring.capacity());
  }
  CHECK(capacities[0] == 1);
  CHECK(capacities[1] == 2);
  CHECK(capacities[2] == 4);
  CHECK(capacities[4] == 8);
  CHECK(capacities[8] == 10);
  CHECK(capacities.back() == 10);
  CHECK(ring.heap_bytes() == 160);
  const auto kept = ring.entries();
  REQUIRE(kept.size() == 10);
  for (std::size_t i = 0; i < kept.size(); ++i) CHECK(kept[i].at == kAt + std::chrono::seconds(15 + i));

  ring.clear();
  CHECK(ring.entries().empty());
  CHECK(ring.capacity() == 0);

  HistoryRing none;
  none.push(change_at(0ns, std::nullopt, ClientState::kUp), 0);
  CHECK(none.size() == 0);
  CHECK(none.capacity() == 0);

  HistoryRing one;
  for (int i = 0; i < 3; ++i) one.push(change_at(std::chrono::seconds(i), std::nullopt, ClientState::kUp), 1);
  REQUIRE(one.size() == 1);
  CHECK(one.entries()[0].at == kAt + 2s);
}

TEST_CASE("a run longer than the packed range saturates", "[presence][history_ring]") {
  HistoryRing ring;
  ring.push(run_at(0ns, Health::kOk, std::chrono::days(60), std::nullopt), 10);
  CHECK(ring.entries()[0].duration == HistoryRing::kMaxPackedDuration);
}
