// HTTP status codes Pulse uses and their reason phrases.
#pragma once

#include <string_view>

namespace pulse::http {

// Reason phrase for a status code ("Not Found"); "Unknown" for codes Pulse never sends.
[[nodiscard]] std::string_view reason_phrase(int status) noexcept;

}  // namespace pulse::http
