// HeartbeatService: the /heartbeat API and its server-sent events, wired to one presence store
// (the embedded registry, or a shared store such as Redis). The app builds one at start-up and
// stops it at shutdown.
#pragma once

#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>

#include "pulse/base/task_pool.hpp"
#include "pulse/handlers/heartbeat/events.hpp"
#include "pulse/handlers/heartbeat/request_metrics.hpp"
#include "pulse/handlers/heartbeat/hold.hpp"
#include "pulse/http/handler.hpp"
#include "pulse/presence/clock.hpp"
#include "pulse/presence/limits.hpp"
#include "pulse/presence/presence_store.hpp"

namespace pulse::handlers::heartbeat {

struct HeartbeatOptions {
  std::chrono::seconds default_interval = presence::kDefaultInterval;
  std::chrono::seconds retention = presence::kDefaultRetention;
  std::size_t max_clients = presence::kDefaultMaxClients;
  std::optional<std::filesystem::path> state_file;  // the embedded registry only; nullopt: memory only
  // State changes and runs kept per client (GET /heartbeat/{id}/history); 0 keeps none.
  std::size_t history_length = presence::kDefaultHistoryLength;
  // /metrics carries per-client series for at most this many clients (0: none): each client is
  // a few series, and Prometheus suffers from label values without bound.
  std::size_t client_metrics = 0;
  StreamLimits streams;
  HoldLimits holds;  // GET /heartbeat/{id}/hold
};

// Requests to a store whose calls may block run on this many store threads, and at most this
// many wait for one; beyond that a request gets 503 at once. Each thread waits on one round trip
// at a time, so a few keep a local Redis busy; the queue bounds memory and waiting when it is slow.
inline constexpr std::size_t kStoreThreads = 4;
inline constexpr std::size_t kStoreQueueCapacity = 1024;
// With a store in this process: one thread renders the lists and snapshots of many clients, and
// at most this many requests wait for it (waiting requests share one render).
inline constexpr std::size_t kRenderThreads = 1;
inline constexpr std::size_t kRenderQueueCapacity = 256;

// The sweeper's rhythm. Time-based transitions are detected within one sweep; changes a request
// makes (new clients, status changes, sign-offs) are pushed to event streams at once. The state
// file is rewritten every save period while anything changed (every beat counts: it moves
// last_beat and beats).
inline constexpr std::chrono::milliseconds kSweepPeriod{250};
inline constexpr std::chrono::milliseconds kBeatDigestPeriod{1000};
inline constexpr std::chrono::milliseconds kEventKeepAlivePeriod{15'000};
inline constexpr std::chrono::milliseconds kStateSavePeriod{10'000};
inline constexpr std::size_t kMaxBeatDigestClients = 1000;  // per "beats" event; the rest wait a second

class AlertSink;  // alert_sink.hpp

// Thread affinity: construction, start(), stop() and destruction on one controlling thread (the
// server's main loop); the handlers on any worker thread; sweep() on any thread.
class HeartbeatService {
 public:
  // The embedded registry, built from `options`; `clock` defaults to the system clock (tests
  // inject a ManualClock).
  explicit HeartbeatService(HeartbeatOptions options, std::shared_ptr<presence::Clock> clock = nullptr);
  // Another store (Redis), built by the caller with its own limits and clock. `options` gives
  // the event-stream limits; a state file is refused (std::invalid_argument): such a store
  // keeps its own data.
  HeartbeatService(HeartbeatOptions options, std::shared_ptr<presence::PresenceStore> store);
  ~HeartbeatService();
  HeartbeatService(const HeartbeatService&) = delete;
  HeartbeatService& operator=(const HeartbeatService&) = delete;

  // Handles "/heartbeat", "/heartbeat/..." (including "/heartbeat/events"). The handlers share
  // ownership of the service's state, so they stay valid even if the router outlives it.
  [[nodiscard]] std::shared_ptr<http::Handler> api_handler();
  // What /metrics reports of the heartbeat (handlers/metrics); they share ownership like the API.
  [[nodiscard]] std::shared_ptr<const presence::PresenceStore> store() const;
  [[nodiscard]] std::shared_ptr<const EventStreams> event_streams() const;
  [[nodiscard]] std::shared_ptr<const RequestMetrics> request_metrics() const;
  // The threads that store calls run on when they may block (nullptr when they do not), for
  // /metrics' per-client series, which list the store.
  [[nodiscard]] std::shared_ptr<base::TaskPool> store_calls() const;
  [[nodiscard]] std::shared_ptr<const HoldRegistry> holds() const;

  // Every event this process's store calls produce (sweeps, beats, sign-offs) also goes to
  // `alerts`. Before start() and before the API serves; nullptr: none.
  void set_alert_sink(std::shared_ptr<AlertSink> alerts);

  // Starts the background sweeper (state transitions, SSE keep-alive comments, held connections'
  // refreshes and releases, periodic state saves). Loads the state file first, reporting a corrupt one in the error log.
  void start();
  // Stops the sweeper, ends every held connection (releasing its client) and every event stream,
  // saves the state file. Idempotent.
  void stop();

  // One sweeper pass on the calling thread: time-based transitions, their events and a "beats"
  // digest out to the event streams. The sweeper thread runs it every kSweepPeriod; tests with a
  // ManualClock call it directly after moving the clock.
  void sweep();

 private:
  struct Impl;  // shared with the handlers returned above
  std::shared_ptr<Impl> impl_;
};

}  // namespace pulse::handlers::heartbeat
