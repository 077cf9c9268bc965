// Server: start-up order (handlers, socket, workers with their acceptors) and the shutdown sequence.
#include "pulse/app/server.hpp"

#include <fcntl.h>

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <thread>

#include <fmt/format.h>

#include "pulse/base/log.hpp"
#include "pulse/base/system_error.hpp"
#include "pulse/handlers/health.hpp"
#include "pulse/handlers/metrics.hpp"
#include "pulse/handlers/token_gate.hpp"
#include "pulse/presence/redis_store.hpp"

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

// The embedded registry, or a Redis shared with other replicas (which never blocks start-up:
// an unreachable Redis leaves the server up, not ready, and connecting in the background).
std::unique_ptr<handlers::heartbeat::HeartbeatService> make_heartbeat_service(const Config& config) {
  if (!config.presence.redis) return std::make_unique<handlers::heartbeat::HeartbeatService>(config.heartbeat);
  presence::RedisStoreOptions options;
  options.url = *config.presence.redis;
  options.password = config.presence.password;
  options.prefix = config.presence.prefix;
  options.default_interval = config.heartbeat.default_interval;
  options.retention = config.heartbeat.retention;
  options.max_clients = config.heartbeat.max_clients;
  options.history_length = config.heartbeat.history_length;
  options.wait_replicas = static_cast<int>(config.presence.wait_replicas);
  base::log_info({.action = "starting up"}, "presence: {} (key prefix {})", options.url.redacted(), options.prefix);
  return std::make_unique<handlers::heartbeat::HeartbeatService>(
      config.heartbeat, std::make_shared<presence::RedisStore>(std::move(options)));
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
  heartbeat_ = make_heartbeat_service(config_);
  router_.add_exact("/readyz", std::make_shared<handlers::Readiness>(heartbeat_->store()));
  // The tokens guard the whole heartbeat API and /metrics; /healthz and static files stay open.
  const auto tokens = access_tokens(config_);
  auto heartbeat_api = handlers::guard(heartbeat_->api_handler(), tokens);
  router_.add_exact("/heartbeat", heartbeat_api);
  router_.add_prefix("/heartbeat/", heartbeat_api);
  handlers::MetricsOptions metrics;
  metrics.requests = heartbeat_->request_metrics();
  metrics.client_metrics = config_.heartbeat.client_metrics;
  metrics.store_calls = heartbeat_->store_calls();
  metrics.sources.push_back([holds = heartbeat_->holds()] {
    return fmt::format(
        "# HELP pulse_heartbeat_held_connections Connections holding a client up (GET /heartbeat/{{id}}/hold)\n"
        "# TYPE pulse_heartbeat_held_connections gauge\n"
        "pulse_heartbeat_held_connections {}\n",
        holds->size());
  });
  if (config_.webhooks.enabled()) {
    // Alerts carry the store's times; the dispatcher sends them from its own thread.
    // The ids remembered as alerted down or failing are ids the store holds: no more than it may.
    config_.webhooks.max_alerted_ids = config_.heartbeat.max_clients;
    webhooks_ = std::make_shared<webhooks::WebhookDispatcher>(
        config_.webhooks, [store = std::weak_ptr(heartbeat_->store())] {
          // Weak: the service holds the dispatcher, which must not hold the service in turn.
          const auto locked = store.lock();
          return locked ? locked->now() : std::chrono::system_clock::now();
        });
    heartbeat_->set_alert_sink(webhooks_);
    metrics.sources.push_back(
        [dispatcher = webhooks_] { return webhooks::render_webhook_metrics(dispatcher->stats()); });
    base::log_info({.action = "starting up"}, "webhooks: {} URL(s), alerting on {}, as server {}",
                   config_.webhooks.urls.size(), webhooks::format_triggers(config_.webhooks.triggers),
                   config_.webhooks.server_name);
  }
  router_.add_exact("/metrics",
                    handlers::guard(std::make_shared<handlers::MetricsHandler>(
                                        heartbeat_->store(), heartbeat_->event_streams(), stats_, std::move(metrics)),
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

  // Accepted sockets inherit TCP_NODELAY from the listening socket (Linux): no setsockopt per
  // connection.
  net::set_tcp_nodelay(listen_fd.get());
  net::set_defer_accept(listen_fd.get(), config_.defer_accept);
  for (unsigned i = 0; i < config_.threads; ++i) {
    workers_.push_back(std::make_unique<Worker>(router_, config_.limits, stats_, access_log_.get()));
    // Each worker accepts for itself on its own descriptor of the one socket.
    base::UniqueFd own(::fcntl(listen_fd.get(), F_DUPFD_CLOEXEC, 0));
    if (!own) base::throw_last_error("fcntl(F_DUPFD_CLOEXEC) of the listening socket");
    workers_.back()->listen(std::move(own), config_.limits.max_connections, config_.defer_accept.count() > 0);
  }
}

Server::~Server() {
  // Not through the main loop, which may never have run or may have ended by an exception:
  // tell the workers directly (a no-op for those already stopped) and wait for them.
  for (auto& worker : workers_) worker->begin_shutdown(std::chrono::milliseconds(0));
  for (auto& worker : workers_) worker->join();
  if (heartbeat_) heartbeat_->stop();
  if (webhooks_) webhooks_->stop();
}

int Server::run() {
  if (webhooks_) webhooks_->start();
  heartbeat_->start();
  for (auto& worker : workers_) worker->start();
  main_loop_.run();
  // Workers finish in-flight responses within the grace period, then their loops end.
  for (auto& worker : workers_) worker->join();
  // After the heartbeat's last sweep: what it queued gets the shutdown grace too.
  if (webhooks_) webhooks_->stop();
  return 0;
}

void Server::stop() {
  main_loop_.post([this] { begin_shutdown(); });
}

void Server::begin_shutdown() {
  if (stopping_.exchange(true)) return;
  for (auto& worker : workers_) worker->stop_accepting();
  // Event streams end first so that their connections can close within the grace period.
  heartbeat_->stop();
  if (webhooks_) webhooks_->begin_stop();
  for (auto& worker : workers_) worker->begin_shutdown(config_.limits.shutdown_timeout);
  main_loop_.quit();
}

}  // namespace pulse::app
