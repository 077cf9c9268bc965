// The Redis store's parts that need no server: back-off, the synchronised clock, the record
// and event coding, the mirror's rules for consecutive, jumped and rewound streams.
#include <catch2/catch.hpp>
#include <thread>
#include <vector>

#include "pulse/presence/redis/backoff.hpp"
#include "pulse/presence/redis/event_mirror.hpp"
#include "pulse/presence/redis/record_codec.hpp"
#include "pulse/presence/redis/scripts.hpp"
#include "pulse/presence/redis/synced_clock.hpp"

using namespace std::chrono_literals;
using pulse::presence::ClientState;
using pulse::presence::ClientView;
using pulse::presence::EventKind;
using pulse::presence::Health;
using pulse::presence::LeaveReason;
using pulse::presence::PresenceEvent;
using pulse::presence::Time;
using pulse::presence::redis::Backoff;
using pulse::presence::redis::EventMirror;
using pulse::presence::redis::ProtocolError;
using pulse::presence::redis::Reply;
using pulse::presence::redis::SyncedClock;

namespace {

Time at_micros(std::int64_t micros) {
  return Time(std::chrono::duration_cast<Time::duration>(std::chrono::microseconds(micros)));
}

Reply string_reply(std::string text) {
  Reply reply;
  reply.type = Reply::Type::kString;
  reply.text = std::move(text);
  return reply;
}

Reply array_reply(std::vector<Reply> elements) {
  Reply reply;
  reply.type = Reply::Type::kArray;
  reply.elements = std::move(elements);
  return reply;
}

PresenceEvent event_at(std::uint64_t sequence, const char* id) {
  PresenceEvent event;
  event.sequence = sequence;
  event.client.id = id;
  return event;
}

std::vector<PresenceEvent> events_at(std::initializer_list<std::uint64_t> sequences) {
  std::vector<PresenceEvent> events;
  for (const auto sequence : sequences) events.push_back(event_at(sequence, "c"));
  return events;
}

}  // namespace

TEST_CASE("back-off doubles from 100 ms to 5 s, jittered within [d/2, d]", "[presence][redis]") {
  Backoff backoff(100ms, 5s, 42);
  std::chrono::milliseconds nominal = 100ms;
  for (int i = 0; i < 12; ++i) {
    const auto wait = backoff.next();
    INFO("failure " << i);
    CHECK(wait >= nominal / 2);
    CHECK(wait <= nominal);
    nominal = std::min<std::chrono::milliseconds>(nominal * 2, 5s);
  }
  CHECK(backoff.failures() == 12);
  backoff.reset();
  CHECK(backoff.next() <= 100ms);

  // Two replicas failing together do not retry together.
  Backoff a(100ms, 5s, 1);
  Backoff b(100ms, 5s, 2);
  bool differ = false;
  for (int i = 0; i < 8; ++i) differ = differ || a.next() != b.next();
  CHECK(differ);
}

