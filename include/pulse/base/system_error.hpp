// Turns errno from a failed system call into a std::error_code / exception that names the call.
#pragma once

#include <cerrno>
#include <string>
#include <system_error>

namespace pulse::base {

[[nodiscard]] inline std::error_code last_error() noexcept {
  return {errno, std::system_category()};
}

// Throws std::system_error("<call>: <strerror>") for the current errno.
[[noreturn]] inline void throw_last_error(const std::string& call) {
  throw std::system_error(last_error(), call);
}

}  // namespace pulse::base
