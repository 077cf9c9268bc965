// RedisStore behind Redis Sentinel: a primary, two replicas and three sentinels started here.
// The primary is killed; beats resume on the new primary without a restart, and no beat that
// was acknowledged (with WAIT for one replica) is lost.
#include <fmt/format.h>

#include <catch2/catch.hpp>
#include <set>
#include <thread>

#include "pulse/presence/redis_store.hpp"
#include "support/redis_server.hpp"

using namespace std::chrono_literals;
using pulse::presence::BeatRequest;
using pulse::presence::RedisStore;
using pulse::presence::RedisStoreOptions;
using pulse::presence::StoreUnavailable;
using pulse::test::RedisSentinelCluster;

namespace {

using Steady = std::chrono::steady_clock;

// Sentinel's down-after (1 s) + election + the replica's resync + the store's back-off (at most 5 s).
constexpr auto kResumeBound = 15s;

BeatRequest beat_of(std::string id) {
  BeatRequest request;
  request.id = std::move(id);
  request.interval = 60s;
  return request;
}

}  // namespace

TEST_CASE("after the primary is killed, beats resume on the new one and nothing acknowledged is lost",
          "[presence][redis][sentinel]") {
  RedisSentinelCluster cluster(2);
  RedisStoreOptions options;
  options.url = pulse::presence::parse_redis_url(cluster.url());
  options.wait_replicas = 1;
  options.wait_timeout = 500ms;
  options.connect_timeout = 300ms;
  options.command_timeout = 1s;
  options.max_beats_per_second = 0;
  RedisStore store(options);
  RedisStore other_replica(options);

  std::set<std::string> acknowledged;
  int next = 0;
  for (; next < 200; ++next) {
    const std::string id = fmt::format("c{}", next);
    REQUIRE(store.beat(beat_of(id)).accepted());
    acknowledged.insert(id);
  }
  const auto old_primary = cluster.primary_port();
  cluster.primary().kill();
  const auto killed_at = Steady::now();

  // Keep beating, as clients would: a 503 is retried.
  std::optional<Steady::duration> resumed_after;
  int refused = 0;
  while (Steady::now() - killed_at < kResumeBound + 5s) {
    const std::string id = fmt::format("c{}", next);
    try {
      if (store.beat(beat_of(id)).accepted()) {
        acknowledged.insert(id);
        ++next;
        if (!resumed_after) resumed_after = Steady::now() - killed_at;
        if (acknowledged.size() >= 300) break;
      }
    } catch (const StoreUnavailable&) {
      ++refused;
      std::this_thread::sleep_for(50ms);
    }
  }
  REQUIRE(resumed_after);
  const auto seconds = std::chrono::duration<double>(*resumed_after).count();
  WARN(fmt::format("beats resumed {:.1f} s after the primary was killed ({} refused meanwhile)", seconds, refused));
  CHECK(*resumed_after < kResumeBound);
  CHECK(cluster.primary_port() != old_primary);
  CHECK(store.health().ready);

  // Every acknowledged beat is on the new primary, as another replica of Pulse sees it.
  std::set<std::string> listed;
  const auto until = Steady::now() + kResumeBound;
  while (Steady::now() < until) {
    try {
      for (const auto& client : other_replica.list({}).clients) listed.insert(client.id);
      break;
    } catch (const StoreUnavailable&) {
      std::this_thread::sleep_for(100ms);
    }
  }
  std::vector<std::string> lost;
  for (const auto& id : acknowledged) {
    if (!listed.contains(id)) lost.push_back(id);
  }
  CHECK(lost.empty());
  CHECK(acknowledged.size() >= 300);
}
