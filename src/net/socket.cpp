// Socket helpers: numeric address parsing, listening sockets and socket options.
#include "pulse/net/socket.hpp"

#include <arpa/inet.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <cstring>
#include <stdexcept>

#include <fmt/format.h>

#include "pulse/base/system_error.hpp"

namespace pulse::net {

std::uint16_t SocketAddress::port() const noexcept {
  if (storage.ss_family == AF_INET6) {
    return ntohs(reinterpret_cast<const sockaddr_in6*>(&storage)->sin6_port);
  }
  return ntohs(reinterpret_cast<const sockaddr_in*>(&storage)->sin_port);
}

std::string SocketAddress::host() const {
  char text[INET6_ADDRSTRLEN] = {};
  if (storage.ss_family == AF_INET6) {
    ::inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(&storage)->sin6_addr, text, sizeof text);
  } else if (storage.ss_family == AF_INET) {
    ::inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(&storage)->sin_addr, text, sizeof text);
  } else {
    return "-";
  }
  return text;
}

std::string SocketAddress::to_string() const {
  if (storage.ss_family == AF_INET6) return fmt::format("[{}]:{}", host(), port());
  return fmt::format("{}:{}", host(), port());
}

bool SocketAddress::is_loopback() const noexcept {
  if (storage.ss_family == AF_INET) {
    return (ntohl(reinterpret_cast<const sockaddr_in*>(&storage)->sin_addr.s_addr) >> 24) == 127;
  }
  if (storage.ss_family != AF_INET6) return false;
  const in6_addr& v6 = reinterpret_cast<const sockaddr_in6*>(&storage)->sin6_addr;
  if (IN6_IS_ADDR_LOOPBACK(&v6)) return true;
  return IN6_IS_ADDR_V4MAPPED(&v6) && v6.s6_addr[12] == 127;
}

SocketAddress resolve_numeric(const std::string& host, std::uint16_t port) {
  SocketAddress address;
  // "localhost" is the only name accepted: no resolver on the start-up path, no NSS in a
  // static container image.
  const std::string literal = host == "localhost" ? "127.0.0.1" : host;
  auto* v4 = reinterpret_cast<sockaddr_in*>(&address.storage);
  if (::inet_pton(AF_INET, literal.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(port);
    address.length = sizeof(sockaddr_in);
    return address;
  }
  std::string v6_text = literal;
  if (v6_text.size() > 2 && v6_text.front() == '[' && v6_text.back() == ']') {
    v6_text = v6_text.substr(1, v6_text.size() - 2);
  }
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&address.storage);
  if (::inet_pton(AF_INET6, v6_text.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(port);
    address.length = sizeof(sockaddr_in6);
    return address;
  }
  throw std::invalid_argument(fmt::format("not a numeric IPv4 or IPv6 address: '{}'", host));
}

base::UniqueFd listen_tcp(const SocketAddress& address, int backlog) {
  base::UniqueFd fd(::socket(address.storage.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP));
  if (!fd) base::throw_last_error("socket");
  const int on = 1;
  if (::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &on, sizeof on) != 0)
    base::throw_last_error("setsockopt(SO_REUSEADDR)");
  if (::bind(fd.get(), reinterpret_cast<const sockaddr*>(&address.storage), address.length) != 0) {
    base::throw_last_error(fmt::format("bind({})", address.to_string()));
  }
  if (::listen(fd.get(), backlog) != 0) base::throw_last_error("listen");
  return fd;
}

SocketAddress local_address(int fd) {
  SocketAddress address;
  address.length = sizeof address.storage;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&address.storage), &address.length) != 0) {
    base::throw_last_error("getsockname");
  }
  return address;
}

void set_tcp_nodelay(int fd) {
  const int on = 1;
  // Best effort: a failure only costs latency, never correctness.
  (void)::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
}

void set_defer_accept(int fd, std::chrono::seconds wait) {
  const int seconds = static_cast<int>(wait.count());
  (void)::setsockopt(fd, IPPROTO_TCP, TCP_DEFER_ACCEPT, &seconds, sizeof seconds);
}

void set_tcp_keepalive(int fd, const TcpKeepAlive& probes) {
  const int on = 1;
  const auto idle = static_cast<int>(probes.idle.count());
  const auto interval = static_cast<int>(probes.interval.count());
  const auto user_timeout = static_cast<unsigned>(probes.user_timeout.count());
  (void)::setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof on);
  (void)::setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof idle);
  (void)::setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &interval, sizeof interval);
  (void)::setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &probes.count, sizeof probes.count);
  (void)::setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &user_timeout, sizeof user_timeout);
}

}  // namespace pulse::net
