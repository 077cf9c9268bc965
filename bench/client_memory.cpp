// bench_client_memory: what one client costs the memory store, measured with glibc's
// mallinfo2() around filling a registry with 100,000 clients (issue 11: 512 bytes or less,
// history included). Prints a Markdown table; `--clients N` changes the count. A measurement,
// not a test: it asserts nothing, and ctest never runs it.
#include <malloc.h>

#include <fmt/format.h>

#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "pulse/presence/presence_registry.hpp"

namespace {

using namespace std::chrono_literals;
using pulse::presence::BeatRequest;
using pulse::presence::Health;
using pulse::presence::ManualClock;
using pulse::presence::PresenceRegistry;
using pulse::presence::RegistryOptions;
using pulse::presence::Signal;

// Bytes the allocator has handed out, headers included: the heap arenas and mmapped blocks.
std::size_t heap_in_use() {
  const struct mallinfo2 info = ::mallinfo2();
  return info.uordblks + info.hblkhd;
}

struct Scenario {
  std::string_view name;
  std::size_t history_length;
  bool full_history;  // ten entries each (nine changes and a run after the join), or the join only
  std::string_view message;
};

BeatRequest request_of(const std::string& id, Signal signal, std::string_view message) {
  BeatRequest request;
  request.id = id;
  request.signal = signal;
  request.interval = 60s;
  request.message = std::string(message);
  request.remote_addr = "198.51.100.23";
  return request;
}

struct Measured {
  double bytes_per_client = 0;
  PresenceRegistry::MemoryStats stats;
};

Measured measure(const Scenario& scenario, std::size_t clients) {
  auto clock = std::make_shared<ManualClock>();
  RegistryOptions options;
  options.max_clients = clients;
  options.max_beats_per_second = 0;  // the fill beats each id a dozen times in one instant
  options.event_history = 0;         // a fixed cost (at most 1,024 events), not a per-client one
  options.history_length = scenario.history_length;
  options.start_sequence = 0;
  std::vector<std::string> ids;
  ids.reserve(clients);
  for (std::size_t i = 0; i < clients; ++i) ids.push_back(fmt::format("host-{:06}", i));

  const std::size_t before = heap_in_use();
  Measured measured;
  {
    PresenceRegistry registry(options, clock);
    for (const std::string& id : ids) (void)registry.beat(request_of(id, Signal::kBeat, scenario.message));
    if (scenario.full_history) {
      // Per client: the join, then pause and beat four times (eight changes), then a run that
      // ends failing (a run and a change): ten entries, and the client ends up failing, filed
      // in the deadline index like any live client.
      for (int round = 0; round < 4; ++round) {
        clock->advance(1s);
        for (const std::string& id : ids) {
          (void)registry.beat(request_of(id, Signal::kPause, {}));
          (void)registry.beat(request_of(id, Signal::kBeat, scenario.message));
        }
      }
      clock->advance(1s);
      for (const std::string& id : ids) (void)registry.beat(request_of(id, Signal::kStart, scenario.message));
      clock->advance(1s);
      for (const std::string& id : ids) (void)registry.beat(request_of(id, Signal::kFail, scenario.message));
    }
    measured.bytes_per_client = static_cast<double>(heap_in_use() - before) / static_cast<double>(clients);
    measured.stats = registry.memory_stats();
  }
  return measured;
}

}  // namespace

int main(int argc, char** argv) {
  std::size_t clients = 100'000;
  if (argc == 3 && std::string_view(argv[1]) == "--clients") clients = std::strtoull(argv[2], nullptr, 10);
  if (clients == 0) {
    fmt::print(stderr, "usage: bench_client_memory [--clients N]\n");
    return 2;
  }
  const std::string_view message = "disk 71% used, load 0.42";  // 24 bytes: on the heap
  const std::string_view short_message = "ok";
  const std::vector<Scenario> scenarios{
      {"no history (--heartbeat-history 0)", 0, false, message},
      {"history 10, the join only", 10, false, message},
      {"history 10, full (10 entries)", 10, true, message},
      {"history 10, full, a 2-byte message", 10, true, short_message},
  };
  fmt::print("Memory store, {} clients (ids like host-000123, peer 198.51.100.23), glibc mallinfo2()\n\n", clients);
  fmt::print("| scenario | bytes per client | history entries | history slots |\n|---|---:|---:|---:|\n");
  for (const Scenario& scenario : scenarios) {
    const Measured measured = measure(scenario, clients);
    fmt::print("| {} | {:.0f} | {} | {} |\n", scenario.name, measured.bytes_per_client, measured.stats.history_entries,
               measured.stats.history_slots);
  }
  fmt::print("\nA ClientView (what find() and list() hand out, built on demand) is {} bytes before its strings.\n",
             sizeof(pulse::presence::ClientView));
  return 0;
}
