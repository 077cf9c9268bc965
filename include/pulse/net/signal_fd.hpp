// SignalFd: SIGTERM/SIGINT delivered as a readable fd on an EventLoop, not as an async handler.
#pragma once

#include <functional>

#include "pulse/base/unique_fd.hpp"
#include "pulse/net/event_loop.hpp"

namespace pulse::net {

class SignalFd final : public IoHandler {
 public:
  // Blocks SIGTERM and SIGINT in the calling thread (threads started later inherit the mask)
  // and calls `on_signal(signo)` on the loop thread when one arrives.
  SignalFd(EventLoop& loop, std::function<void(int)> on_signal);
  ~SignalFd() override;
  void handle_events(std::uint32_t events) override;

 private:
  EventLoop& loop_;
  base::UniqueFd fd_;
  std::function<void(int)> on_signal_;
};

// SIGPIPE would kill the process on a write to a closed socket; errors come back as EPIPE instead.
void ignore_sigpipe();

}  // namespace pulse::net
