// Handler: one feature's request -> response function. Knows nothing of sockets or epoll.
#pragma once

#include "pulse/http/request.hpp"
#include "pulse/http/response.hpp"

namespace pulse::http {

// Handlers are shared by every worker thread: handle() must be thread-safe.
class Handler {
 public:
  virtual ~Handler() = default;
  [[nodiscard]] virtual Response handle(const Request& request) = 0;
};

}  // namespace pulse::http
