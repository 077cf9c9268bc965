// WebhookDispatcher: delivers alerts to every --webhook URL from its own thread, never from a
// worker's event loop: a bounded queue per URL, one request at a time per URL (so a "down" and
// the "up" after it arrive in that order even while the first is being retried), retries with
// exponential back-off and full jitter, a give-up limit, a timeout on every request.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "pulse/app/webhooks/options.hpp"
#include "pulse/handlers/heartbeat/alert_sink.hpp"
#include "pulse/presence/clock.hpp"
#include "pulse/presence/presence_store.hpp"

namespace pulse::app::webhooks {

// Counted per delivery (one alert to one URL), since the life of the process.
struct WebhookStats {
  std::uint64_t sent = 0;     // accepted by the receiver (2xx)
  std::uint64_t retried = 0;  // attempts that failed and were scheduled again
  std::uint64_t failed = 0;   // refused (4xx), or given up after the give-up limit
  std::uint64_t dropped = 0;  // not queued: that URL's queue was full
  std::uint64_t queued = 0;   // waiting or being delivered now (a gauge)
};

// Prometheus families pulse_webhook_alerts_total{result=sent|retried|failed|dropped} and
// pulse_webhook_queue_depth, with their HELP and TYPE lines.
[[nodiscard]] std::string render_webhook_metrics(const WebhookStats& stats);

// Thread affinity: construction, start(), stop() and destruction on one controlling thread;
// on_event(), begin_stop() and stats() on any thread. Delivery runs on the dispatcher's thread.
class WebhookDispatcher final : public handlers::heartbeat::AlertSink {
 public:
  using Now = std::function<presence::Time()>;
  using Random = std::function<std::uint64_t()>;

  // `now`: the store's clock, for the document's times. `random`: the back-off's jitter (tests
  // inject one; default: a generator seeded from std::random_device). Throws std::runtime_error
  // when libcurl cannot be set up.
  WebhookDispatcher(WebhookOptions options, Now now, Random random = {});
  ~WebhookDispatcher() override;
  WebhookDispatcher(const WebhookDispatcher&) = delete;
  WebhookDispatcher& operator=(const WebhookDispatcher&) = delete;

  void start();
  // Stops taking alerts; requests under way and alerts already due get the shutdown grace,
  // nothing waits for a back-off. Returns at once.
  void begin_stop();
  // begin_stop(), then waits for the thread and reports in the log how many alerts were not
  // delivered. Idempotent.
  void stop();

  // Queues the alert for `event` to every URL when the triggers want it; never blocks on I/O.
  // With "up" a trigger, remembers the ids whose last alert was a down or a failing, so that
  // their next move to up is alerted even through late or paused (failing -> late -> up).
  void on_event(const presence::PresenceEvent& event) override;
  // With "leave" or "up" a trigger: a sign-off is alerted, or forgets an id alerted bad.
  [[nodiscard]] bool wants_sign_offs() const noexcept override;
  // How many ids are remembered as alerted bad (never more than the store's clients).
  [[nodiscard]] std::size_t remembered_ids() const;

  [[nodiscard]] WebhookStats stats() const noexcept;
  [[nodiscard]] const WebhookOptions& options() const noexcept;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace pulse::app::webhooks
