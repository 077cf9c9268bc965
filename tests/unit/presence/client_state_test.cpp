// The state rule (up -> late -> down, failing) and the default grace.
#include "pulse/presence/client_state.hpp"

#include <catch2/catch.hpp>

using namespace std::chrono_literals;
using pulse::presence::ClientState;
using pulse::presence::Health;

TEST_CASE("state_at follows the deadlines of the last beat", "[presence][state]") {
  using pulse::presence::state_at;
  const pulse::presence::Time beat{100s};
  const auto next_due = beat + 30s;
  const auto down_at = next_due + 15s;

  CHECK(state_at(beat, next_due, down_at, Health::kOk) == ClientState::kUp);
  CHECK(state_at(next_due - 1ns, next_due, down_at, Health::kOk) == ClientState::kUp);
  CHECK(state_at(next_due, next_due, down_at, Health::kOk) == ClientState::kLate);
  CHECK(state_at(down_at - 1ns, next_due, down_at, Health::kOk) == ClientState::kLate);
  CHECK(state_at(down_at, next_due, down_at, Health::kOk) == ClientState::kDown);

  // A failing client is alive until it misses a beat; then it is late and down like any other.
  CHECK(state_at(beat, next_due, down_at, Health::kFail) == ClientState::kFailing);
  CHECK(state_at(next_due, next_due, down_at, Health::kFail) == ClientState::kLate);
  CHECK(state_at(down_at, next_due, down_at, Health::kFail) == ClientState::kDown);
}

TEST_CASE("default grace is half the interval, at least 5 s", "[presence][state]") {
  using pulse::presence::default_grace;
  CHECK(default_grace(1s) == 5s);
  CHECK(default_grace(10s) == 5s);
  CHECK(default_grace(11s) == 5s);
  CHECK(default_grace(12s) == 6s);
  CHECK(default_grace(30s) == 15s);
  CHECK(default_grace(3600s) == 1800s);
}

TEST_CASE("state and health names round-trip", "[presence][state]") {
  for (const ClientState state : pulse::presence::kAllClientStates) {
    CHECK(pulse::presence::client_state_from_string(pulse::presence::to_string(state)) == state);
  }
  CHECK(pulse::presence::to_string(ClientState::kFailing) == "failing");
  CHECK_FALSE(pulse::presence::client_state_from_string("UP"));
  CHECK(pulse::presence::health_from_string("fail") == Health::kFail);
  CHECK(pulse::presence::health_from_string("ok") == Health::kOk);
  CHECK_FALSE(pulse::presence::health_from_string("bad"));
  CHECK(pulse::presence::is_online(ClientState::kLate));
  CHECK(pulse::presence::is_online(ClientState::kFailing));
  CHECK_FALSE(pulse::presence::is_online(ClientState::kDown));
}
