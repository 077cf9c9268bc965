// Metrics: the Prometheus text exposition, written family by family.
#include "pulse/handlers/metrics.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <iterator>
#include <optional>
#include <utility>

#include "pulse/http/deferred_response.hpp"

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
  // Label values from clients (ids): escaped as the format requires, whatever they contain.
  template <typename Value>
  void sample_with_labels(std::string_view name, std::string_view labels, Value value) {
    fmt::format_to(std::back_inserter(text_), "{}{{{}}} {}\n", name, labels, value);
  }
  [[nodiscard]] std::string take() { return std::move(text_); }

 private:
  std::string text_;
};

std::string escape_label(std::string_view value) {
  std::string escaped;
  escaped.reserve(value.size());
  for (const char c : value) {
    if (c == '\\' || c == '"') escaped += '\\';
    if (c == '\n') {
      escaped += "\\n";
      continue;
    }
    escaped += c;
  }
  return escaped;
}

// Seconds as Prometheus likes them, with the milliseconds the store keeps.
std::string seconds_text(std::chrono::milliseconds value) {
  return fmt::format("{:.3f}", static_cast<double>(value.count()) / 1000.0);
}

std::string timestamp_text(presence::Time time) {
  return seconds_text(std::chrono::duration_cast<std::chrono::milliseconds>(time.time_since_epoch()));
}

void render_requests(Exposition& out, const heartbeat::RequestMetrics::Snapshot& requests) {
  out.family("pulse_heartbeat_signals_total", "counter",
             "Heartbeat requests this process had the presence store record, by signal (beat includes /ok).");
  for (std::size_t i = 0; i < heartbeat::kAllSignals.size(); ++i) {
    out.sample("pulse_heartbeat_signals_total", "signal", presence::to_string(heartbeat::kAllSignals[i]),
               requests.by_signal[i]);
  }
  constexpr std::string_view kRuns = "pulse_heartbeat_run_duration_seconds";
  out.family(kRuns, "histogram",
             "Durations of the job runs that requests to this process ended, from /start to the ok, fail or exit "
             "status.");
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i < heartbeat::kRunDurationBuckets.size(); ++i) {
    cumulative += requests.run_buckets[i];
    out.sample(fmt::format("{}_bucket", kRuns), "le", std::to_string(heartbeat::kRunDurationBuckets[i].count()),
               cumulative);
  }
  cumulative += requests.run_buckets.back();
  out.sample(fmt::format("{}_bucket", kRuns), "le", "+Inf", cumulative);
  out.sample(fmt::format("{}_sum", kRuns), seconds_text(requests.run_time));
  // From the buckets rather than a counter of its own, so that +Inf and _count always agree.
  out.sample(fmt::format("{}_count", kRuns), cumulative);
}

void render_clients(Exposition& out, const ClientSeries& series) {
  out.family("pulse_heartbeat_client_state", "gauge",
             "1 for each client shown (--heartbeat-client-metrics), labelled with its state.");
  for (const auto& client : series.clients) {
    out.sample_with_labels(
        "pulse_heartbeat_client_state",
        fmt::format("id=\"{}\",state=\"{}\"", escape_label(client.id), presence::to_string(client.state)), 1);
  }
  out.family("pulse_heartbeat_client_last_beat_timestamp_seconds", "gauge",
             "When each client shown beat last, in seconds since the Unix epoch.");
  for (const auto& client : series.clients) {
    out.sample_with_labels("pulse_heartbeat_client_last_beat_timestamp_seconds",
                           fmt::format("id=\"{}\"", escape_label(client.id)), timestamp_text(client.last_beat));
  }
  out.family("pulse_heartbeat_client_last_duration_seconds", "gauge",
             "How long the last run of each client shown took (clients without a finished run are absent).");
  for (const auto& client : series.clients) {
    if (!client.last_duration) continue;
    out.sample_with_labels("pulse_heartbeat_client_last_duration_seconds",
                           fmt::format("id=\"{}\"", escape_label(client.id)), seconds_text(*client.last_duration));
  }
  out.family("pulse_heartbeat_client_metrics_omitted", "gauge",
             "Clients left out of the per-client series by the --heartbeat-client-metrics cap.");
  out.sample("pulse_heartbeat_client_metrics_omitted", series.omitted);
}

}  // namespace

