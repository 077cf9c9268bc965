// libFuzzer driver for accepts_gzip (RFC 9110 section 12.5.3): any Accept-Encoding value. No
// crash; the answer ignores case and codings other than gzip; "gzip" listed plainly is always a
// yes; and the weight of a lone "gzip;q=X" follows the qvalue grammar, checked against a
// reference written from the grammar.
#include <cctype>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_support.hpp"
#include "pulse/http/accept_encoding.hpp"
#include "pulse/http/request.hpp"

using pulse::fuzz::require;
using pulse::http::accepts_gzip;

namespace {

// qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] ); true when it is well formed and
// not zero. A malformed weight counts as zero (accept_encoding.hpp: not clearly accepted).
// `q` is what follows "q=": white space may end the parameter but not start the qvalue.
bool reference_weight_allows(std::string_view q) {
  while (!q.empty() && (q.back() == ' ' || q.back() == '\t')) q.remove_suffix(1);
  if (q.empty() || (q[0] != '0' && q[0] != '1')) return false;
  if (q.size() == 1) return q[0] == '1';
  if (q[1] != '.' || q.size() > 5) return false;
  bool nonzero = false;
  for (const char c : q.substr(2)) {
    if (c < '0' || c > '9') return false;
    if (q[0] == '1' && c != '0') return false;
    nonzero = nonzero || c != '0';
  }
  return q[0] == '1' || nonzero;
}

std::string with_case(std::string_view text, int (*convert)(int)) {
  std::string out(text);
  for (auto& c : out) c = static_cast<char>(convert(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view value(reinterpret_cast<const char*>(data), size);
  const bool accepted = accepts_gzip(value);

  // Codings and parameter names are case-insensitive, and nothing else in the grammar has case.
  require(accepts_gzip(with_case(value, [](int c) { return std::toupper(c); })) == accepted,
          "Accept-Encoding ignores case (upper)");
  require(accepts_gzip(with_case(value, [](int c) { return std::tolower(c); })) == accepted,
          "Accept-Encoding ignores case (lower)");
  // Another coding in front changes nothing.
  require(accepts_gzip("br;q=0.5, " + std::string(value)) == accepted, "another coding is irrelevant");
  // "gzip" with no weight is a yes, whatever else the list says.
  require(accepts_gzip(std::string(value) + ", gzip"), "a plain gzip is accepted");
  require(accepts_gzip("gzip, " + std::string(value)), "a plain gzip first is accepted");

  // The input as the weight of a lone gzip, when it can be one (no list or parameter separator).
  if (value.find_first_of(",;") == std::string_view::npos) {
    require(accepts_gzip("gzip;q=" + std::string(value)) == reference_weight_allows(value),
            "gzip;q=X follows the qvalue grammar");
    require(accepts_gzip("*;q=" + std::string(value)) == reference_weight_allows(value),
            "*;q=X follows the qvalue grammar");
    require(!accepts_gzip("gzip;q=0, *;q=" + std::string(value)), "an explicit gzip;q=0 beats the wildcard");
  }
  return 0;
}
