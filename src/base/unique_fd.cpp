// UniqueFd: the single close() in Pulse.
#include "pulse/base/unique_fd.hpp"

#include <unistd.h>

namespace pulse::base {

void UniqueFd::reset(int fd) noexcept {
  if (fd_ >= 0) {
    // close() is not retried on EINTR: on Linux the descriptor is released either way.
    ::close(fd_);
  }
  fd_ = fd;
}

}  // namespace pulse::base
