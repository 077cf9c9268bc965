// WebhookDispatcher without its thread: what on_event() queues, drops and ignores, and the
// metrics text. Delivery itself is tested against a real receiver in tests/e2e/webhooks.py.
#include <catch2/catch.hpp>

#include <optional>
#include <string>
#include <vector>

#include "pulse/app/webhooks/dispatcher.hpp"

using pulse::app::webhooks::parse_triggers;
using pulse::app::webhooks::render_webhook_metrics;
using pulse::app::webhooks::WebhookDispatcher;
using pulse::app::webhooks::WebhookOptions;
using pulse::app::webhooks::WebhookStats;
using pulse::presence::ClientState;
using pulse::presence::EventKind;
using pulse::presence::PresenceEvent;

namespace {

WebhookOptions options(std::size_t capacity, std::size_t urls = 1) {
  WebhookOptions o;
  for (std::size_t i = 0; i < urls; ++i) o.urls.push_back("http://127.0.0.1:9/hook");
  o.server_name = "pulse-1";
  o.queue_capacity = capacity;
  return o;
}

WebhookDispatcher::Now fixed_now() {
  return [] { return pulse::presence::Time(pulse::presence::ManualClock::kWallStart); };
}

PresenceEvent down(std::uint64_t sequence) {
  PresenceEvent event;
  event.sequence = sequence;
  event.kind = EventKind::kChange;
  event.previous = ClientState::kLate;
  event.client.id = "web-1";
  event.client.state = ClientState::kDown;
  return event;
}

}  // namespace

TEST_CASE("dispatcher: wanted events queue per URL until full, then count as dropped", "[webhooks]") {
  WebhookDispatcher dispatcher(options(2, /*urls=*/2), fixed_now());
  PresenceEvent late = down(1);
  late.client.state = ClientState::kLate;
  dispatcher.on_event(late);  // not a default trigger
  CHECK(dispatcher.stats().queued == 0);
  dispatcher.on_event(down(2));
  dispatcher.on_event(down(3));
  dispatcher.on_event(down(4));
  const WebhookStats stats = dispatcher.stats();
  CHECK(stats.queued == 4);   // two per URL
  CHECK(stats.dropped == 2);  // the third, once per URL
  CHECK(stats.sent == 0);
  dispatcher.stop();  // never started: nothing to wait for
  dispatcher.on_event(down(5));
  CHECK(dispatcher.stats().queued == 4);  // stopped: takes nothing more
}

TEST_CASE("dispatcher: sign-offs when leave is a trigger, or up (they forget an id alerted down)", "[webhooks]") {
  auto down_only = options(1);
  down_only.triggers = *parse_triggers("down,failing");
  CHECK_FALSE(WebhookDispatcher(down_only, fixed_now()).wants_sign_offs());
  CHECK(WebhookDispatcher(options(1), fixed_now()).wants_sign_offs());  // the defaults: down,failing,up
  auto with_leave = options(1);
  with_leave.triggers = *parse_triggers("down,leave");
  CHECK(WebhookDispatcher(with_leave, fixed_now()).wants_sign_offs());
}

namespace {

PresenceEvent move(const std::string& id, std::optional<ClientState> from, ClientState to) {
  PresenceEvent event;
  event.kind = from ? EventKind::kChange : EventKind::kJoin;
  event.previous = from;
  event.client.id = id;
  event.client.state = to;
  return event;
}

PresenceEvent leave(const std::string& id, ClientState state) {
  PresenceEvent event;
  event.kind = EventKind::kLeave;
  event.client.id = id;
  event.client.state = state;
  return event;
}

// How many alerts `events`, in order, queue with these triggers (one URL).
std::uint64_t alerts_for(const std::vector<PresenceEvent>& events, const char* triggers = "down,failing,up") {
  auto o = options(100);
  o.triggers = *parse_triggers(triggers);
  WebhookDispatcher dispatcher(o, fixed_now());
  for (const auto& event : events) dispatcher.on_event(event);
  return dispatcher.stats().queued;
}

}  // namespace

TEST_CASE("dispatcher: back to up after an alerted down or failing, through late or paused", "[webhooks]") {
  using S = ClientState;
  // failing -> late -> up: "failing" and the "up" closing it.
  CHECK(alerts_for({move("a", S::kUp, S::kFailing), move("a", S::kFailing, S::kLate), move("a", S::kLate, S::kUp)}) ==
        2);
  // down -> paused -> up.
  CHECK(alerts_for({move("a", S::kLate, S::kDown), move("a", S::kDown, S::kPaused), move("a", S::kPaused, S::kUp)}) ==
        2);
  // down -> late (a beat, then silence again) -> up.
  CHECK(alerts_for({move("a", S::kLate, S::kDown), move("a", S::kDown, S::kLate), move("a", S::kLate, S::kUp)}) == 2);
  // A job failing from its first report, paused, then fine.
  CHECK(alerts_for({move("a", std::nullopt, S::kFailing), move("a", S::kFailing, S::kPaused),
                    move("a", S::kPaused, S::kUp)}) == 2);
  // One "up" per bad spell: a later late -> up is no news.
  CHECK(alerts_for({move("a", S::kLate, S::kDown), move("a", S::kDown, S::kUp), move("a", S::kUp, S::kLate),
                    move("a", S::kLate, S::kUp)}) == 2);
  // down -> failing -> late -> up: both bad moves, one recovery.
  CHECK(alerts_for({move("a", S::kLate, S::kDown), move("a", S::kDown, S::kFailing), move("a", S::kFailing, S::kLate),
                    move("a", S::kLate, S::kUp)}) == 3);
}

