// SignalFd: signalfd(2) for SIGTERM and SIGINT.
#include "pulse/net/signal_fd.hpp"

#include <pthread.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <csignal>

#include "pulse/base/system_error.hpp"

namespace pulse::net {

SignalFd::SignalFd(EventLoop& loop, std::function<void(int)> on_signal)
    : loop_(loop), on_signal_(std::move(on_signal)) {
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGTERM);
  sigaddset(&mask, SIGINT);
  if (::pthread_sigmask(SIG_BLOCK, &mask, nullptr) != 0) base::throw_last_error("pthread_sigmask");
  fd_.reset(::signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC));
  if (!fd_) base::throw_last_error("signalfd");
  loop_.add(fd_.get(), EPOLLIN, this);
}

SignalFd::~SignalFd() {
  if (loop_.is_in_loop_thread()) loop_.remove(fd_.get());
}

void SignalFd::handle_events(std::uint32_t) {
  signalfd_siginfo info{};
  while (::read(fd_.get(), &info, sizeof info) == static_cast<ssize_t>(sizeof info)) {
    on_signal_(static_cast<int>(info.ssi_signo));
  }
}

void ignore_sigpipe() {
  std::signal(SIGPIPE, SIG_IGN);
}

}  // namespace pulse::net
