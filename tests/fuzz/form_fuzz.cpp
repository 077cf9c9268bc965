// libFuzzer driver for the form and query helpers of http/request.hpp: for_each_form_pair,
// percent_decode, split_target, Request::query_param and query_is_well_formed, on any text. The
// pairs put back together are the text; decoding agrees with a reference and inverts encoding;
// a query parameter is the first pair of that (decoded) name.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_support.hpp"
#include "pulse/http/request.hpp"

using pulse::fuzz::require;
using pulse::http::FormPair;

namespace {

int hex(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::optional<std::string> reference_decode(std::string_view in, bool plus_as_space) {
  std::string out;
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (in[i] == '%') {
      if (in.size() - i < 3 || hex(in[i + 1]) < 0 || hex(in[i + 2]) < 0) return std::nullopt;
      out.push_back(static_cast<char>(hex(in[i + 1]) * 16 + hex(in[i + 2])));
      i += 2;
    } else {
      out.push_back(plus_as_space && in[i] == '+' ? ' ' : in[i]);
    }
  }
  return out;
}

// Every byte but the unreserved ones as %XX (RFC 3986 section 2.3).
std::string encode(std::string_view in) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (const char c : in) {
    const auto u = static_cast<unsigned char>(c);
    const bool unreserved = (u >= 'a' && u <= 'z') || (u >= 'A' && u <= 'Z') || (u >= '0' && u <= '9') || u == '-' ||
                            u == '.' || u == '_' || u == '~';
    if (unreserved) {
      out.push_back(c);
    } else {
      out.push_back('%');
      out.push_back(kHex[u >> 4]);
      out.push_back(kHex[u & 0x0f]);
    }
  }
  return out;
}

std::vector<FormPair> pairs_of(std::string_view text) {
  std::vector<FormPair> pairs;
  pulse::http::for_each_form_pair(text, [&](const FormPair& pair) {
    pairs.push_back(pair);
    return true;
  });
  return pairs;
}

void check_pairs(std::string_view text, const std::vector<FormPair>& pairs) {
  std::string joined;
  for (std::size_t i = 0; i < pairs.size(); ++i) {
    const auto& pair = pairs[i];
    require(pair.name.find_first_of("&=") == std::string_view::npos, "a pair's name holds no & or =");
    require(pair.value.find('&') == std::string_view::npos, "a pair's value holds no &");
    require(pair.has_value || pair.value.empty(), "a bare name has an empty value");
    if (i > 0) joined += '&';
    joined.append(pair.name);
    if (pair.has_value) joined.append("=").append(pair.value);
  }
  // "a&&b" has an empty pair between a and b; a trailing '&' adds none.
  const std::string_view expected = text.ends_with('&') ? text.substr(0, text.size() - 1) : text;
  require(joined == expected, "the pairs put back together are the text");

  // Stopping early visits exactly one pair more than the visitor accepted.
  for (std::size_t stop = 0; stop < pairs.size() && stop < 4; ++stop) {
    std::size_t visited = 0;
    pulse::http::for_each_form_pair(text, [&](const FormPair&) { return visited++ < stop; });
    require(visited == stop + 1, "returning false stops the walk");
  }
}

void check_query(std::string_view query, const std::vector<FormPair>& pairs) {
  pulse::http::Request request;
  request.query = std::string(query);
  bool well_formed = true;
  for (const auto& pair : pairs) {
    well_formed = well_formed && reference_decode(pair.name, true) && reference_decode(pair.value, true);
  }
  require(request.query_is_well_formed() == well_formed, "a query is well formed when every pair decodes");

  // Each decoded name is found, with the value of its first pair; a name that is not there is not.
  for (const auto& pair : pairs) {
    const auto name = reference_decode(pair.name, true);
    if (!name) continue;
    std::optional<std::string> expected;
    for (const auto& candidate : pairs) {
      if (reference_decode(candidate.name, true) == name) {
        expected = reference_decode(candidate.value, true);
        break;
      }
    }
    require(request.query_param(*name) == expected, "query_param is the first pair of that name, decoded");
  }
  require(!request.query_param(std::string(query) + "\x01&").has_value(), "a name no pair has is absent");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);

  for (const bool plus : {false, true}) {
    const auto decoded = pulse::http::percent_decode(text, plus);
    require(decoded == reference_decode(text, plus), "percent_decode agrees with the reference");
    require(pulse::http::percent_decode(encode(text), plus) == std::string(text), "decoding inverts encoding");
  }

  const auto pairs = pairs_of(text);
  check_pairs(text, pairs);

  std::string path;
  std::string query;
  pulse::http::split_target(text, path, query);
  require(path.find('?') == std::string::npos, "the path holds no '?'");
  require((text.find('?') == std::string_view::npos ? path : path + "?" + query) == text,
          "path and query put back together are the target");
  check_query(text, pairs);
  return 0;
}