TEST_CASE("dispatcher: no up for an id never alerted bad", "[webhooks]") {
  using S = ClientState;
  CHECK(alerts_for({move("a", S::kUp, S::kLate), move("a", S::kLate, S::kUp)}) == 0);
  CHECK(alerts_for({move("a", S::kUp, S::kPaused), move("a", S::kPaused, S::kUp)}) == 0);
  // Another id's down does not make this one's recovery news.
  CHECK(alerts_for({move("b", S::kLate, S::kDown), move("a", S::kUp, S::kLate), move("a", S::kLate, S::kUp)}) == 1);
  // Failing is not a trigger here: its recovery is not alerted either...
  CHECK(alerts_for({move("a", S::kUp, S::kFailing), move("a", S::kFailing, S::kUp)}, "down,up") == 0);
  // ...unless a down was alerted before it.
  CHECK(alerts_for({move("a", S::kLate, S::kDown), move("a", S::kDown, S::kFailing), move("a", S::kFailing, S::kUp)},
                   "down,up") == 2);
  // Without "up", no recovery is alerted at all.
  CHECK(alerts_for({move("a", S::kLate, S::kDown), move("a", S::kDown, S::kPaused), move("a", S::kPaused, S::kUp)},
                   "down,failing") == 1);
}

TEST_CASE("dispatcher: an id alerted bad is forgotten at its up or its leave, never past the limit", "[webhooks]") {
  using S = ClientState;
  auto o = options(100);
  o.max_alerted_ids = 3;
  WebhookDispatcher dispatcher(o, fixed_now());
  dispatcher.on_event(move("a", S::kLate, S::kDown));
  dispatcher.on_event(move("b", S::kUp, S::kFailing));
  CHECK(dispatcher.remembered_ids() == 2);
  dispatcher.on_event(move("a", S::kDown, S::kUp));
  CHECK(dispatcher.remembered_ids() == 1);
  dispatcher.on_event(leave("b", S::kFailing));  // a sign-off or an expiry, "leave" not a trigger
  CHECK(dispatcher.remembered_ids() == 0);
  CHECK(dispatcher.stats().queued == 3);  // the leave was not alerted
  // Back again after its leave: a new id, whose late -> up is no news.
  dispatcher.on_event(move("b", std::nullopt, S::kUp));
  dispatcher.on_event(move("b", S::kUp, S::kLate));
  dispatcher.on_event(move("b", S::kLate, S::kUp));
  CHECK(dispatcher.stats().queued == 3);
  for (const char* id : {"c", "d", "e", "f", "g"}) dispatcher.on_event(move(id, S::kLate, S::kDown));
  CHECK(dispatcher.remembered_ids() == 3);
  CHECK(dispatcher.stats().queued == 8);  // every down is alerted all the same
  // A straight down -> up is a recovery even for an id not remembered (beyond the limit, or
  // alerted by another replica).
  dispatcher.on_event(move("g", S::kDown, S::kUp));
  CHECK(dispatcher.stats().queued == 9);
}

TEST_CASE("dispatcher: a move from up forgets what another replica recovered", "[webhooks]") {
  using S = ClientState;
  // This replica alerted "down"; another made (and alerted) the recovery. When this one next
  // sees the id leave up, its own memory of the down is stale: a late -> up after is no news.
  CHECK(alerts_for({move("a", S::kLate, S::kDown), move("a", S::kUp, S::kLate), move("a", S::kLate, S::kUp)}) == 1);
}

TEST_CASE("dispatcher: a start and a stop with nothing to send return at once", "[webhooks]") {
  WebhookDispatcher dispatcher(options(1), fixed_now());
  dispatcher.start();
  const auto started = std::chrono::steady_clock::now();
  dispatcher.stop();
  dispatcher.stop();  // idempotent
  CHECK(std::chrono::steady_clock::now() - started < std::chrono::seconds(1));
}

TEST_CASE("webhook metrics: every result always present, and the queue depth", "[webhooks]") {
  const std::string text =
      render_webhook_metrics(WebhookStats{.sent = 5, .retried = 3, .failed = 1, .dropped = 2, .queued = 4});
  CHECK(text.find("# TYPE pulse_webhook_alerts_total counter\n") != std::string::npos);
  CHECK(text.find("pulse_webhook_alerts_total{result=\"sent\"} 5\n") != std::string::npos);
  CHECK(text.find("pulse_webhook_alerts_total{result=\"retried\"} 3\n") != std::string::npos);
  CHECK(text.find("pulse_webhook_alerts_total{result=\"failed\"} 1\n") != std::string::npos);
  CHECK(text.find("pulse_webhook_alerts_total{result=\"dropped\"} 2\n") != std::string::npos);
  CHECK(text.find("# TYPE pulse_webhook_queue_depth gauge\npulse_webhook_queue_depth 4\n") != std::string::npos);
}
