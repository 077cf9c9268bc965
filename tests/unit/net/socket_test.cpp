// Socket addresses: which count as loopback (the start-up warning about open writes uses it);
// deferred accept on a listening socket.
#include "pulse/net/socket.hpp"

#include <catch2/catch.hpp>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <string>

using pulse::net::resolve_numeric;

TEST_CASE("loopback: 127.0.0.0/8 and ::1, not the wildcard nor a real address", "[net][socket]") {
  for (const std::string host : {"127.0.0.1", "127.255.0.9", "localhost", "::1", "[::1]", "::ffff:127.0.0.1"}) {
    INFO(host);
    CHECK(resolve_numeric(host, 8080).is_loopback());
  }
  for (const std::string host : {"0.0.0.0", "::", "10.0.0.1", "192.168.1.2", "128.0.0.1", "126.255.255.255", "::2",
                                 "fe80::1", "::ffff:10.0.0.1", "2001:db8::1"}) {
    INFO(host);
    CHECK_FALSE(resolve_numeric(host, 8080).is_loopback());
  }
}

namespace {
// A client socket connected (handshake done) to `port` on 127.0.0.1.
pulse::base::UniqueFd connect_to(std::uint16_t port) {
  pulse::base::UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  REQUIRE(fd);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::connect(fd.get(), reinterpret_cast<const sockaddr*>(&address), sizeof address) == 0);
  return fd;
}

bool readable_within(int fd, int ms) {
  pollfd entry{fd, POLLIN, 0};
  return ::poll(&entry, 1, ms) == 1;
}
}  // namespace

TEST_CASE("defer accept: a connection reaches accept() with its first bytes, not at the handshake",
          "[net][socket]") {
  auto listener = pulse::net::listen_tcp(resolve_numeric("127.0.0.1", 0), 16);
  pulse::net::set_defer_accept(listener.get(), std::chrono::seconds(5));
  int seconds = 0;
  socklen_t length = sizeof seconds;
  REQUIRE(::getsockopt(listener.get(), IPPROTO_TCP, TCP_DEFER_ACCEPT, &seconds, &length) == 0);
  CHECK(seconds > 0);
  const auto port = pulse::net::local_address(listener.get()).port();

  const auto silent = connect_to(port);
  CHECK_FALSE(readable_within(listener.get(), 300));  // handshake done, nothing sent: held back
  REQUIRE(::write(silent.get(), "G", 1) == 1);
  CHECK(readable_within(listener.get(), 2000));  // the first byte hands it over
  pulse::base::UniqueFd accepted(::accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC));
  REQUIRE(accepted);
  char byte = 0;
  CHECK(::read(accepted.get(), &byte, 1) == 1);  // and it is there to read at once
  CHECK(byte == 'G');

  pulse::net::set_defer_accept(listener.get(), std::chrono::seconds(0));  // off: at the handshake
  const auto plain = connect_to(port);
  CHECK(readable_within(listener.get(), 2000));
}
