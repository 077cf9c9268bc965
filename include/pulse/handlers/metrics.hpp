// Metrics: GET /metrics in the Prometheus text format 0.0.4, names prefixed pulse_: heartbeat
// clients per state and beat/transition counters (cluster-wide with a shared store), the store's
// reachability, requests by signal and a histogram of job run durations, HTTP responses per
// status, connections, bytes (this process); per-client series only when asked for, and capped.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <vector>
#include <string>
#include <string_view>
#include <vector>

#include "pulse/base/task_pool.hpp"
#include "pulse/handlers/heartbeat/events.hpp"
#include "pulse/handlers/heartbeat/request_metrics.hpp"
#include "pulse/http/handler.hpp"
#include "pulse/http/server_stats.hpp"
#include "pulse/presence/presence_store.hpp"

namespace pulse::handlers {

inline constexpr std::string_view kPrometheusContentType = "text/plain; version=0.0.4; charset=utf-8";

// Per-client series for the first clients by id, and how many more there were.
struct ClientSeries {
  std::vector<presence::ClientView> clients;
  std::size_t omitted = 0;
};

// The exposition: every metric with its HELP and TYPE lines, every label value always present
// (a state with no clients is 0, not missing), so dashboards and alerts never see gaps.
// `requests` adds the signal counters and the run-duration histogram; `clients` the per-client
// families (pulse_heartbeat_client_*) and pulse_heartbeat_client_metrics_omitted.
[[nodiscard]] std::string render_metrics(const presence::StoreCounters& presence, const presence::StoreHealth& store,
                                         std::size_t event_streams, const http::ServerStats& stats,
                                         const heartbeat::RequestMetrics::Snapshot* requests = nullptr,
                                         const ClientSeries* clients = nullptr);

// The first `limit` clients by id (a listing is sorted), the rest counted as omitted.
[[nodiscard]] ClientSeries client_series(presence::Listing listing, std::size_t limit);

struct MetricsOptions {
  // More families rendered by a part this layer does not know (the app's webhook dispatcher),
  // appended after the built-in ones. Each runs where the handler renders (a worker or a store
  // thread).
  using Source = std::function<std::string()>;
  std::vector<Source> sources;
  std::shared_ptr<const heartbeat::RequestMetrics> requests;  // nullptr: no signal or run metrics
  // Per-client series for at most this many clients (--heartbeat-client-metrics); 0: none.
  std::size_t client_metrics = 0;
  // Where to list the store for them when its calls may block (HeartbeatService::store_calls()).
  std::shared_ptr<base::TaskPool> store_calls;
};

class MetricsHandler final : public http::Handler {
 public:
  MetricsHandler(std::shared_ptr<const presence::PresenceStore> store,
                 std::shared_ptr<const heartbeat::EventStreams> streams, const http::ServerStats& stats,
                 MetricsOptions options = {});
  // Any worker thread: relaxed atomic counters, plus a brief look at the event-stream list. A
  // shared store answers counters() and health() from what it last learned, without blocking.
  // Per-client series list the store: with a store whose calls may block, on a store thread
  // (a deferred response, or 503 when too many wait), never on the worker's loop.
  [[nodiscard]] http::Response handle(const http::Request& request) override;

 private:
  [[nodiscard]] http::Response render() const;

  MetricsOptions options_;
  std::shared_ptr<const presence::PresenceStore> store_;
  std::shared_ptr<const heartbeat::EventStreams> streams_;
  const http::ServerStats& stats_;
};

}  // namespace pulse::handlers
