// Acceptor: accepts on the listening socket from one worker's loop and hands each connection to
// that worker, on the same thread: no cross-thread hand-off per connection. Every worker has one,
// all on the same socket, registered with EPOLLEXCLUSIVE so that a new connection wakes one
// worker, not all. Survives EMFILE with a spare descriptor; refuses politely over
// --max-connections (counted across all workers).
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>

#include "pulse/base/unique_fd.hpp"
#include "pulse/http/server_stats.hpp"
#include "pulse/net/event_loop.hpp"
#include "pulse/net/socket.hpp"

namespace pulse::app {

class Acceptor final : public net::IoHandler {
 public:
  // How long accepting stops when the process is out of descriptors or memory.
  static constexpr std::chrono::milliseconds kAcceptPause{100};

  using OnAccept = std::function<void(base::UniqueFd fd, const net::SocketAddress& peer)>;

  Acceptor(net::EventLoop& loop, base::UniqueFd listen_fd, std::size_t max_connections, http::ServerStats& stats,
           OnAccept on_accept);
  ~Acceptor() override;

  // Loop thread: starts accepting. `listen_fd` may be a dup() of a socket other acceptors share.
  void start();
  // Loop thread: stops accepting and closes the listening socket. Idempotent.
  void stop();
  void handle_events(std::uint32_t events) override;

 private:
  void refuse(base::UniqueFd fd);
  enum class Shed { kShed, kNoneWaiting, kNoSpare };
  // Accepts and drops one pending connection using the spare descriptor.
  Shed shed_one_connection(int error);
  void pause_accepting();
  static bool is_per_connection_error(int error) noexcept;

  net::EventLoop& loop_;
  base::UniqueFd listen_fd_;
  base::UniqueFd spare_fd_;  // released to accept-and-close one connection when out of fds
  std::size_t max_connections_;
  http::ServerStats& stats_;
  OnAccept on_accept_;
  bool listening_ = false;
  bool paused_ = false;  // out of resources: not in epoll until the pause timer fires
  // Connections shed for want of descriptors, reported at most once per kShedReportInterval.
  static constexpr std::chrono::seconds kShedReportInterval{10};
  std::uint64_t shed_since_report_ = 0;
  base::MonotonicClock::time_point last_shed_report_{};
};

}  // namespace pulse::app