TEST_CASE("the synced clock follows Redis's time and never goes back", "[presence][redis]") {
  SyncedClock clock;
  const auto before = clock.now();
  CHECK_FALSE(clock.synced());
  CHECK(std::chrono::abs(before - std::chrono::system_clock::now()) < 1s);

  // Redis is an hour ahead: the offset is taken at the midpoint of the round trip.
  const auto sent = SyncedClock::Steady::now();
  const auto received = sent + 2ms;
  const Time server = std::chrono::system_clock::now() + 1h;
  clock.sync(server, sent, received);
  CHECK(clock.synced());
  CHECK(clock.last_round_trip() == 2ms);
  CHECK(std::chrono::abs(clock.now() - (server + (SyncedClock::Steady::now() - (sent + 1ms)))) < 50ms);

  // Redis an hour behind again: the clock holds still rather than go back.
  const auto ahead = clock.now();
  clock.sync(std::chrono::system_clock::now(), SyncedClock::Steady::now(), SyncedClock::Steady::now());
  CHECK(clock.now() >= ahead);
  CHECK(clock.now() - ahead < 1s);

  // Many threads: each one's readings only go forward.
  std::vector<std::thread> threads;
  std::atomic<bool> backwards{false};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      Time last = clock.now();
      for (int i = 0; i < 10'000; ++i) {
        const Time next = clock.now();
        if (next < last) backwards = true;
        last = next;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  CHECK_FALSE(backwards);
}

TEST_CASE("the synced clock keeps its offset while readings agree within their round trips", "[presence][redis]") {
  SyncedClock clock;
  // Readings with a 2 s round trip: each one says the offset is within 1 s of its midpoint.
  const auto sent = SyncedClock::Steady::now();
  const auto received = sent + 2s;
  const Time server = std::chrono::system_clock::now() + 1h;
  // How far now() is from this test's first reading's offset (server time at sent + 1 s).
  const auto drift = [&] {
    const auto local = SyncedClock::Steady::now();
    return clock.now() - (server + (local - (sent + 1s)));
  };
  clock.sync(server, sent, received);
  CHECK(std::chrono::abs(drift()) < 100ms);

  // Half a second apart: both readings allow the offset there is, so it stays.
  clock.sync(server - 500ms, sent, received);
  CHECK(std::chrono::abs(drift()) < 100ms);
  clock.sync(server + 900ms, sent, received);
  CHECK(std::chrono::abs(drift()) < 100ms);

  // Five seconds ahead is more than this reading's error: the offset moves forward, to the
  // nearest time it allows (4 s), not to its midpoint.
  clock.sync(server + 5s, sent, received);
  CHECK(std::chrono::abs(drift() - 4s) < 100ms);
  CHECK(clock.last_round_trip() == 2s);

  // An answer "received" before it was sent is no reading at all.
  clock.sync(server + 1h, sent, sent - 1ms);
  CHECK(std::chrono::abs(drift() - 4s) < 100ms);
  CHECK(clock.last_round_trip() == 2s);
}

TEST_CASE("records keep microsecond times exactly, in both directions", "[presence][redis]") {
  ClientView client;
  client.id = "web-1";
  client.state = ClientState::kFailing;
  client.health = Health::kFail;
  client.interval = 30s;
  client.grace = 15s;
  client.message = "disk \"full\" \xc3\xa9\t/";
  client.remote_addr = "2001:db8::1";
  client.beats = 123456789012345ULL;
  client.last_beat = at_micros(1767225600123457);
  client.last_ok = at_micros(1767225599000001);
  client.next_due = at_micros(1767225630123457);
  client.down_at = at_micros(1767225645123457);
  const std::string text = pulse::presence::redis::encode_client(client);
  CHECK(text.find("\"1767225600123457\"") != std::string::npos);
  CHECK(pulse::presence::redis::decode_client(text) == client);

  client.last_ok.reset();
  CHECK(pulse::presence::redis::decode_client(pulse::presence::redis::encode_client(client)) == client);

  // As a Lua script writes it: keys in any order, '/' escaped.
  const auto lua = pulse::presence::redis::decode_client(
      R"({"down_at":"20","grace":5,"health":"ok","id":"a","interval":10,"message":"x\/y","remote_addr":"",)"
      R"("beats":"1","last_beat":"3","next_due":"13","state":"up","rate_limit_at":"4"})");
  CHECK(lua.message == "x/y");
  CHECK(lua.down_at == at_micros(20));
  CHECK_FALSE(lua.last_ok);

  // Escapes as JSON allows them: \uXXXX, surrogate pairs, white space between tokens.
  const auto escaped = pulse::presence::redis::decode_client(
      R"( { "down_at" : "20", "grace":5, "health":"fail", "id":"b", "interval":10, "message":"\u00e9\ud83d\ude00\"\\\t",)"
      R"("remote_addr":"", "beats":"2", "last_beat":"3", "next_due":"13", "state":"late", "last_ok":"1" } )");
  CHECK(escaped.message == "\xc3\xa9\xf0\x9f\x98\x80\"\\\t");
  CHECK(escaped.state == ClientState::kLate);
  CHECK(escaped.health == Health::kFail);
  CHECK(escaped.last_ok == at_micros(1));

  // The outage credit earned since a record was written moves an online client's deadlines on.
  const std::string credited =
      R"({"down_at":"20","grace":5,"health":"ok","id":"a","interval":10,"message":"","remote_addr":"",)"
      R"("beats":"1","last_beat":"3","next_due":"13","state":"late","credit":"100"})";
  CHECK(pulse::presence::redis::decode_client(credited).next_due == at_micros(13));  // as written
  CHECK(pulse::presence::redis::decode_client(credited, 100).next_due == at_micros(13));
  const auto moved = pulse::presence::redis::decode_client(credited, 1100);
  CHECK(moved.next_due == at_micros(1013));
  CHECK(moved.down_at == at_micros(1020));
  CHECK(moved.last_beat == at_micros(3));
  std::string down = credited;
  down.replace(down.find("late"), 4, "down");
  CHECK(pulse::presence::redis::decode_client(down, 1100).down_at == at_micros(20));  // a down client keeps its times

  CHECK_THROWS_AS(pulse::presence::redis::decode_client("not json"), ProtocolError);
  CHECK_THROWS_AS(pulse::presence::redis::decode_client(""), ProtocolError);
  CHECK_THROWS_AS(pulse::presence::redis::decode_client(R"({"id":"a)"), ProtocolError);
  CHECK_THROWS_AS(pulse::presence::redis::decode_client(R"({"id":{"nested":1}})"), ProtocolError);
  CHECK_THROWS_AS(pulse::presence::redis::decode_client(R"({"id":"\x"})"), ProtocolError);
  CHECK_THROWS_AS(pulse::presence::redis::decode_client(R"({"id":"a"} trailing)"), ProtocolError);
  CHECK_THROWS_AS(pulse::presence::redis::decode_client(R"({"id":"a"})"), ProtocolError);
  CHECK_THROWS_AS(pulse::presence::redis::decode_client(
                      R"({"down_at":20,"grace":5,"health":"ok","id":"a","interval":10,"message":"","remote_addr":"",)"
                      R"("beats":"1","last_beat":"3","next_due":"13","state":"up"})"),
                  ProtocolError);
}

TEST_CASE("records carry pause, hold, open runs, the last duration, the exit status and the log size",
          "[presence][redis]") {
  using pulse::presence::OpenRun;
  ClientView client;
  client.id = "job";
  client.state = ClientState::kPaused;
  client.interval = 60s;
  client.grace = 30s;
  client.paused = true;
  client.held = true;
  client.runs = {OpenRun{"", at_micros(1767225600000001)}, OpenRun{"r \"2\"", at_micros(1767225600000002)}};
  client.last_duration = std::chrono::milliseconds(86'400'123);
  client.exit_code = 255;
  client.log_bytes = 10240;
  const std::string text = pulse::presence::redis::encode_client(client);
  CHECK(pulse::presence::redis::decode_client(text) == client);
  client.paused = false;
  client.held = false;
  client.runs.clear();
  client.last_duration.reset();
  client.exit_code.reset();
  client.log_bytes = 0;
  CHECK(pulse::presence::redis::decode_client(pulse::presence::redis::encode_client(client)) == client);

  // As a Lua script writes them (microseconds as strings, flags as 1), and an older record without them.
  const std::string base =
      R"({"down_at":"20","grace":5,"health":"ok","id":"a","interval":10,"message":"","remote_addr":"",)"
      R"("beats":"1","last_beat":"3","next_due":"13","state":"up")";
  const auto lua = pulse::presence::redis::decode_client(
      base + R"(,"run2_started":"7","run1_rid":"x","run1_started":"5","run2_rid":"","held":1,)"
             R"("last_duration":"2500999","exit_code":3,"log_bytes":12})");
  REQUIRE(lua.runs.size() == 2);
  CHECK(lua.runs[0] == OpenRun{"x", at_micros(5)});
  CHECK(lua.runs[1] == OpenRun{"", at_micros(7)});
  CHECK(lua.held);
  CHECK_FALSE(lua.paused);
  CHECK(lua.last_duration == std::chrono::milliseconds(2500));
  CHECK(lua.exit_code == std::uint8_t{3});
  CHECK(lua.log_bytes == 12);
  const auto old = pulse::presence::redis::decode_client(base + "}");
  CHECK(old.runs.empty());
  CHECK_FALSE(old.last_duration);
  CHECK_FALSE(old.exit_code);
  CHECK(old.log_bytes == 0);

  // A run without its start, or numbered with a gap, is not a record.
  CHECK_THROWS_AS(pulse::presence::redis::decode_client(base + R"(,"run1_rid":"x"})"), ProtocolError);
  CHECK_THROWS_AS(pulse::presence::redis::decode_client(base + R"(,"run2_rid":"x","run2_started":"1"})"),
                  ProtocolError);
  CHECK_THROWS_AS(pulse::presence::redis::decode_client(base + R"(,"exit_code":256})"), ProtocolError);
  CHECK_THROWS_AS(pulse::presence::redis::decode_client(base + R"(,"last_duration":5})"), ProtocolError);
}

TEST_CASE("history entries decode from their one-line form", "[presence][redis]") {
  using pulse::presence::HistoryKind;
  using pulse::presence::redis::decode_history_entry;
  const auto joined = decode_history_entry("c 1767225600000001 - up");
  CHECK(joined.kind == HistoryKind::kChange);
  CHECK(joined.at == at_micros(1767225600000001));
  CHECK_FALSE(joined.from);
  CHECK(joined.to == ClientState::kUp);
  const auto paused = decode_history_entry("c 5 late paused");
  CHECK(paused.from == ClientState::kLate);
  CHECK(paused.to == ClientState::kPaused);
  const auto ran = decode_history_entry("r 1767225600000009 fail 3 61500999");
  CHECK(ran.kind == HistoryKind::kRun);
  CHECK(ran.at == at_micros(1767225600000009));
  CHECK(ran.result == Health::kFail);
  CHECK(ran.exit_code == std::uint8_t{3});
  CHECK(ran.duration == std::chrono::milliseconds(61500));
  const auto ok = decode_history_entry("r 9 ok - 0");
  CHECK(ok.result == Health::kOk);
  CHECK_FALSE(ok.exit_code);
  CHECK(ok.duration == std::chrono::milliseconds(0));
  for (const char* bad : {"", "c", "c 1 - sideways", "c x - up", "r 1 ok 256 5", "r 1 maybe - 5", "r 1 ok - -5",
                          "c 1 - up extra", "x 1 - up"}) {
    INFO(bad);
    CHECK_THROWS_AS(decode_history_entry(bad), ProtocolError);
  }
}

TEST_CASE("stream entries decode into events", "[presence][redis]") {
  ClientView client;
  client.id = "db";
  client.state = ClientState::kDown;
  client.interval = 10s;
  client.grace = 5s;
  const Reply entry =
      array_reply({string_reply("1767225600000042-0"),
                   array_reply({string_reply("kind"), string_reply("change"), string_reply("previous"),
                                string_reply("late"), string_reply("reason"), string_reply("signed_off"),
                                string_reply("client"), string_reply(pulse::presence::redis::encode_client(client))})});
  const PresenceEvent event = pulse::presence::redis::decode_event(entry);
  CHECK(event.sequence == 1767225600000042ULL);
  CHECK(event.kind == EventKind::kChange);
  CHECK(event.previous == ClientState::kLate);
  CHECK(event.reason == LeaveReason::kSignedOff);
  CHECK(event.client == client);

  const Reply leave =
      array_reply({string_reply("7-0"),
                   array_reply({string_reply("kind"), string_reply("leave"), string_reply("previous"), string_reply(""),
                                string_reply("reason"), string_reply("expired"), string_reply("client"),
                                string_reply(pulse::presence::redis::encode_client(client))})});
  const PresenceEvent left = pulse::presence::redis::decode_event(leave);
  CHECK(left.kind == EventKind::kLeave);
  CHECK_FALSE(left.previous);
  CHECK(left.reason == LeaveReason::kExpired);

  CHECK_THROWS_AS(pulse::presence::redis::decode_event(array_reply({string_reply("x-0"), array_reply({})})),
                  ProtocolError);
}

TEST_CASE("the mirror keeps consecutive events and starts over after a jump", "[presence][redis]") {
  EventMirror mirror(4, "pulse:events", "pulse:seq", {});
  CHECK(mirror.last_sequence() == 0);
  // The first entries read: the mirror begins just before them.
  CHECK(mirror.absorb_stream(events_at({100, 101})));
  CHECK(mirror.last_sequence() == 101);
  REQUIRE(mirror.after(99));
  CHECK(mirror.after(99)->size() == 2);
  CHECK_FALSE(mirror.after(98));

  // Already kept: nothing changes.
  CHECK_FALSE(mirror.absorb_stream(events_at({100, 101})));
  CHECK(mirror.absorb_stream(events_at({101, 102, 103})));
  CHECK(mirror.after(101)->size() == 2);

  // 104..109 are no longer in the stream (trimmed): watchers before 109 need a snapshot.
  CHECK(mirror.absorb_stream(events_at({110})));
  CHECK(mirror.last_sequence() == 110);
  CHECK_FALSE(mirror.after(103));
  REQUIRE(mirror.after(109));
  CHECK(mirror.after(109)->size() == 1);
  CHECK(mirror.after(110)->empty());
  CHECK_FALSE(mirror.after(111));  // never issued

  // Bounded by its capacity.
  CHECK(mirror.absorb_stream(events_at({111, 112, 113, 114, 115})));
  CHECK(mirror.size() == 4);
}

TEST_CASE("every script is the common prelude and its own body", "[presence][redis]") {
  for (const auto script : pulse::presence::redis::kAllScripts) {
    const auto source = pulse::presence::redis::script_source(script);
    INFO(to_string(script));
    CHECK(source.starts_with("-- common.lua"));
    CHECK(source.find(std::string("-- ") + std::string(to_string(script)) + ".lua") != std::string_view::npos);
  }
}
