// Metrics: GET /metrics in the Prometheus text format 0.0.4, names prefixed pulse_: heartbeat
// clients per state and beat/transition counters (cluster-wide with a shared store), the store's
// reachability, HTTP responses per status, connections, bytes (this process).
#pragma once

#include <cstddef>
#include <functional>
#include <vector>
#include <string>
#include <string_view>

#include <memory>

#include "pulse/handlers/heartbeat/events.hpp"
#include "pulse/http/handler.hpp"
#include "pulse/http/server_stats.hpp"
#include "pulse/presence/presence_store.hpp"

namespace pulse::handlers {

inline constexpr std::string_view kPrometheusContentType = "text/plain; version=0.0.4; charset=utf-8";

// The exposition: every metric with its HELP and TYPE lines, every label value always present
// (a state with no clients is 0, not missing), so dashboards and alerts never see gaps.
[[nodiscard]] std::string render_metrics(const presence::StoreCounters& presence, const presence::StoreHealth& store,
                                         std::size_t event_streams, const http::ServerStats& stats);

class MetricsHandler final : public http::Handler {
 public:
  MetricsHandler(std::shared_ptr<const presence::PresenceStore> store,
                 std::shared_ptr<const heartbeat::EventStreams> streams, const http::ServerStats& stats);
  // Any worker thread: relaxed atomic counters, plus a brief look at the event-stream list. A
  // shared store answers counters() and health() from what it last learned, without blocking.
  [[nodiscard]] http::Response handle(const http::Request& request) override;

  // More families rendered by a part this layer does not know (the app's webhook dispatcher),
  // appended after the built-in ones. Before the handler serves; each runs on a worker thread.
  using Source = std::function<std::string()>;
  void add_source(Source source) { sources_.push_back(std::move(source)); }

 private:
  std::shared_ptr<const presence::PresenceStore> store_;
  std::shared_ptr<const heartbeat::EventStreams> streams_;
  const http::ServerStats& stats_;
  std::vector<Source> sources_;
};

}  // namespace pulse::handlers
