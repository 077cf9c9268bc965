// Accept-Encoding (RFC 9110 section 12.5.3): whether a client takes a gzip-coded representation.
#pragma once

#include <string_view>

namespace pulse::http {

// True when `accept_encoding` allows gzip: "gzip" (or "x-gzip") with a non-zero weight, or "*"
// with a non-zero weight and gzip not listed. "gzip;q=0" refuses it.
[[nodiscard]] bool accepts_gzip(std::string_view accept_encoding) noexcept;

}  // namespace pulse::http
