// Worker: one thread, one EventLoop, its own acceptor and the connections it accepted.
// Connections never move between workers, so nothing on the request path takes a lock.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <unordered_map>

#include "pulse/app/access_log.hpp"
#include "pulse/app/acceptor.hpp"
#include "pulse/base/unique_fd.hpp"
#include "pulse/http/connection.hpp"
#include "pulse/net/event_loop.hpp"

namespace pulse::app {

class Worker {
 public:
  static constexpr std::chrono::milliseconds kLogFlushInterval{200};
  static constexpr std::size_t kLogFlushBytes = 32 * 1024;

  Worker(const http::Router& router, const http::Limits& limits, http::ServerStats& stats, AccessLog* access_log);
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;
  ~Worker();

  // Before start(): the worker accepts its own connections on `listen_fd` (its own descriptor,
  // usually a dup() of the socket every worker shares).
  // `deferred_accept`: the socket has TCP_DEFER_ACCEPT, so connections arrive with input.
  void listen(base::UniqueFd listen_fd, std::size_t max_connections, bool deferred_accept);
  void start();
  // Any thread: closes the listening descriptor; connections already accepted carry on.
  void stop_accepting();
  // Any thread: stops accepting, closes idle connections, lets the others finish their current response, and
  // ends the loop when none is left or `grace` has passed.
  void begin_shutdown(std::chrono::milliseconds grace);
  void join();

 private:
  void add_connection_in_loop(base::UniqueFd fd, std::string remote_addr);
  void begin_shutdown_in_loop(std::chrono::milliseconds grace);
  void on_connection_closed(std::uint64_t id);
  void maybe_quit();
  void record_access(const http::AccessRecord& record);
  void flush_log();
  void schedule_log_flush();

  std::shared_ptr<net::EventLoop> loop_;
  http::ConnectionContext context_;
  AccessLog* access_log_;
  std::thread thread_;
  // Loop thread only below.
  std::unordered_map<std::uint64_t, std::shared_ptr<http::Connection>> connections_;
  std::uint64_t next_id_ = 1;
  std::string log_buffer_;
  std::unique_ptr<Acceptor> acceptor_;  // created before start(), used on the loop thread
};

}  // namespace pulse::app
