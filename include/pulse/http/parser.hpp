// RequestParser: llhttp glue. Turns bytes into Requests one message at a time, enforcing the
// protocol limits; pure (no I/O), so tests and fuzzers drive it byte by byte.
#pragma once

#include <llhttp.h>

#include <cstddef>
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
  static int on_url(llhttp_t* parser, const char* at, std::size_t length);
  static int on_header_field(llhttp_t* parser, const char* at, std::size_t length);
  static int on_header_value(llhttp_t* parser, const char* at, std::size_t length);
  static int on_headers_complete(llhttp_t* parser);
  static int on_body(llhttp_t* parser, const char* at, std::size_t length);
  static int on_message_complete(llhttp_t* parser);

  // Records a limit or semantic error raised from a callback; the callback returns HPE_USER.
  int fail(int status, std::string reason);
  int check_header_bytes(std::size_t added);
  int validate_headers();
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
  std::size_t header_bytes_ = 0;
  int error_status_ = 0;
  std::string error_reason_;
};

}  // namespace pulse::http
