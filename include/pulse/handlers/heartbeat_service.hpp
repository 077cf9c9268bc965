// HeartbeatService: the /heartbeat API, its server-sent events and /metrics, wired to one
// presence registry. The app builds one at start-up and stops it at shutdown.
#pragma once

#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>

#include "pulse/http/handler.hpp"
#include "pulse/http/server_stats.hpp"
#include "pulse/presence/clock.hpp"

namespace pulse::handlers {

struct HeartbeatOptions {
  std::chrono::seconds default_interval{30};
  std::chrono::seconds retention{24 * 3600};
  std::size_t max_clients = 100'000;
  std::optional<std::filesystem::path> state_file;  // nullopt: registry lives in memory only
};

class HeartbeatService {
 public:
  // `stats` feeds /metrics; `clock` defaults to the system clock (tests inject a ManualClock).
  HeartbeatService(HeartbeatOptions options, const http::ServerStats& stats,
                   std::shared_ptr<presence::Clock> clock = nullptr);
  ~HeartbeatService();

  // Handles "/heartbeat", "/heartbeat/..." (including "/heartbeat/events").
  [[nodiscard]] std::shared_ptr<http::Handler> api_handler();
  // Handles "/metrics".
  [[nodiscard]] std::shared_ptr<http::Handler> metrics_handler();

  // Starts the background sweeper (state transitions, SSE keep-alive comments, periodic state
  // saves). Loads the state file first, reporting a corrupt one on stderr.
  void start();
  // Stops the sweeper, closes every event stream, saves the state file. Idempotent.
  void stop();

 private:
  struct Impl;  // owned by the heartbeat feature (issue 4)
  std::unique_ptr<Impl> impl_;
};

}  // namespace pulse::handlers
