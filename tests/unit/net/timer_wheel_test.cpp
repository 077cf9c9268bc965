// TimerWheel: deadlines fire in order, never early, survive wrap-around and cancellation.
#include <catch2/catch.hpp>

#include <functional>
#include <memory>
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

namespace {
// An embedded entry that records its firing in a shared log.
struct Owner {
  Owner(std::vector<int>& log_, int name_) : log(log_), name(name_) {}
  std::vector<int>& log;
  int name;
  std::function<void()> then;  // what the callback does after logging
  TimerWheel::Entry entry{[](void* self) {
                            auto& owner = *static_cast<Owner*>(self);
                            owner.log.push_back(owner.name);
                            if (owner.then) owner.then();
                          },
                          this};
};
}  // namespace

TEST_CASE("embedded entries fire in deadline order, ties in the order scheduled", "[timer_wheel]") {
  const auto t0 = Clock::time_point{} + 1h;
  TimerWheel wheel(t0, 10ms, 16);
  std::vector<int> fired;
  Owner a(fired, 1), b(fired, 2), c(fired, 3), d(fired, 4);
  wheel.schedule(c.entry, t0 + 30ms);
  wheel.schedule(a.entry, t0 + 12ms);
  wheel.schedule(b.entry, t0 + 12ms);
  wheel.schedule(d.entry, t0 + 12ms + 16 * 10ms);  // same slot, one revolution later
  CHECK(wheel.size() == 4);
  CHECK(a.entry.scheduled());
  wheel.advance(t0 + 40ms);
  CHECK(fired == std::vector<int>{1, 2, 3});
  CHECK_FALSE(a.entry.scheduled());
  CHECK(d.entry.scheduled());
  wheel.advance(t0 + 200ms);
  CHECK(fired == std::vector<int>{1, 2, 3, 4});
  CHECK(wheel.size() == 0);
  CHECK_FALSE(wheel.time_until_next(t0 + 200ms).has_value());
}

TEST_CASE("an embedded entry moves when scheduled again, and cancels when destroyed", "[timer_wheel]") {
  const auto t0 = Clock::time_point{} + 1h;
  TimerWheel wheel(t0, 10ms, 16);
  std::vector<int> fired;
  Owner a(fired, 1);
  wheel.schedule(a.entry, t0 + 100ms);
  wheel.schedule(a.entry, t0 + 20ms);  // moved, not duplicated
  CHECK(wheel.size() == 1);
  CHECK(a.entry.deadline() == t0 + 20ms);
  wheel.advance(t0 + 150ms);
  CHECK(fired == std::vector<int>{1});
  {
    Owner gone(fired, 2);
    wheel.schedule(gone.entry, t0 + 160ms);
    CHECK(wheel.size() == 1);
  }
  CHECK(wheel.size() == 0);
  wheel.advance(t0 + 300ms);
  CHECK(fired == std::vector<int>{1});
  CHECK_FALSE(a.entry.cancel());  // fired already
}

TEST_CASE("a callback may cancel, destroy or re-arm entries due in the same advance", "[timer_wheel]") {
  const auto t0 = Clock::time_point{} + 1h;
  TimerWheel wheel(t0, 10ms, 16);
  std::vector<int> fired;
  Owner first(fired, 1), victim(fired, 2), again(fired, 3);
  auto doomed = std::make_unique<Owner>(fired, 4);
  first.then = [&] {
    CHECK(victim.entry.cancel());  // due too, but cancelled before its turn
    doomed.reset();                // due too: destroyed before its turn
  };
  int rounds = 0;
  again.then = [&] {
    if (++rounds == 1) wheel.schedule(again.entry, t0 + 50ms);  // re-arms itself from its callback
  };
  wheel.schedule(first.entry, t0 + 10ms);
  wheel.schedule(victim.entry, t0 + 10ms);
  wheel.schedule(doomed->entry, t0 + 20ms);
  wheel.schedule(again.entry, t0 + 20ms);
  wheel.advance(t0 + 30ms);
  CHECK(fired == std::vector<int>{1, 3});
  CHECK(wheel.size() == 1);
  wheel.advance(t0 + 60ms);
  CHECK(fired == std::vector<int>{1, 3, 3});
  CHECK(wheel.size() == 0);
}

TEST_CASE("a wheel destroyed first leaves its entries unscheduled", "[timer_wheel]") {
  const auto t0 = Clock::time_point{} + 1h;
  std::vector<int> fired;
  Owner outlives(fired, 1);
  {
    TimerWheel wheel(t0, 10ms, 16);
    wheel.schedule(outlives.entry, t0 + 10ms);
  }
  CHECK_FALSE(outlives.entry.scheduled());
  CHECK_FALSE(outlives.entry.cancel());
  CHECK(fired.empty());
}
