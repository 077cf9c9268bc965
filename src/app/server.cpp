// Server: start-up order (handlers, socket, workers, acceptor) and the shutdown sequence.
#include "pulse/app/server.hpp"

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <thread>

#include <fmt/format.h>

#include "pulse/base/log.hpp"
#include "pulse/handlers/health.hpp"
#include "pulse/handlers/metrics.hpp"
#include "pulse/handlers/token_gate.hpp"

namespace pulse::app {
namespace {

constexpr int kListenBacklog = 1024;

// Throws std::invalid_argument (from TokenSet) for a token Config did not check.
std::shared_ptr<const handlers::AccessTokens> access_tokens(const Config& config) {
  auto tokens = std::make_shared<handlers::AccessTokens>();
  tokens->write = http::TokenSet(config.heartbeat_tokens);
  tokens->read = http::TokenSet(config.read_tokens);
  return tokens;
}

}  // namespace

Server::Server(Config config) : config_(std::move(config)) {
  net::ignore_sigpipe();
  // Before any thread starts (the access log's writer is one): threads inherit the blocked
  // mask, so SIGTERM/SIGINT reach only the signalfd and never kill a helper thread.
  if (config_.handle_signals) {
    signals_ = std::make_unique<net::SignalFd>(main_loop_, [this](int) { begin_shutdown(); });
  }
  if (config_.threads == 0) config_.threads = std::max(1u, std::thread::hardware_concurrency());
  access_log_ = AccessLog::open(config_.access_log);

  router_.add_exact("/healthz", std::make_shared<handlers::Health>());
  heartbeat_ = std::make_unique<handlers::heartbeat::HeartbeatService>(config_.heartbeat);
  // The tokens guard the whole heartbeat API and /metrics; /healthz and static files stay open.
  const auto tokens = access_tokens(config_);
  auto heartbeat_api = handlers::guard(heartbeat_->api_handler(), tokens);
  router_.add_exact("/heartbeat", heartbeat_api);
  router_.add_prefix("/heartbeat/", heartbeat_api);
  router_.add_exact("/metrics", handlers::guard(std::make_shared<handlers::MetricsHandler>(
                                                    heartbeat_->store(), heartbeat_->event_streams(), stats_),
                                                tokens));
  router_.add_prefix("/", std::make_shared<handlers::static_files::StaticFiles>(config_.static_files));

  auto listen_fd = net::listen_tcp(net::resolve_numeric(config_.bind, config_.port), kListenBacklog);
  address_ = net::local_address(listen_fd.get());
  if (tokens->write.empty() && !address_.is_loopback()) {
    base::log_warning({.action = "starting up"},
                      "listening on {} without --heartbeat-token: anyone who can reach it can beat as, or delete, "
                      "any client",
                      address_.to_string());
  }

  for (unsigned i = 0; i < config_.threads; ++i) {
    workers_.push_back(std::make_unique<Worker>(router_, config_.limits, stats_, access_log_.get()));
  }
  acceptor_ = std::make_unique<Acceptor>(main_loop_, std::move(listen_fd), config_.limits.max_connections, stats_,
                                         [this](base::UniqueFd fd, const net::SocketAddress& peer) {
                                           net::set_tcp_nodelay(fd.get());
                                           workers_[next_worker_]->add_connection(std::move(fd), peer.host());
                                           next_worker_ = (next_worker_ + 1) % workers_.size();
                                         });
}

Server::~Server() {
  // Not through the main loop, which may never have run or may have ended by an exception:
  // tell the workers directly (a no-op for those already stopped) and wait for them.
  for (auto& worker : workers_) worker->begin_shutdown(std::chrono::milliseconds(0));
  for (auto& worker : workers_) worker->join();
  if (heartbeat_) heartbeat_->stop();
}

int Server::run() {
  heartbeat_->start();
  for (auto& worker : workers_) worker->start();
  // Queued rather than called: run() may be on another thread than the constructor (tests).
  main_loop_.post([this] { acceptor_->start(); });
  main_loop_.run();
  // Workers finish in-flight responses within the grace period, then their loops end.
  for (auto& worker : workers_) worker->join();
  return 0;
}

void Server::stop() {
  main_loop_.post([this] { begin_shutdown(); });
}

void Server::begin_shutdown() {
  if (stopping_.exchange(true)) return;
  acceptor_->stop();
  // Event streams end first so that their connections can close within the grace period.
  heartbeat_->stop();
  for (auto& worker : workers_) worker->begin_shutdown(config_.limits.shutdown_timeout);
  main_loop_.quit();
}

}  // namespace pulse::app
