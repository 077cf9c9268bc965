// EventLog: numbering, bounded history, and resuming after a given sequence.
#include "pulse/presence/event_log.hpp"

#include <catch2/catch.hpp>

using pulse::presence::EventLog;
using pulse::presence::PresenceEvent;

namespace {

PresenceEvent event_for(const char* id) {
  PresenceEvent event;
  event.client.id = id;
  return event;
}

}  // namespace

TEST_CASE("events are numbered after the start sequence", "[presence][events]") {
  EventLog log(8, 1000);
  CHECK(log.last_sequence() == 1000);
  CHECK(log.append(event_for("a")) == 1001);
  CHECK(log.append(event_for("b")) == 1002);
  CHECK(log.last_sequence() == 1002);

  const auto all = log.after(1000);
  REQUIRE(all);
  REQUIRE(all->size() == 2);
  CHECK((*all)[0].sequence == 1001);
  CHECK((*all)[0].client.id == "a");
  CHECK((*all)[1].sequence == 1002);

  const auto last = log.after(1001);
  REQUIRE(last);
  REQUIRE(last->size() == 1);
  CHECK((*last)[0].client.id == "b");

  const auto none = log.after(1002);
  REQUIRE(none);
  CHECK(none->empty());
}

TEST_CASE("a sequence that is too old or not ours needs a snapshot", "[presence][events]") {
  EventLog log(3, 0);
  for (const char* id : {"a", "b", "c", "d", "e"}) log.append(event_for(id));
  // Kept: 3, 4, 5.
  CHECK_FALSE(log.after(0));
  CHECK_FALSE(log.after(1));
  const auto from_two = log.after(2);
  REQUIRE(from_two);
  CHECK(from_two->size() == 3);
  CHECK(from_two->front().client.id == "c");
  CHECK_FALSE(log.after(6));  // from the future: another server's numbering

  EventLog later(3, 500);
  CHECK_FALSE(later.after(499));  // an id from an earlier run
  REQUIRE(later.after(500));
}

TEST_CASE("the history never holds more than its capacity", "[presence][events][memory]") {
  EventLog log(16, 0);
  for (int i = 0; i < 10'000; ++i) {
    (void)log.append(event_for("a"));
    REQUIRE(log.size() <= 16);
  }
  CHECK(log.size() == 16);
  CHECK(log.last_sequence() == 10'000);
  CHECK_FALSE(log.after(10'000 - 17));
  CHECK(log.after(10'000 - 16)->size() == 16);

  EventLog none(0, 0);
  (void)none.append(event_for("a"));
  CHECK(none.size() == 0);
}

TEST_CASE("events numbered elsewhere are kept only in order", "[presence][events]") {
  using pulse::presence::Placement;
  EventLog log(4, 100);
  auto numbered = [](std::uint64_t sequence) {
    PresenceEvent event;
    event.sequence = sequence;
    return event;
  };
  CHECK(log.insert(numbered(101)) == Placement::kAppended);
  CHECK(log.insert(numbered(101)) == Placement::kAlreadyKept);
  CHECK(log.insert(numbered(100)) == Placement::kAlreadyKept);
  CHECK(log.insert(numbered(103)) == Placement::kGap);
  CHECK(log.last_sequence() == 101);
  CHECK(log.insert(numbered(102)) == Placement::kAppended);
  REQUIRE(log.after(100));
  CHECK(log.after(100)->size() == 2);
  CHECK(log.after(100)->back().sequence == 102);

  // A reset forgets everything; older watchers need a snapshot, the numbering goes on.
  log.reset(500);
  CHECK(log.size() == 0);
  CHECK(log.last_sequence() == 500);
  CHECK_FALSE(log.after(102));
  REQUIRE(log.after(500));
  CHECK(log.after(500)->empty());
  CHECK(log.insert(numbered(501)) == Placement::kAppended);
  CHECK(log.append(PresenceEvent{}) == 502);
}
