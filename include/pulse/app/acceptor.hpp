// Acceptor: accepts on the listening socket (main thread) and hands each connection to the
// next worker. Survives EMFILE with a spare descriptor; refuses politely over --max-connections.
#pragma once

#include <cstddef>
#include <functional>

#include "pulse/http/server_stats.hpp"
#include "pulse/net/event_loop.hpp"
#include "pulse/net/socket.hpp"
#include "pulse/net/unique_fd.hpp"

namespace pulse::app {

class Acceptor final : public net::IoHandler {
 public:
  using OnAccept = std::function<void(net::UniqueFd fd, const net::SocketAddress& peer)>;

  Acceptor(net::EventLoop& loop, net::UniqueFd listen_fd, std::size_t max_connections, http::ServerStats& stats,
           OnAccept on_accept);
  ~Acceptor() override;

  // Loop thread: starts accepting.
  void start();
  // Loop thread: stops accepting and closes the listening socket. Idempotent.
  void stop();
  void handle_events(std::uint32_t events) override;

 private:
  void refuse(net::UniqueFd fd);
  void shed_one_connection();

  net::EventLoop& loop_;
  net::UniqueFd listen_fd_;
  net::UniqueFd spare_fd_;  // released to accept-and-close one connection when out of fds
  std::size_t max_connections_;
  http::ServerStats& stats_;
  OnAccept on_accept_;
  bool listening_ = false;
};

}  // namespace pulse::app
