// WebhookDispatcher without its thread: what on_event() queues, drops and ignores, and the
// metrics text. Delivery itself is tested against a real receiver in tests/e2e/webhooks.py.
#include <catch2/catch.hpp>

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

TEST_CASE("dispatcher: sign-offs only when leave is a trigger", "[webhooks]") {
  CHECK_FALSE(WebhookDispatcher(options(1), fixed_now()).wants_sign_offs());
  auto with_leave = options(1);
  with_leave.triggers = *parse_triggers("down,leave");
  CHECK(WebhookDispatcher(with_leave, fixed_now()).wants_sign_offs());
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
