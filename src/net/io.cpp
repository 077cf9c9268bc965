// Non-blocking I/O wrappers; EINTR is retried here so callers never see it.
#include "pulse/net/io.hpp"

#include <sys/sendfile.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <climits>

namespace pulse::net {
namespace {

IoResult from_errno() noexcept {
  IoResult result;
  if (errno == EAGAIN || errno == EWOULDBLOCK) {
    result.would_block = true;
  } else {
    result.error = std::error_code(errno, std::system_category());
  }
  return result;
}

}  // namespace

IoResult read_some(int fd, char* buffer, std::size_t size) noexcept {
  for (;;) {
    const ssize_t n = ::read(fd, buffer, size);
    if (n > 0) return {static_cast<std::size_t>(n), false, false, {}};
    if (n == 0) return {0, false, true, {}};
    if (errno != EINTR) return from_errno();
  }
}

IoResult writev_some(int fd, std::span<const iovec> buffers, bool more) noexcept {
  msghdr message{};
  message.msg_iov = const_cast<iovec*>(buffers.data());  // sendmsg does not write to it
  message.msg_iovlen = std::min<std::size_t>(buffers.size(), IOV_MAX);
  const int flags = MSG_NOSIGNAL | (more ? MSG_MORE : 0);
  for (;;) {
    const ssize_t n = ::sendmsg(fd, &message, flags);
    if (n >= 0) return {static_cast<std::size_t>(n), false, false, {}};
    if (errno != EINTR) return from_errno();
  }
}

IoResult sendfile_some(int socket_fd, int file_fd, std::uint64_t& offset, std::size_t count) noexcept {
  // Linux sends at most 0x7ffff000 bytes per call; larger files take several calls.
  constexpr std::size_t kMaxPerCall = 0x7ffff000;
  off_t off = static_cast<off_t>(offset);
  for (;;) {
    const ssize_t n = ::sendfile(socket_fd, file_fd, &off, std::min(count, kMaxPerCall));
    if (n >= 0) {
      offset = static_cast<std::uint64_t>(off);
      return {static_cast<std::size_t>(n), false, false, {}};
    }
    if (errno != EINTR) return from_errno();
  }
}

void shutdown_write(int fd) noexcept {
  (void)::shutdown(fd, SHUT_WR);
}

}  // namespace pulse::net