ClientSeries client_series(presence::Listing listing, std::size_t limit) {
  ClientSeries series;
  if (listing.clients.size() > limit) {
    series.omitted = listing.clients.size() - limit;
    listing.clients.resize(limit);
  }
  series.clients = std::move(listing.clients);
  return series;
}

std::string render_metrics(const presence::StoreCounters& presence, const presence::StoreHealth& store,
                           std::size_t event_streams, const http::ServerStats& stats,
                           const heartbeat::RequestMetrics::Snapshot* requests, const ClientSeries* clients) {
  Exposition out;
  out.family("pulse_heartbeat_clients", "gauge", "Heartbeat clients currently known, by state.");
  for (const presence::ClientState state : presence::kAllClientStates) {
    out.sample("pulse_heartbeat_clients", "state", presence::to_string(state), presence.clients[state]);
  }
  out.family("pulse_heartbeat_beats_total", "counter", "Heartbeats accepted.");
  out.sample("pulse_heartbeat_beats_total", presence.beats_total);
  out.family("pulse_heartbeat_transitions_total", "counter",
             "Client state changes (up, late, down, failing, paused); joins and sign-offs are not counted.");
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
  if (requests != nullptr) render_requests(out, *requests);
  if (clients != nullptr) render_clients(out, *clients);

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
                               std::shared_ptr<const heartbeat::EventStreams> streams, const http::ServerStats& stats,
                               MetricsOptions options)
    : options_(std::move(options)), store_(std::move(store)), streams_(std::move(streams)), stats_(stats) {}

http::Response MetricsHandler::render() const {
  std::optional<heartbeat::RequestMetrics::Snapshot> requests;
  if (options_.requests) requests = options_.requests->snapshot();
  std::optional<ClientSeries> clients;
  if (options_.client_metrics > 0) clients = client_series(store_->list({}), options_.client_metrics);
  std::string body = render_metrics(store_->counters(), store_->health(), streams_->size(), stats_,
                                    requests ? &*requests : nullptr, clients ? &*clients : nullptr);
  for (const auto& source : options_.sources) body += source();
  auto response = http::Response::text(200, std::move(body), std::string(kPrometheusContentType));
  response.set_header("Cache-Control", "no-store");
  return response;
}

http::Response MetricsHandler::handle(const http::Request& request) {
  if (request.method != http::Method::kGet && request.method != http::Method::kHead) {
    auto response = http::Response::text(405, "GET or HEAD only\n");
    response.set_header("Allow", "GET, HEAD");
    return response;
  }
  // Only the per-client series list the store; everything else is answered from counters.
  if (options_.client_metrics == 0 || !store_->may_block() || !options_.store_calls) return render();
  auto deferred = std::make_shared<http::DeferredResponse>();
  // The task shares the handler's state, not `this`: a handler dropped meanwhile stays valid.
  auto self = std::make_shared<const MetricsHandler>(store_, streams_, stats_, options_);
  const bool queued = options_.store_calls->try_submit([self, deferred] {
    try {
      deferred->complete(self->render());
    } catch (const presence::StoreUnavailable& error) {
      auto response =
          http::Response::text(503, fmt::format("the presence store cannot be reached: {}\n", error.what()));
      response.set_header("Retry-After", "2");
      deferred->complete(std::move(response));
    }
  });
  if (!queued) {
    auto response = http::Response::text(503, "too many requests are waiting for the presence store\n");
    response.set_header("Retry-After", "2");
    return response;
  }
  http::Response response;
  response.deferred = std::move(deferred);
  return response;
}

}  // namespace pulse::handlers
