// libFuzzer driver for RequestParser: any bytes, split anywhere, never crash, never consume more
// than given, and every request that comes out has a well-formed target.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "pulse/http/parser.hpp"

namespace {

void require(bool condition) {
  if (!condition) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  pulse::http::Limits limits;
  limits.max_header_bytes = 2048;
  limits.max_uri_bytes = 512;
  limits.max_header_count = 16;
  limits.max_body_bytes = 1024;
  pulse::http::RequestParser parser(limits);
  // The first byte chooses where the input is cut, as two reads would deliver it.
  const std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);
  const std::size_t cut = input.empty() ? 0 : data[0] % (input.size() + 1);
  std::string buffer;
  for (const auto piece : {input.substr(0, cut), input.substr(cut)}) {
    buffer.append(piece);
    for (int guard = 0; guard < 10'000; ++guard) {
      const auto result = parser.feed(buffer);
      require(result.consumed <= buffer.size());
      buffer.erase(0, result.consumed);
      using Event = pulse::http::RequestParser::Event;
      if (result.event == Event::kRequest) {
        const auto request = parser.take_request();
        require(request.path == "*" || (!request.path.empty() && request.path.front() == '/'));
        require(request.body.size() <= limits.max_body_bytes);
        require(request.version_major == 1);
      } else if (result.event == Event::kError) {
        const int status = parser.error_status();
        require(status >= 400 && status < 600);
        return 0;
      } else if (result.event == Event::kNeedMore) {
        break;
      }
    }
  }
  return 0;
}
