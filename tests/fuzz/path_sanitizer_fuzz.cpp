// libFuzzer driver for the path sanitiser: any input either is refused or yields a canonical path
// beneath the root, and encoding that path and sanitising it again gives it back unchanged.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "pulse/handlers/static/path_sanitizer.hpp"

namespace {

void require(bool condition) {
  if (!condition) std::abort();
}

void check_canonical(std::string_view relative) {
  if (relative.empty()) return;
  require(relative.front() != '/');
  require(relative.back() != '/');
  while (true) {
    const auto slash = relative.find('/');
    const auto segment = relative.substr(0, slash);
    require(!segment.empty() && segment != "." && segment != "..");
    for (const char c : segment) {
      const auto byte = static_cast<unsigned char>(c);
      require(byte >= 0x20 && byte != 0x7f);
    }
    if (slash == std::string_view::npos) break;
    relative.remove_prefix(slash + 1);
  }
}

bool any_hidden(std::string_view relative) {
  while (!relative.empty()) {
    const auto slash = relative.find('/');
    if (pulse::handlers::static_files::is_hidden_name(relative.substr(0, slash))) return true;
    if (slash == std::string_view::npos) break;
    relative.remove_prefix(slash + 1);
  }
  return false;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const auto result = pulse::handlers::static_files::sanitize_path(input);
  if (!result.ok()) {
    require(result.relative.empty());
    return 0;
  }
  check_canonical(result.relative);
  require(result.has_hidden_component == any_hidden(result.relative));

  // What we would put in a Location header must lead back to the same file.
  const auto again =
      pulse::handlers::static_files::sanitize_path("/" + pulse::handlers::static_files::encode_path(result.relative));
  require(again.ok());
  require(again.relative == result.relative);
  require(again.has_hidden_component == result.has_hidden_component);
  return 0;
}
