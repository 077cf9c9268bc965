// Raw client sockets for tests of clients that misbehave on purpose: connect, send, and wait for
// input or for the end of the connection, each wait bounded. Nothing here raises SIGPIPE.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <catch2/catch.hpp>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "pulse/base/unique_fd.hpp"

namespace pulse::test {

// A blocking socket to 127.0.0.1:`port` from `source` (any 127.x address is this machine).
inline base::UniqueFd connect_from(const char* source, std::uint16_t port) {
  base::UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  REQUIRE(fd);
  sockaddr_in from{};
  from.sin_family = AF_INET;
  REQUIRE(::inet_pton(AF_INET, source, &from.sin_addr) == 1);
  REQUIRE(::bind(fd.get(), reinterpret_cast<const sockaddr*>(&from), sizeof from) == 0);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(port);
  REQUIRE(::inet_pton(AF_INET, "127.0.0.1", &to.sin_addr) == 1);
  REQUIRE(::connect(fd.get(), reinterpret_cast<const sockaddr*>(&to), sizeof to) == 0);
  return fd;
}

inline base::UniqueFd connect_local(std::uint16_t port) {
  return connect_from("127.0.0.1", port);
}

// Connects an existing (unconnected) socket to 127.0.0.1:`port`; false on failure.
inline bool connect_socket(int fd, std::uint16_t port) {
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(port);
  ::inet_pton(AF_INET, "127.0.0.1", &to.sin_addr);
  return ::connect(fd, reinterpret_cast<const sockaddr*>(&to), sizeof to) == 0;
}

// Sends every byte over a blocking socket; false once the peer is gone.
inline bool send_all(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    const auto n = ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

// How a wait for input ended. kEnd: EOF or an error such as a reset.
enum class Input { kData, kEnd, kTimeout };

// Waits up to `wait` for input and appends what arrived (one read) to `into`.
inline Input read_some(int fd, std::string& into, std::chrono::milliseconds wait) {
  pollfd p{fd, POLLIN, 0};
  int ready = 0;
  do {
    ready = ::poll(&p, 1, static_cast<int>(wait.count()));
  } while (ready < 0 && errno == EINTR);
  if (ready == 0) return Input::kTimeout;
  char chunk[64 * 1024];
  const auto n = ::recv(fd, chunk, sizeof chunk, MSG_DONTWAIT);
  if (n > 0) {
    into.append(chunk, static_cast<std::size_t>(n));
    return Input::kData;
  }
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return Input::kTimeout;
  return Input::kEnd;
}

// Reads until the peer ends the connection (EOF or reset) or `wait` passes; true when it ended.
inline bool read_until_closed(int fd, std::string& into, std::chrono::milliseconds wait) {
  const auto deadline = std::chrono::steady_clock::now() + wait;
  for (;;) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    if (read_some(fd, into, left) == Input::kEnd) return true;
  }
}

// The status code of the response at the front of `bytes`, or 0 when no status line is there yet.
inline int status_of(std::string_view bytes) {
  if (bytes.size() < 12 || bytes.substr(0, 7) != "HTTP/1.") return 0;
  const auto code = bytes.substr(9, 3);
  if (code.find_first_not_of("0123456789") != std::string_view::npos) return 0;
  return (code[0] - '0') * 100 + (code[1] - '0') * 10 + (code[2] - '0');
}

// Reads one whole response framed by Content-Length (all the server's error and /healthz
// responses are) and removes it from the front of `buffer`; returns its status, 0 if it did not
// arrive within `wait` or the connection ended first.
inline int read_response(int fd, std::string& buffer, std::chrono::milliseconds wait) {
  const auto deadline = std::chrono::steady_clock::now() + wait;
  for (;;) {
    const auto head_end = buffer.find("\r\n\r\n");
    if (head_end != std::string::npos) {
      std::size_t body = 0;
      const auto at = buffer.find("\r\nContent-Length: ");
      if (at != std::string::npos && at < head_end) body = std::stoul(buffer.substr(at + 18));
      const std::size_t total = head_end + 4 + body;
      if (buffer.size() >= total) {
        const int status = status_of(buffer);
        buffer.erase(0, total);
        return status;
      }
    }
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0 || read_some(fd, buffer, left) == Input::kEnd) return 0;
  }
}

// Closing this socket sends a reset (SO_LINGER with a zero timeout) instead of a FIN.
inline void reset_on_close(int fd) {
  const linger abort_on_close{1, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &abort_on_close, sizeof abort_on_close);
}

}  // namespace pulse::test
