// libFuzzer driver for the real Connection over a socketpair: the fuzzer's bytes are what a
// client sends (then it half-closes); the connection must answer and close without crashing,
// leaking or hanging.
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <thread>

#include "pulse/handlers/health.hpp"
#include "pulse/http/connection.hpp"
#include "pulse/http/router.hpp"
#include "pulse/net/event_loop.hpp"

using namespace std::chrono_literals;

namespace {

// Bounds one input's run: far above what any input needs on a loopback socketpair.
constexpr auto kMaxRunTime = 2s;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static pulse::http::Router router = [] {
    pulse::http::Router r;
    r.add_exact("/healthz", std::make_shared<pulse::handlers::Health>());
    return r;
  }();
  static pulse::http::ServerStats stats;

  int fds[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds) != 0) std::abort();
  pulse::base::UniqueFd server_end(fds[0]);
  pulse::base::UniqueFd client_end(fds[1]);

  // A request larger than the socket buffer is cut short: the fuzzer explores the protocol,
  // not bulk transfer.
  const std::size_t n = std::min<std::size_t>(size, 64 * 1024);
  if (n > 0 && ::write(client_end.get(), data, n) < 0) std::abort();
  ::shutdown(client_end.get(), SHUT_WR);

  auto loop = std::make_shared<pulse::net::EventLoop>();
  pulse::http::ConnectionContext context;
  context.loop = loop;
  context.router = &router;
  context.stats = &stats;
  context.limits.max_header_bytes = 4096;
  context.limits.max_body_bytes = 4096;
  context.on_closed = [&](std::uint64_t) { loop->quit(); };
  stats.on_connection_opened();
  auto connection = std::make_shared<pulse::http::Connection>(context, std::move(server_end), "127.0.0.1", 1);
  loop->post([&] {
    connection->start();
    loop->timers().schedule(loop->now() + kMaxRunTime, [&] { std::abort(); });  // a hang is a bug
  });
  // The client reads everything so that the server's writes never block for long.
  std::thread reader([&] {
    char sink[16 * 1024];
    for (;;) {
      const auto got = ::read(client_end.get(), sink, sizeof sink);
      if (got == 0 || (got < 0 && errno != EAGAIN && errno != EINTR)) break;
      if (got < 0) ::usleep(100);
    }
  });
  loop->run();
  connection.reset();
  reader.join();
  return 0;
}
