// Server: wires config, handlers and workers (each accepting for itself) together, and runs until
// shutdown.
#pragma once

#include <atomic>
#include <memory>
#include <vector>

#include "pulse/app/acceptor.hpp"
#include "pulse/app/access_log.hpp"
#include "pulse/app/config.hpp"
#include "pulse/app/webhooks/dispatcher.hpp"
#include "pulse/app/worker.hpp"
#include "pulse/handlers/heartbeat/service.hpp"
#include "pulse/http/router.hpp"
#include "pulse/http/server_stats.hpp"
#include "pulse/net/event_loop.hpp"
#include "pulse/net/signal_fd.hpp"
#include "pulse/net/socket.hpp"

namespace pulse::app {

class Server {
 public:
  // Binds the socket and builds every handler. Throws std::exception with a message fit for a
  // one-line start-up error (bad docroot, address in use, ...).
  explicit Server(Config config);
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;
  ~Server();

  // The address actually bound (the port picked for --port 0).
  [[nodiscard]] const net::SocketAddress& local_address() const noexcept { return address_; }
  // Runs the workers, and signal handling on the calling thread, until shutdown; returns the exit
  // status.
  int run();
  // Any thread, any number of times: the same as SIGTERM.
  void stop();

  [[nodiscard]] const http::ServerStats& stats() const noexcept { return stats_; }

 private:
  void begin_shutdown();

  Config config_;
  http::ServerStats stats_;
  std::unique_ptr<AccessLog> access_log_;
  std::shared_ptr<webhooks::WebhookDispatcher> webhooks_;  // with --webhook only
  std::unique_ptr<handlers::heartbeat::HeartbeatService> heartbeat_;
  http::Router router_;
  net::EventLoop main_loop_;
  net::SocketAddress address_;
  std::unique_ptr<net::SignalFd> signals_;
  std::vector<std::unique_ptr<Worker>> workers_;
  std::atomic<bool> stopping_{false};
};

}  // namespace pulse::app
