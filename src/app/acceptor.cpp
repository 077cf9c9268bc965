// Acceptor: drains the accept queue on each readiness event (level-triggered listening socket,
// shared by every worker with EPOLLEXCLUSIVE).
#include "pulse/app/acceptor.hpp"

#include <fcntl.h>
#include <sys/socket.h>

#include <cerrno>
#include <string_view>
#include <system_error>

#include "pulse/base/log.hpp"

namespace pulse::app {
namespace {

// Sent to connections over --max-connections: short, final, and needs no parsing.
constexpr std::string_view kBusyResponse =
    "HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\nContent-Type: text/plain; charset=utf-8\r\n"
    "Content-Length: 20\r\nConnection: close\r\n\r\nserver at capacity.\n";
// Accepts per readiness event before letting the loop serve other events (and, the socket being
// level-triggered, leaving the rest of a burst to whichever worker wakes next).
constexpr int kMaxAcceptsPerEvent = 64;
// One wake-up per connection for one of the workers waiting, not a thundering herd.
constexpr std::uint32_t kListenEvents = EPOLLIN | EPOLLEXCLUSIVE;

}  // namespace

Acceptor::Acceptor(net::EventLoop& loop, base::UniqueFd listen_fd, std::size_t max_connections,
                   http::ServerStats& stats, OnAccept on_accept)
    : loop_(loop),
      listen_fd_(std::move(listen_fd)),
      spare_fd_(::open("/dev/null", O_RDONLY | O_CLOEXEC)),
      max_connections_(max_connections),
      stats_(stats),
      on_accept_(std::move(on_accept)) {}

Acceptor::~Acceptor() = default;

void Acceptor::start() {
  loop_.add(listen_fd_.get(), kListenEvents, this);
  listening_ = true;
}

void Acceptor::stop() {
  if (!listening_) return;
  listening_ = false;
  if (!paused_) loop_.remove(listen_fd_.get());
  listen_fd_.reset();
}

void Acceptor::handle_events(std::uint32_t) {
  for (int i = 0; i < kMaxAcceptsPerEvent && listening_; ++i) {
    net::SocketAddress peer;
    peer.length = sizeof peer.storage;
    base::UniqueFd fd(::accept4(listen_fd_.get(), reinterpret_cast<sockaddr*>(&peer.storage), &peer.length,
                                SOCK_NONBLOCK | SOCK_CLOEXEC));
    if (!fd) {
      const int error = errno;
      if (error == EAGAIN || error == EWOULDBLOCK) return;
      if (is_per_connection_error(error)) continue;  // that connection is gone; the next may be fine
      if (error == EMFILE || error == ENFILE) {
        // accept4 fails for want of a descriptor even with nobody waiting: stop at the first
        // shed attempt that finds no connection, and count only connections really shed.
        const Shed shed = shed_one_connection(error);
        if (shed == Shed::kShed) continue;
        if (shed == Shed::kNoneWaiting) return;
      }
      // Out of descriptors with no spare, or out of memory: the listening socket stays readable,
      // so stop watching it for a moment instead of spinning.
      base::log_error({.action = "accepting connections"}, "accept4: {}; pausing accepts for {} ms",
                      std::system_category().message(error), kAcceptPause.count());
      pause_accepting();
      return;
    }
    if (static_cast<std::size_t>(stats_.open_connections()) >= max_connections_) {
      refuse(std::move(fd));
      continue;
    }
    stats_.on_connection_opened();
    // This connection may have arrived while the loop handled the earlier ones (up to 64, each
    // read and answered at once): its timeouts start now, not at the top of the iteration.
    loop_.refresh_now();
    on_accept_(std::move(fd), peer);
  }
}

void Acceptor::refuse(base::UniqueFd fd) {
  stats_.on_connection_refused();
  // Best effort, never blocking: a fresh socket's send buffer takes this easily. Half-close and
  // discard what the client already sent, so that closing does not reset the 503 away.
  (void)::send(fd.get(), kBusyResponse.data(), kBusyResponse.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
  ::shutdown(fd.get(), SHUT_WR);
  char discard[4096];
  while (::recv(fd.get(), discard, sizeof discard, MSG_DONTWAIT) > 0) {
  }
}

Acceptor::Shed Acceptor::shed_one_connection(int error) {
  // Out of descriptors: without this the pending connection keeps the listening socket
  // readable and the loop spins. Free the spare, accept and drop one, take the spare back.
  // A worker may take the freed descriptor first; then there is no spare until one frees up.
  if (!spare_fd_) spare_fd_.reset(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  if (!spare_fd_) return Shed::kNoSpare;
  spare_fd_.reset();
  base::UniqueFd victim(::accept4(listen_fd_.get(), nullptr, nullptr, SOCK_CLOEXEC));
  const bool shed = victim.valid();
  victim.reset();
  spare_fd_.reset(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  if (!shed) return Shed::kNoneWaiting;
  stats_.on_connection_refused();
  ++shed_since_report_;
  // One line per interval, however many are shed: a flood of connections must not become a
  // flood of log lines.
  const auto now = loop_.now();
  if (now - last_shed_report_ >= kShedReportInterval) {
    base::log_error({.action = "accepting connections"},
                    "accept4: {}; closed {} new connection(s) unanswered since the last report",
                    std::system_category().message(error), shed_since_report_);
    shed_since_report_ = 0;
    last_shed_report_ = now;
  }
  return Shed::kShed;
}

bool Acceptor::is_per_connection_error(int error) noexcept {
  // accept(2): errors of the new connection that Linux passes on; they say nothing about us.
  switch (error) {
    case EINTR:
    case ECONNABORTED:
    case EPROTO:
    case ENETDOWN:
    case ENOPROTOOPT:
    case EHOSTDOWN:
    case ENONET:
    case EHOSTUNREACH:
    case EOPNOTSUPP:
    case ENETUNREACH:
    case EPERM: return true;
    default: return false;
  }
}

void Acceptor::pause_accepting() {
  if (!listening_ || paused_) return;
  paused_ = true;
  loop_.remove(listen_fd_.get());
  loop_.timers().schedule(loop_.now() + kAcceptPause, [this] {
    paused_ = false;
    if (listening_) loop_.add(listen_fd_.get(), kListenEvents, this);
  });
}

}  // namespace pulse::app
