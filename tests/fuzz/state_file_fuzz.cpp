// libFuzzer driver for the state-file reader: any bytes decode without a crash, an exception or an
// overflow (UBSan); a refused document restores nothing; every client decoded is one the registry
// would accept; every problem is one printable line; and what was decoded saves and loads back
// unchanged.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_set>

#include "fuzz_support.hpp"
#include "pulse/presence/limits.hpp"
#include "pulse/presence/state_file.hpp"
#include "pulse/presence/validation.hpp"

namespace {

using pulse::fuzz::require;
using pulse::presence::ClientView;
using pulse::presence::DecodedState;
using pulse::presence::Time;

// Small, so the client-count and value-count limits are reached by inputs of fuzzer size.
constexpr std::size_t kMaxClients = 64;

// A fixed instant (2026-01-01T00:00:00Z), so a run replays.
Time fixed_now() {
  return Time(std::chrono::seconds(1767225600));
}

bool is_one_printable_line(std::string_view line) {
  for (const char c : line) {
    if (c < 0x20 || c >= 0x7f) return false;
  }
  return !line.empty();
}

void check_client(const ClientView& client) {
  require(!pulse::presence::client_id_error(client.id), "a decoded id is valid");
  require(!pulse::presence::message_error(client.message), "a decoded message is valid");
  require(!pulse::presence::remote_addr_error(client.remote_addr), "a decoded address is valid");
  require(client.interval >= pulse::presence::kMinInterval && client.interval <= pulse::presence::kMaxInterval,
          "a decoded interval is in bounds");
  require(client.grace >= pulse::presence::kMinGrace && client.grace <= pulse::presence::kMaxGrace,
          "a decoded grace is in bounds");
  require(client.down_at == client.next_due + client.grace, "down_at is next_due plus grace");
}

void check_decoded(const DecodedState& decoded) {
  for (const std::string& problem : decoded.problems) {
    require(is_one_printable_line(problem), "a problem is one printable line");
  }
  if (!decoded.usable) {
    require(decoded.clients.empty(), "a refused document restores nothing");
    require(decoded.problems.size() == 1, "a refused document is reported in one line");
    return;
  }
  require(decoded.clients.size() <= kMaxClients, "at most max_clients are decoded");
  require(decoded.problems.size() <= pulse::presence::kMaxReportedEntryProblems + 1, "problem lines are bounded");
  std::unordered_set<std::string_view> ids;
  for (const ClientView& client : decoded.clients) {
    check_client(client);
    require(ids.insert(client.id).second, "decoded ids are unique");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const Time at = fixed_now();
  const DecodedState decoded = pulse::presence::decode_state(input, at, kMaxClients);
  check_decoded(decoded);
  if (!decoded.usable) return 0;

  // What survived is what the next start-up reads back, exactly (times to the millisecond).
  const std::string saved = pulse::presence::encode_state(decoded.clients, at);
  const DecodedState again = pulse::presence::decode_state(saved, at, kMaxClients);
  require(again.usable, "a saved file is usable");
  require(again.problems.empty(), "a saved file has no problems");
  require(again.clients == decoded.clients, "save then load gives the same clients");
  return 0;
}
