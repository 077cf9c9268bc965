// Socket addresses: which count as loopback (the start-up warning about open writes uses it).
#include "pulse/net/socket.hpp"

#include <catch2/catch.hpp>

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
