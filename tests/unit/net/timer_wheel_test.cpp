// TimerWheel: deadlines fire in order, never early, survive wrap-around and cancellation.
#include <catch2/catch.hpp>

#include <vector>

#include "pulse/net/timer_wheel.hpp"

using namespace std::chrono_literals;
using Clock = pulse::base::MonotonicClock;
using pulse::net::TimerWheel;

TEST_CASE("timers fire in deadline order and never before their deadline", "[timer_wheel]") {
  const auto t0 = Clock::time_point{} + 1h;
  TimerWheel wheel(t0, 10ms, 16);
  std::vector<int> fired;
  wheel.schedule(t0 + 35ms, [&] { fired.push_back(3); });
  wheel.schedule(t0 + 5ms, [&] { fired.push_back(1); });
  wheel.schedule(t0 + 20ms, [&] { fired.push_back(2); });

  wheel.advance(t0 + 4ms);
  CHECK(fired.empty());
  wheel.advance(t0 + 20ms);
  CHECK(fired == std::vector<int>{1, 2});
  wheel.advance(t0 + 34ms);
  CHECK(fired == std::vector<int>{1, 2});
  wheel.advance(t0 + 35ms);
  CHECK(fired == std::vector<int>{1, 2, 3});
  CHECK(wheel.size() == 0);
}

TEST_CASE("a deadline beyond one revolution waits for it", "[timer_wheel]") {
  const auto t0 = Clock::time_point{} + 1h;
  TimerWheel wheel(t0, 10ms, 8);  // one revolution = 80 ms
  int fired = 0;
  wheel.schedule(t0 + 250ms, [&] { ++fired; });
  for (int step = 1; step <= 24; ++step) {
    wheel.advance(t0 + step * 10ms);
    REQUIRE(fired == 0);
  }
  wheel.advance(t0 + 250ms);
  CHECK(fired == 1);
}

TEST_CASE("a jump of many revolutions fires everything due", "[timer_wheel]") {
  const auto t0 = Clock::time_point{} + 1h;
  TimerWheel wheel(t0, 10ms, 8);
  int fired = 0;
  for (int i = 0; i < 20; ++i) wheel.schedule(t0 + i * 37ms, [&] { ++fired; });
  wheel.schedule(t0 + 10s, [&] { fired += 100; });
  wheel.advance(t0 + 5s);
  CHECK(fired == 20);
  wheel.advance(t0 + 10s);
  CHECK(fired == 120);
}

TEST_CASE("cancelled timers do not fire, cancel reports whether it was pending", "[timer_wheel]") {
  const auto t0 = Clock::time_point{} + 1h;
  TimerWheel wheel(t0);
  int fired = 0;
  const auto id = wheel.schedule(t0 + 50ms, [&] { ++fired; });
  CHECK(wheel.cancel(id));
  CHECK_FALSE(wheel.cancel(id));
  wheel.advance(t0 + 1s);
  CHECK(fired == 0);
}

TEST_CASE("callbacks may schedule and cancel timers", "[timer_wheel]") {
  const auto t0 = Clock::time_point{} + 1h;
  TimerWheel wheel(t0, 10ms, 16);
  std::vector<int> fired;
  TimerWheel::TimerId victim = 0;
  wheel.schedule(t0 + 10ms, [&] {
    fired.push_back(1);
    wheel.cancel(victim);
    wheel.schedule(t0 + 30ms, [&] { fired.push_back(3); });
  });
  victim = wheel.schedule(t0 + 10ms, [&] { fired.push_back(2); });
  wheel.advance(t0 + 10ms);
  CHECK(fired == std::vector<int>{1});
  wheel.advance(t0 + 30ms);
  CHECK(fired == std::vector<int>{1, 3});
}

TEST_CASE("a deadline already past fires at the next advance", "[timer_wheel]") {
  const auto t0 = Clock::time_point{} + 1h;
  TimerWheel wheel(t0, 10ms, 16);
  wheel.advance(t0 + 100ms);
  int fired = 0;
  wheel.schedule(t0 + 10ms, [&] { ++fired; });
  CHECK(wheel.time_until_next(t0 + 100ms) == 0ms);
  wheel.advance(t0 + 100ms);
  CHECK(fired == 1);
}

TEST_CASE("time_until_next bounds the wait to the earliest slot", "[timer_wheel]") {
  const auto t0 = Clock::time_point{} + 1h;
  TimerWheel wheel(t0, 10ms, 64);
  CHECK_FALSE(wheel.time_until_next(t0).has_value());
  wheel.schedule(t0 + 200ms, [] {});
  wheel.schedule(t0 + 45ms, [] {});
  const auto wait = wheel.time_until_next(t0);
  REQUIRE(wait.has_value());
  CHECK(*wait >= 45ms);
  CHECK(*wait <= 50ms);
}
