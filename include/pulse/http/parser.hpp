// RequestParser: llhttp glue. Turns bytes into Requests one message at a time, enforcing the
// protocol limits; pure (no I/O), so tests and fuzzers drive it byte by byte.
#pragma once

#include <llhttp.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "pulse/http/limits.hpp"
#include "pulse/http/request.hpp"

namespace pulse::http {

class RequestParser {
 public:
  enum class Event {
    kNeedMore,        // every byte consumed, no complete message yet
    kRequest,         // a complete request: take_request()
    kExpectContinue,  // headers done with "Expect: 100-continue": answer 100, then feed the rest
    kError,           // malformed or over a limit: error_status(); the connection must close
  };
  struct Result {
    Event event;
    std::size_t consumed;  // bytes of the input used; feed the rest again
  };

  explicit RequestParser(const Limits& limits);
  RequestParser(const RequestParser&) = delete;
  RequestParser& operator=(const RequestParser&) = delete;

  // Parses from the start of `data` and stops at the first event, so pipelined requests come
  // out one at a time and in order.
  [[nodiscard]] Result feed(std::string_view data);

  // The request completed by the last kRequest (moved out).
  [[nodiscard]] Request take_request();
  // After kError: the status to answer (400, 413, 414, 431, 501, 505, ...) and why.
  [[nodiscard]] int error_status() const noexcept { return error_status_; }
  [[nodiscard]] const std::string& error_reason() const noexcept { return error_reason_; }
  // True between the first byte of a request and its end (drives the header timeout).
  [[nodiscard]] bool in_message() const noexcept { return in_message_; }
  [[nodiscard]] bool headers_complete() const noexcept { return headers_complete_; }

 private:
  static int on_message_begin(llhttp_t* parser);
  static int on_method(llhttp_t* parser, const char* at, std::size_t length);
  static int on_url(llhttp_t* parser, const char* at, std::size_t length);
  static int on_version(llhttp_t* parser, const char* at, std::size_t length);
  static int on_header_field(llhttp_t* parser, const char* at, std::size_t length);
  static int on_header_value(llhttp_t* parser, const char* at, std::size_t length);
  static int on_headers_complete(llhttp_t* parser);
  static int on_chunk_extension(llhttp_t* parser, const char* at, std::size_t length);
  static int on_body(llhttp_t* parser, const char* at, std::size_t length);
  static int on_message_complete(llhttp_t* parser);

  // Records a limit or semantic error raised from a callback; the callback returns HPE_USER.
  int fail(int status, std::string reason);
  int check_header_bytes(std::size_t added);
  int validate_headers();
  int validate_transfer_encoding();
  int on_trailer_field(std::size_t length);
  // Where `at` (inside the data of the feed() in progress) lies in the connection's byte stream.
  [[nodiscard]] std::uint64_t offset_of(const char* at) const noexcept {
    return fed_before_ + static_cast<std::uint64_t>(at - feed_data_);
  }
  void remember_tail(std::string_view consumed) noexcept;
  // Collects the method token from the request line as the bytes come, however the reads fall,
  // so that an unknown method is judged on the whole token. Returns whether it is complete.
  bool collect_method(std::string_view data) noexcept;
  // After llhttp refused the method: 501 for a well-formed token, 400 for anything else; nullopt
  // while the token is not complete yet.
  [[nodiscard]] std::optional<int> judge_method() const noexcept;
  // Where a line of the request line or header section ends in a bare LF, if one does.
  [[nodiscard]] std::optional<std::size_t> find_bare_lf(std::string_view data) noexcept;
  int normalize_target();
  Result error_result(llhttp_errno_t err, std::string_view data);

  Limits limits_;
  llhttp_settings_t settings_{};
  llhttp_t parser_{};

  Request request_;
  bool in_message_ = false;
  bool headers_complete_ = false;
  bool last_was_value_ = false;
  bool message_ready_ = false;
  std::size_t header_bytes_ = 0;  // request line, headers, chunk extensions and trailers
  std::size_t trailer_fields_ = 0;
  // Byte offsets in the stream, to hold the request line to single spaces (RFC 9112 section 3).
  std::uint64_t fed_before_ = 0;     // bytes consumed by earlier feed() calls
  const char* feed_data_ = nullptr;  // the data of the feed() in progress
  std::uint64_t method_at_ = 0;
  std::size_t method_bytes_ = 0;
  std::uint64_t target_at_ = 0;
  bool version_seen_ = false;
  bool has_transfer_encoding_ = false;
  // The first word of the current request line, collected before llhttp sees it.
  static constexpr std::size_t kMaxMethodBytes = 32;
  std::string method_token_;
  bool method_complete_ = false;  // a byte that cannot be in a token ended it
  bool method_ended_by_space_ = false;
  bool method_error_pending_ = false;  // llhttp refused it before the token was complete
  std::uint64_t value_end_ = 0;        // where the last header-value span ended: a gap is obs-fold
  // The line-end scan of the header section (llhttp takes a bare LF for CRLF).
  bool head_scanned_ = false;   // the empty line that ends this message's header section was seen
  bool head_has_line_ = false;  // a non-empty line was seen (leading empty lines are skipped)
  std::size_t line_bytes_ = 0;  // bytes of the current line so far
  char last_scanned_ = '\n';
  // The last two bytes consumed: a chunked message must end in CRLF, which llhttp does not check.
  char tail_[2] = {0, 0};
  int error_status_ = 0;
  std::string error_reason_;
};

}  // namespace pulse::http
