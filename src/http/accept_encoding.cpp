// Accept-Encoding: just enough content negotiation to choose between a file and its .gz sibling.
#include "pulse/http/accept_encoding.hpp"

#include "pulse/http/request.hpp"

namespace pulse::http {
namespace {

// weight = OWS ";" OWS "q=" qvalue; qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] ).
// Only "is it zero?" matters here. A malformed weight counts as zero: a coding the client did not
// clearly accept is not sent.
bool weight_is_zero(std::string_view params) noexcept {
  while (!params.empty()) {
    const auto semicolon = params.find(';');
    const std::string_view param = trim_ows(params.substr(0, semicolon));
    params = semicolon == std::string_view::npos ? std::string_view{} : params.substr(semicolon + 1);
    if (param.size() < 2 || !http::iequals(param.substr(0, 2), "q=")) continue;
    const std::string_view q = param.substr(2);
    if (q.empty() || q.size() > 5 || (q.size() > 1 && q[1] != '.')) return true;
    const std::string_view fraction = q.size() > 2 ? q.substr(2) : std::string_view{};
    if (fraction.find_first_not_of("0123456789") != std::string_view::npos) return true;
    if (q[0] == '1') return fraction.find_first_not_of('0') != std::string_view::npos;  // "1.5" is malformed
    if (q[0] != '0') return true;
    return fraction.find_first_not_of('0') == std::string_view::npos;
  }
  return false;
}

}  // namespace

bool accepts_gzip(std::string_view accept_encoding) noexcept {
  bool gzip_listed = false;
  bool gzip_ok = false;
  bool wildcard_ok = false;
  while (!accept_encoding.empty()) {
    const auto comma = accept_encoding.find(',');
    const std::string_view element = accept_encoding.substr(0, comma);
    accept_encoding = comma == std::string_view::npos ? std::string_view{} : accept_encoding.substr(comma + 1);

    const auto semicolon = element.find(';');
    const std::string_view coding = trim_ows(element.substr(0, semicolon));
    const std::string_view params =
        semicolon == std::string_view::npos ? std::string_view{} : element.substr(semicolon + 1);
    if (http::iequals(coding, "gzip") || http::iequals(coding, "x-gzip")) {
      gzip_listed = true;
      gzip_ok = gzip_ok || !weight_is_zero(params);
    } else if (coding == "*") {
      wildcard_ok = !weight_is_zero(params);
    }
  }
  return gzip_listed ? gzip_ok : wildcard_ok;
}

}  // namespace pulse::http
