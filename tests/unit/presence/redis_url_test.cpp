// The --presence URL parser: every form it takes, and a clear sentence for each it refuses.
#include "pulse/presence/redis_url.hpp"

#include <catch2/catch.hpp>
#include <string>

using pulse::presence::parse_redis_url;
using pulse::presence::RedisHostPort;
using pulse::presence::RedisTransport;
using pulse::presence::RedisUrlError;

namespace {

// The message of the error parsing `text` gives, or "" when it parses.
std::string error_of(const std::string& text) {
  try {
    (void)parse_redis_url(text);
  } catch (const RedisUrlError& error) {
    return error.what();
  }
  return "";
}

}  // namespace

TEST_CASE("redis:// takes a host, a port and a database", "[presence][redis][url]") {
  const auto url = parse_redis_url("redis://10.0.0.5:6380/2");
  CHECK(url.transport == RedisTransport::kTcp);
  REQUIRE(url.hosts.size() == 1);
  CHECK(url.hosts[0] == RedisHostPort{"10.0.0.5", 6380});
  CHECK(url.db == 2);
  CHECK_FALSE(url.password);
  CHECK_FALSE(url.username);

  const auto plain = parse_redis_url("redis://redis");
  CHECK(plain.hosts[0] == RedisHostPort{"redis", 6379});
  CHECK(plain.db == 0);
  CHECK(parse_redis_url("redis://redis/").db == 0);
  CHECK(parse_redis_url("redis://[::1]:7000/1").hosts[0] == RedisHostPort{"::1", 7000});
  CHECK(parse_redis_url("redis://[::1]").hosts[0] == RedisHostPort{"::1", 6379});
}

TEST_CASE("a password, and a user, come before the host", "[presence][redis][url]") {
  const auto url = parse_redis_url("redis://:s3cret@cache:6379/0");
  CHECK(url.password == "s3cret");
  CHECK_FALSE(url.username);
  CHECK(url.hosts[0].host == "cache");

  const auto acl = parse_redis_url("redis://pulse:p%40ss%3Aword@cache");
  CHECK(acl.username == "pulse");
  CHECK(acl.password == "p@ss:word");

  // The last '@' before the path ends the password, so an unencoded '@' in it still works.
  CHECK(parse_redis_url("redis://:a@b@cache").password == "a@b");
}

TEST_CASE("unix:// takes an absolute path and ?db=", "[presence][redis][url]") {
  const auto url = parse_redis_url("unix:///run/redis/redis.sock");
  CHECK(url.transport == RedisTransport::kUnix);
  CHECK(url.unix_path == "/run/redis/redis.sock");
  CHECK(url.db == 0);
  CHECK(parse_redis_url("unix:///tmp/r.sock?db=3").db == 3);
  const auto with_password = parse_redis_url("unix://:pw@/tmp/r.sock");
  CHECK(with_password.password == "pw");
  CHECK(with_password.unix_path == "/tmp/r.sock");
}

TEST_CASE("redis+sentinel:// takes several sentinels and the master's name", "[presence][redis][url]") {
  const auto url = parse_redis_url("redis+sentinel://s1:26379,s2,10.0.0.3:26380/mymaster");
  CHECK(url.transport == RedisTransport::kSentinel);
  REQUIRE(url.hosts.size() == 3);
  CHECK(url.hosts[0] == RedisHostPort{"s1", 26379});
  CHECK(url.hosts[1] == RedisHostPort{"s2", 26379});
  CHECK(url.hosts[2] == RedisHostPort{"10.0.0.3", 26380});
  CHECK(url.master_name == "mymaster");
  CHECK(url.db == 0);
  CHECK(parse_redis_url("redis+sentinel://s1/mymaster/2").db == 2);
  CHECK(parse_redis_url("redis+sentinel://:pw@s1/m").password == "pw");
}

TEST_CASE("refused URLs say what is wrong", "[presence][redis][url]") {
  CHECK_THAT(error_of("http://x"), Catch::Contains("starts with redis://"));
  CHECK_THAT(error_of("rediss://x"), Catch::Contains("TLS"));
  CHECK_THAT(error_of("redis://"), Catch::Contains("host is missing"));
  CHECK_THAT(error_of("redis://host:0"), Catch::Contains("1 to 65535"));
  CHECK_THAT(error_of("redis://host:65536"), Catch::Contains("1 to 65535"));
  CHECK_THAT(error_of("redis://host:port"), Catch::Contains("1 to 65535"));
  CHECK_THAT(error_of("redis://host:"), Catch::Contains("1 to 65535"));
  CHECK_THAT(error_of("redis://:6379"), Catch::Contains("no host"));
  CHECK_THAT(error_of("redis://host/x"), Catch::Contains("database"));
  CHECK_THAT(error_of("redis://host/-1"), Catch::Contains("database"));
  CHECK_THAT(error_of("redis://a,b"), Catch::Contains("redis+sentinel://"));
  CHECK_THAT(error_of("redis://ho st"), Catch::Contains("not a host name"));
  CHECK_THAT(error_of("redis://[::1"), Catch::Contains("never closes"));
  CHECK_THAT(error_of("redis://[xyz]"), Catch::Contains("not an IPv6 address"));
  CHECK_THAT(error_of("redis://user@host"), Catch::Contains("no password"));
  CHECK_THAT(error_of("redis://:@host"), Catch::Contains("password before '@' is empty"));
  CHECK_THAT(error_of("redis://:a%zz@host"), Catch::Contains("two hex digits"));
  CHECK_THAT(error_of("unix://tmp/r.sock"), Catch::Contains("absolute path"));
  CHECK_THAT(error_of("unix:///"), Catch::Contains("needs a path"));
  CHECK_THAT(error_of("unix:///tmp/r.sock?database=1"), Catch::Contains("?db=N"));
  CHECK_THAT(error_of("unix:///tmp/r.sock?db=x"), Catch::Contains("database"));
  CHECK_THAT(error_of("redis+sentinel://s1:26379"), Catch::Contains("master's name"));
  CHECK_THAT(error_of("redis+sentinel://s1:26379/"), Catch::Contains("master's name"));
  CHECK_THAT(error_of("redis+sentinel:///m"), Catch::Contains("at least one sentinel"));
  CHECK_THAT(error_of("redis+sentinel://s1,,s2/m"), Catch::Contains("host is missing"));
  CHECK_THAT(error_of("redis+sentinel://s1/m!"), Catch::Contains("master name"));
}

TEST_CASE("an error never repeats the password, and redacted() hides it", "[presence][redis][url]") {
  CHECK(error_of("redis://:hunter2@host:99999").find("hunter2") == std::string::npos);
  CHECK(error_of("redis://:hunter2%g@host").find("hunter2") == std::string::npos);
  const auto url = parse_redis_url("redis://app:hunter2@cache:6380/1");
  CHECK(url.redacted() == "redis://app:***@cache:6380/1");
  CHECK(parse_redis_url("redis://[::1]:7000").redacted() == "redis://[::1]:7000/0");
  CHECK(parse_redis_url("unix:///tmp/r.sock?db=2").redacted() == "unix:///tmp/r.sock?db=2");
  CHECK(parse_redis_url("redis+sentinel://:pw@a,b:1/m").redacted() == "redis+sentinel://:***@a:26379,b:1/m/0");
}
