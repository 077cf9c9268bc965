// Token files: read with a size limit, split into lines, every token checked and never quoted.
#include "pulse/app/token_file.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <system_error>

#include <fmt/format.h>

#include "pulse/base/unique_fd.hpp"
#include "pulse/http/bearer_auth.hpp"

namespace pulse::app {
namespace {

constexpr std::string_view kWhiteSpace = " \t\r\f\v";

std::string_view trim(std::string_view text) {
  const auto first = text.find_first_not_of(kWhiteSpace);
  if (first == std::string_view::npos) return {};
  const auto last = text.find_last_not_of(kWhiteSpace);
  return text.substr(first, last - first + 1);
}

}  // namespace

std::string token_rule() {
  return fmt::format("1 to {} characters of A-Z a-z 0-9 - . _ ~ + / (and = only at the end)", http::kMaxTokenBytes);
}

bool is_valid_token(std::string_view token) {
  return http::is_b64token(token) && token.size() <= http::kMaxTokenBytes;
}

std::vector<std::string> parse_token_lines(std::string_view text, const std::string& flag, const std::string& path) {
  std::vector<std::string> tokens;
  std::size_t line_number = 0;
  while (!text.empty()) {
    const auto newline = text.find('\n');
    const std::string_view line = trim(text.substr(0, newline));
    text = newline == std::string_view::npos ? std::string_view{} : text.substr(newline + 1);
    ++line_number;
    if (line.empty()) continue;
    if (!is_valid_token(line)) {
      throw ConfigError(
          fmt::format("{}: line {} of '{}' is not a token: use {}", flag, line_number, path, token_rule()));
    }
    tokens.emplace_back(line);
  }
  if (tokens.empty()) throw ConfigError(fmt::format("{}: '{}' holds no token (one a line)", flag, path));
  return tokens;
}

std::vector<std::string> read_token_file(const std::string& flag, const std::string& path) {
  const auto cannot_read = [&](int error) {
    return ConfigError(
        fmt::format("{}: cannot read '{}': {}", flag, path, std::error_code(error, std::generic_category()).message()));
  };
  base::UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) throw cannot_read(errno);
  std::string text;
  std::array<char, 4096> chunk{};
  for (;;) {
    const ssize_t n = ::read(fd.get(), chunk.data(), chunk.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw cannot_read(errno);  // EISDIR for a directory
    if (n == 0) break;
    text.append(chunk.data(), static_cast<std::size_t>(n));
    if (text.size() > kMaxTokenFileBytes) {
      throw ConfigError(fmt::format("{}: '{}' is larger than {} bytes; it should hold one token a line", flag, path,
                                    kMaxTokenFileBytes));
    }
  }
  return parse_token_lines(text, flag, path);
}

}  // namespace pulse::app
