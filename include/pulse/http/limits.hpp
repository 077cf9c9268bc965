// Every protocol limit and timeout in one place: named defaults with their unit in the type.
// Those in Limits are command-line flags (app/config); the constants after them are fixed
// (docs/ARCHITECTURE.md says why).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>

#include "pulse/net/socket.hpp"

namespace pulse::http {

using namespace std::chrono_literals;

inline constexpr std::size_t kDefaultMaxHeaderBytes = 16 * 1024;    // request line + headers: 431 past it
inline constexpr std::size_t kDefaultMaxUriBytes = 8 * 1024;        // request-target: 414 past it
inline constexpr std::size_t kDefaultMaxHeaderCount = 100;          // 431 past it
inline constexpr std::uint64_t kDefaultMaxBodyBytes = 1024 * 1024;  // 413 past it
inline constexpr std::size_t kDefaultMaxConnections = 10'000;
inline constexpr std::uint64_t kDefaultMaxRequestsPerConnection = 10'000;
inline constexpr std::chrono::milliseconds kDefaultHeaderTimeout = 10s;
inline constexpr std::chrono::milliseconds kDefaultKeepaliveTimeout = 15s;
// End of headers to end of body, however steadily the bytes come (a body one byte every few
// seconds would otherwise hold a connection for days): 1 MiB in 60 s is 17 KiB/s.
inline constexpr std::chrono::milliseconds kDefaultBodyTimeout = 60s;
inline constexpr std::chrono::milliseconds kDefaultWriteTimeout = 30s;
inline constexpr std::chrono::milliseconds kDefaultShutdownTimeout = 8s;
// After shutdown(SHUT_WR), how long we read and discard so the peer receives our last response
// instead of a reset (lingering close).
inline constexpr std::chrono::milliseconds kLingerTimeout = 2s;
// Back-pressure: stop parsing once this much response data is queued; resume below half.
inline constexpr std::size_t kOutputHighWaterBytes = 1024 * 1024;
// Back-pressure for pipelines of file responses (each holds an open file).
inline constexpr std::size_t kMaxQueuedResponses = 64;
inline constexpr std::size_t kReadChunkBytes = 64 * 1024;
// TCP keepalive on the sockets of responses that ask for it (Response::tcp_keepalive): probes
// after 15 s without input, every 5 s, 3 unanswered ones (or 30 s of unacknowledged output) end
// the connection.
inline constexpr net::TcpKeepAlive kHeldKeepAlive{.idle = 15s, .interval = 5s, .count = 3, .user_timeout = 30s};

struct Limits {
  std::size_t max_header_bytes = kDefaultMaxHeaderBytes;
  std::size_t max_uri_bytes = kDefaultMaxUriBytes;
  std::size_t max_header_count = kDefaultMaxHeaderCount;
  std::uint64_t max_body_bytes = kDefaultMaxBodyBytes;
  std::size_t max_connections = kDefaultMaxConnections;
  std::uint64_t max_requests_per_connection = kDefaultMaxRequestsPerConnection;
  std::chrono::milliseconds header_timeout = kDefaultHeaderTimeout;
  std::chrono::milliseconds keepalive_timeout = kDefaultKeepaliveTimeout;
  std::chrono::milliseconds body_timeout = kDefaultBodyTimeout;
  std::chrono::milliseconds write_timeout = kDefaultWriteTimeout;
  std::chrono::milliseconds shutdown_timeout = kDefaultShutdownTimeout;
};

}  // namespace pulse::http
