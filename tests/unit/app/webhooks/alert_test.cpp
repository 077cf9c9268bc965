// Alert: the webhook document, its text and its key, for each kind of event, at an injected time.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "pulse/app/webhooks/alert.hpp"
#include "pulse/presence/clock.hpp"

using namespace std::chrono_literals;
using pulse::app::webhooks::alert_text;
using pulse::app::webhooks::event_time;
using pulse::app::webhooks::make_alert;
using pulse::presence::ClientState;
using pulse::presence::EventKind;
using pulse::presence::LeaveReason;
using pulse::presence::ManualClock;
using pulse::presence::PresenceEvent;
using pulse::presence::Time;

namespace {

const Time kStart{ManualClock::kWallStart};  // 2026-01-01T00:00:00Z

PresenceEvent change(ClientState from, ClientState to, std::string message = {}) {
  PresenceEvent event;
  event.sequence = 42;
  event.kind = EventKind::kChange;
  event.previous = from;
  event.client.id = "web-1";
  event.client.state = to;
  event.client.message = std::move(message);
  event.client.interval = 10s;
  event.client.grace = 5s;
  event.client.last_beat = kStart;
  event.client.next_due = kStart + 10s;
  event.client.down_at = kStart + 15s;
  return event;
}

nlohmann::json document(const PresenceEvent& event, Time now) {
  return nlohmann::json::parse(make_alert(event, "pulse-1", now).body);
}

}  // namespace

TEST_CASE("a change: every field, the text, and the key from the sequence", "[webhooks]") {
  auto event = change(ClientState::kLate, ClientState::kDown, "disk full");
  event.client.last_duration = 1234ms;
  event.client.exit_code = 3;
  // Swept 200 ms after it went down: the alert says when it went down.
  const auto alert = make_alert(event, "pulse-1", kStart + 15s + 200ms);
  CHECK(alert.key == "pulse-1-42");
  CHECK(alert.id == "web-1");
  const auto doc = nlohmann::json::parse(alert.body);
  CHECK(doc["text"] == "web-1 is down (was late) on pulse-1: disk full");
  CHECK(doc["id"] == "web-1");
  CHECK(doc["event"] == "change");
  CHECK(doc["from"] == "late");
  CHECK(doc["to"] == "down");
  CHECK(doc["at"] == "2026-01-01T00:00:15.000Z");
  CHECK(doc["last_beat"] == "2026-01-01T00:00:00.000Z");
  CHECK(doc["message"] == "disk full");
  CHECK(doc["duration_ms"] == 1234);
  CHECK(doc["exit_code"] == 3);
  CHECK(doc["server"] == "pulse-1");
  CHECK(doc["sequence"] == 42);
  CHECK_FALSE(doc.contains("reason"));
  // The text comes first, so a person reading the raw body sees it first.
  CHECK(alert.body.rfind("{\"text\":", 0) == 0);
}

TEST_CASE("no run yet: duration and exit code are null", "[webhooks]") {
  const auto doc = document(change(ClientState::kUp, ClientState::kFailing), kStart + 1s);
  CHECK(doc["duration_ms"].is_null());
  CHECK(doc["exit_code"].is_null());
  CHECK(doc["text"] == "web-1 is failing (was up) on pulse-1");
  CHECK(doc["at"] == "2026-01-01T00:00:01.000Z");  // not a deadline: the time it was seen
}

TEST_CASE("event time: down at its down_at, late at its next_due, the rest now", "[webhooks]") {
  const Time now = kStart + 20s;
  CHECK(event_time(change(ClientState::kLate, ClientState::kDown), now) == kStart + 15s);
  CHECK(event_time(change(ClientState::kUp, ClientState::kLate), now) == kStart + 10s);
  CHECK(event_time(change(ClientState::kDown, ClientState::kUp), now) == now);
  // A deadline in the future (a hold released "late now") is not a time it happened.
  CHECK(event_time(change(ClientState::kUp, ClientState::kDown), kStart + 1s) == kStart + 1s);
}

TEST_CASE("a join: from null", "[webhooks]") {
  auto event = change(ClientState::kUp, ClientState::kUp);
  event.kind = EventKind::kJoin;
  event.previous.reset();
  const auto doc = document(event, kStart);
  CHECK(doc["event"] == "join");
  CHECK(doc["from"].is_null());
  CHECK(doc["to"] == "up");
  CHECK(doc["text"] == "web-1 joined (up) on pulse-1");
}

TEST_CASE("a sign-off without a sequence: to null, the key from id and time", "[webhooks]") {
  auto event = change(ClientState::kUp, ClientState::kUp, "bye");
  event.kind = EventKind::kLeave;
  event.previous.reset();
  event.sequence = 0;
  event.reason = LeaveReason::kSignedOff;
  const auto alert = make_alert(event, "pulse-1", kStart + 2s);
  CHECK(alert.key == "pulse-1-web-1-left-1767225602000");
  const auto doc = nlohmann::json::parse(alert.body);
  CHECK(doc["event"] == "leave");
  CHECK(doc["from"] == "up");
  CHECK(doc["to"].is_null());
  CHECK(doc["sequence"].is_null());
  CHECK(doc["reason"] == "signed_off");
  CHECK(doc["text"] == "web-1 signed off (was up) on pulse-1");
}

TEST_CASE("an expiry", "[webhooks]") {
  auto event = change(ClientState::kDown, ClientState::kDown);
  event.kind = EventKind::kLeave;
  event.previous.reset();
  event.reason = LeaveReason::kExpired;
  const auto doc = document(event, kStart + 1h);
  CHECK(doc["reason"] == "expired");
  CHECK(doc["text"] == "web-1 was forgotten (down past the retention period) on pulse-1");
  CHECK(make_alert(event, "pulse-1", kStart).key == "pulse-1-42");
}

TEST_CASE("the text escapes what Slack reads as mentions and links, the message field does not", "[webhooks]") {
  const auto event = change(ClientState::kUp, ClientState::kFailing, "<!channel> a&b > c");
  CHECK(alert_text(event, "pulse-1") == "web-1 is failing (was up) on pulse-1: &lt;!channel&gt; a&amp;b &gt; c");
  CHECK(document(event, kStart)["message"] == "<!channel> a&b > c");
}

TEST_CASE("a message that is not valid UTF-8 still makes a JSON document", "[webhooks]") {
  const auto event = change(ClientState::kUp, ClientState::kFailing, std::string("bad \xff byte"));
  CHECK_NOTHROW(document(event, kStart));
}
