// Metrics: the Prometheus text exposition, written family by family.
#include "pulse/handlers/metrics.hpp"

#include <fmt/format.h>

#include <iterator>

namespace pulse::handlers {
namespace {

// One metric family: "# HELP", "# TYPE", then its samples.
class Exposition {
 public:
  void family(std::string_view name, std::string_view type, std::string_view help) {
    fmt::format_to(std::back_inserter(text_), "# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
  }
  template <typename Value>
  void sample(std::string_view name, Value value) {
    fmt::format_to(std::back_inserter(text_), "{} {}\n", name, value);
  }
  // Label values here are fixed words and numbers: nothing needs escaping.
  template <typename Value>
  void sample(std::string_view name, std::string_view label, std::string_view label_value, Value value) {
    fmt::format_to(std::back_inserter(text_), "{}{{{}=\"{}\"}} {}\n", name, label, label_value, value);
  }
  [[nodiscard]] std::string take() { return std::move(text_); }

 private:
  std::string text_;
};

}  // namespace

std::string render_metrics(const presence::StoreCounters& presence, const presence::StoreHealth& store,
                           std::size_t event_streams, const http::ServerStats& stats) {
  Exposition out;
  out.family("pulse_heartbeat_clients", "gauge", "Heartbeat clients currently known, by state.");
  for (const presence::ClientState state : presence::kAllClientStates) {
    out.sample("pulse_heartbeat_clients", "state", presence::to_string(state), presence.clients[state]);
  }
  out.family("pulse_heartbeat_beats_total", "counter", "Heartbeats accepted.");
  out.sample("pulse_heartbeat_beats_total", presence.beats_total);
  out.family("pulse_heartbeat_transitions_total", "counter",
             "Client state changes (up, late, down, failing); joins and sign-offs are not counted.");
  out.sample("pulse_heartbeat_transitions_total", presence.transitions_total);
  out.family("pulse_heartbeat_rejected_beats_total", "counter", "Heartbeats refused, by reason.");
  out.sample("pulse_heartbeat_rejected_beats_total", "reason", "rate_limited", presence.rate_limited_total);
  out.sample("pulse_heartbeat_rejected_beats_total", "reason", "registry_full", presence.rejected_full_total);
  out.family("pulse_presence_store_ready", "gauge", "1 while the presence store can be reached (see /readyz), else 0.");
  out.sample("pulse_presence_store_ready", store.ready ? 1 : 0);
  out.family("pulse_presence_store_errors_total", "counter",
             "Presence store calls that failed because the store could not be reached in time.");
  out.sample("pulse_presence_store_errors_total", store.errors_total);
  out.family("pulse_heartbeat_event_streams", "gauge", "Open /heartbeat/events streams.");
  out.sample("pulse_heartbeat_event_streams", event_streams);

  out.family("pulse_http_requests_total", "counter", "HTTP responses sent, by status code.");
  for (const int status : http::ServerStats::kTrackedStatuses) {
    out.sample("pulse_http_requests_total", "code", std::to_string(status), stats.requests_with_status(status));
  }
  out.sample("pulse_http_requests_total", "code", "other", stats.requests_other());
  out.family("pulse_http_open_connections", "gauge", "Client connections open now.");
  out.sample("pulse_http_open_connections", stats.open_connections());
  out.family("pulse_http_connections_total", "counter", "Client connections accepted.");
  out.sample("pulse_http_connections_total", stats.connections_total());
  out.family("pulse_http_connections_refused_total", "counter", "Connections refused at the connection limit.");
  out.sample("pulse_http_connections_refused_total", stats.refused_connections());
  out.family("pulse_http_bytes_sent_total", "counter", "Bytes written to clients, headers and bodies.");
  out.sample("pulse_http_bytes_sent_total", stats.bytes_sent());
  return out.take();
}

MetricsHandler::MetricsHandler(std::shared_ptr<const presence::PresenceStore> store,
                               std::shared_ptr<const heartbeat::EventStreams> streams, const http::ServerStats& stats)
    : store_(std::move(store)), streams_(std::move(streams)), stats_(stats) {}

http::Response MetricsHandler::handle(const http::Request& request) {
  if (request.method != http::Method::kGet && request.method != http::Method::kHead) {
    auto response = http::Response::text(405, "GET or HEAD only\n");
    response.set_header("Allow", "GET, HEAD");
    return response;
  }
  std::string body = render_metrics(store_->counters(), store_->health(), streams_->size(), stats_);
  for (const auto& source : sources_) body += source();
  auto response = http::Response::text(200, std::move(body), std::string(kPrometheusContentType));
  response.set_header("Cache-Control", "no-store");
  return response;
}

}  // namespace pulse::handlers
