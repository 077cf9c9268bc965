// Non-blocking socket I/O as values: how many bytes moved, would-block, end of stream or error.
#pragma once

#include <sys/types.h>
#include <sys/uio.h>

#include <cstddef>
#include <cstdint>
#include <span>
#include <system_error>

namespace pulse::net {

struct IoResult {
  std::size_t bytes = 0;
  bool would_block = false;  // EAGAIN: wait for readiness
  bool eof = false;          // read: the peer closed its side
  std::error_code error;     // anything else (ECONNRESET, EPIPE, ...)

  [[nodiscard]] bool ok() const noexcept { return !error; }
};

[[nodiscard]] IoResult read_some(int fd, char* buffer, std::size_t size) noexcept;
// `more`: further data (a sendfile body) follows at once, so the kernel may hold a partial
// segment back (MSG_MORE) and send headers and body in the same packets.
[[nodiscard]] IoResult writev_some(int fd, std::span<const iovec> buffers, bool more = false) noexcept;
// sendfile() from `file_fd` at `*offset`, advancing it. bytes == 0 without would_block means
// the file ended early (truncated while being sent).
[[nodiscard]] IoResult sendfile_some(int socket_fd, int file_fd, std::uint64_t& offset, std::size_t count) noexcept;

// shutdown(SHUT_WR): tell the peer we are done, keep reading (lingering close).
void shutdown_write(int fd) noexcept;

}  // namespace pulse::net
