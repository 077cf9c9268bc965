// Socket helpers: listening sockets, address formatting, and socket options. No HTTP here.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <chrono>
#include <cstdint>
#include <string>

#include "pulse/base/unique_fd.hpp"

namespace pulse::net {

// A socket address of either family, small enough to copy around.
struct SocketAddress {
  sockaddr_storage storage{};
  socklen_t length = 0;

  [[nodiscard]] std::uint16_t port() const noexcept;
  // "127.0.0.1" or "::1" (no port, no brackets): what an access log wants.
  [[nodiscard]] std::string host() const;
  // "127.0.0.1:8080" or "[::1]:8080".
  [[nodiscard]] std::string to_string() const;
  // 127.0.0.0/8, ::1, or 127.0.0.0/8 mapped into IPv6 (::ffff:127.0.0.1): reachable only from
  // this machine. The wildcard addresses (0.0.0.0, ::) are not.
  [[nodiscard]] bool is_loopback() const noexcept;
};

// Resolves a numeric host ("0.0.0.0", "::", "127.0.0.1", "localhost") and a port.
// Throws std::invalid_argument naming the bad part.
[[nodiscard]] SocketAddress resolve_numeric(const std::string& host, std::uint16_t port);

// Creates a non-blocking, close-on-exec listening socket with SO_REUSEADDR.
// Throws std::system_error naming the failed call.
[[nodiscard]] base::UniqueFd listen_tcp(const SocketAddress& address, int backlog);

// The address a socket is bound to (after bind with port 0, the port picked).
[[nodiscard]] SocketAddress local_address(int fd);

void set_tcp_nodelay(int fd);

// TCP_DEFER_ACCEPT on a listening socket: a connection is handed to accept() once its first
// bytes have arrived, or, from a client that sends nothing, after about `wait` (Linux rounds it
// to SYN-ACK retransmissions). The server then wakes once per connection, with the request
// there to read, instead of once for the handshake and again for the request. Zero turns it
// off. Best effort: without it connections are only accepted earlier.
void set_defer_accept(int fd, std::chrono::seconds wait);

// TCP keepalive for a connection that may carry little for long (a held heartbeat connection):
// probes start after `idle` without input, go every `interval`, and `count` unanswered ones end
// the connection; `user_timeout` (TCP_USER_TIMEOUT) ends it when written data stays
// unacknowledged that long. Either way a peer that vanished without a FIN or a reset (a power
// cut, a dropped NAT mapping) shows as an error on the socket within about 30 s.
// (The values the server uses are http::kHeldKeepAlive.)
struct TcpKeepAlive {
  std::chrono::seconds idle{0};
  std::chrono::seconds interval{0};
  int count = 0;
  std::chrono::milliseconds user_timeout{0};
};
// Best effort, like set_tcp_nodelay: a socket without it still works, it only notices a silent
// peer later.
void set_tcp_keepalive(int fd, const TcpKeepAlive& probes);

}  // namespace pulse::net
