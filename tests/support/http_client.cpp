// HttpClient: poll() for deadlines, llhttp (response mode) for framing.
#include "support/http_client.hpp"

#include <llhttp.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <limits>
#include <stdexcept>
#include <system_error>

#include <fmt/format.h>

#include "pulse/base/system_error.hpp"
#include "pulse/net/io.hpp"
#include "pulse/net/socket.hpp"

namespace pulse::test {
namespace {

using SteadyClock = std::chrono::steady_clock;

int remaining_ms(SteadyClock::time_point deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - SteadyClock::now()).count();
  return static_cast<int>(std::clamp<std::int64_t>(left, 0, std::numeric_limits<int>::max()));
}

// Collects one response from llhttp callbacks.
struct ResponseCollector {
  ClientResponse response;
  bool last_was_value = false;
  bool complete = false;
  bool head_request = false;

  static ResponseCollector& of(llhttp_t* p) { return *static_cast<ResponseCollector*>(p->data); }

  static int on_header_field(llhttp_t* p, const char* at, std::size_t n) {
    auto& c = of(p);
    if (c.response.headers.empty() || c.last_was_value) c.response.headers.emplace_back();
    c.last_was_value = false;
    c.response.headers.back().name.append(at, n);
    return 0;
  }
  static int on_header_value(llhttp_t* p, const char* at, std::size_t n) {
    auto& c = of(p);
    c.last_was_value = true;
    c.response.headers.back().value.append(at, n);
    return 0;
  }
  static int on_headers_complete(llhttp_t* p) {
    auto& c = of(p);
    c.response.status = llhttp_get_status_code(p);
    c.response.version_minor = llhttp_get_http_minor(p);
    return c.head_request ? 1 : 0;  // 1: no body follows (HEAD)
  }
  static int on_body(llhttp_t* p, const char* at, std::size_t n) {
    of(p).response.body.append(at, n);
    return 0;
  }
  static int on_message_complete(llhttp_t* p) {
    auto& c = of(p);
    c.complete = true;
    c.response.keep_alive = llhttp_should_keep_alive(p) != 0;
    return HPE_PAUSED;
  }
};

}  // namespace

HttpClient::HttpClient(const std::string& host, std::uint16_t port, std::chrono::milliseconds timeout)
    : host_(host), timeout_(timeout) {
  const auto address = net::resolve_numeric(host, port);
  fd_.reset(::socket(address.storage.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd_) base::throw_last_error("socket");
  if (::connect(fd_.get(), reinterpret_cast<const sockaddr*>(&address.storage), address.length) != 0) {
    if (errno != EINPROGRESS) base::throw_last_error(fmt::format("connect({})", address.to_string()));
    pollfd p{fd_.get(), POLLOUT, 0};
    const int ready =
        ::poll(&p, 1, static_cast<int>(std::clamp<std::int64_t>(timeout.count(), 0, std::numeric_limits<int>::max())));
    if (ready == 0) throw std::system_error(std::make_error_code(std::errc::timed_out), "connect");
    int error = 0;
    socklen_t length = sizeof error;
    ::getsockopt(fd_.get(), SOL_SOCKET, SO_ERROR, &error, &length);
    if (error != 0)
      throw std::system_error(error, std::system_category(), fmt::format("connect({})", address.to_string()));
  }
  net::set_tcp_nodelay(fd_.get());
}

void HttpClient::send_raw(std::string_view bytes) {
  const auto deadline = SteadyClock::now() + timeout_;
  while (!bytes.empty()) {
    const ssize_t n = ::send(fd_.get(), bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n > 0) {
      bytes.remove_prefix(static_cast<std::size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      pollfd p{fd_.get(), POLLOUT, 0};
      if (::poll(&p, 1, remaining_ms(deadline)) == 0) throw std::runtime_error("send: timed out");
      continue;
    }
    base::throw_last_error("send");
  }
}

std::size_t HttpClient::fill(SteadyClock::time_point deadline) {
  for (;;) {
    char chunk[16 * 1024];
    const auto result = net::read_some(fd_.get(), chunk, sizeof chunk);
    if (result.bytes > 0) {
      buffer_.append(chunk, result.bytes);
      return result.bytes;
    }
    if (result.eof) return 0;
    if (!result.ok()) throw std::system_error(result.error, "read");
    pollfd p{fd_.get(), POLLIN, 0};
    if (::poll(&p, 1, remaining_ms(deadline)) == 0) throw std::runtime_error("read: timed out");
  }
}

ClientResponse HttpClient::read_response(bool head_request) {
  const auto deadline = SteadyClock::now() + timeout_;
  llhttp_settings_t settings;
  llhttp_settings_init(&settings);
  settings.on_header_field = &ResponseCollector::on_header_field;
  settings.on_header_value = &ResponseCollector::on_header_value;
  settings.on_headers_complete = &ResponseCollector::on_headers_complete;
  settings.on_body = &ResponseCollector::on_body;
  settings.on_message_complete = &ResponseCollector::on_message_complete;
  llhttp_t parser;
  llhttp_init(&parser, HTTP_RESPONSE, &settings);
  ResponseCollector collector;
  collector.head_request = head_request;
  parser.data = &collector;

  std::size_t parsed = 0;  // bytes of buffer_ already given to llhttp
  for (;;) {
    if (parsed < buffer_.size()) {
      const auto err = llhttp_execute(&parser, buffer_.data() + parsed, buffer_.size() - parsed);
      if (err == HPE_PAUSED) {
        const std::size_t end = static_cast<std::size_t>(llhttp_get_error_pos(&parser) - buffer_.data());
        buffer_.erase(0, end);  // keep what follows: the next pipelined response
        return collector.response;
      }
      if (err != HPE_OK) throw std::runtime_error(fmt::format("malformed response: {}", llhttp_errno_name(err)));
      parsed = buffer_.size();
    }
    if (fill(deadline) == 0) {
      // EOF: completes a response whose body runs to the end of the connection.
      if (llhttp_finish(&parser) == HPE_OK && collector.complete) {
        buffer_.clear();
        collector.response.keep_alive = false;
        return collector.response;
      }
      throw std::runtime_error("connection closed before the response ended");
    }
  }
}

ClientResponse HttpClient::request(std::string_view method, std::string_view target, std::string_view body,
                                   const std::vector<http::Header>& headers) {
  std::string raw = fmt::format("{} {} HTTP/1.1\r\nHost: {}\r\n", method, target, host_);
  for (const auto& h : headers) raw += fmt::format("{}: {}\r\n", h.name, h.value);
  if (!body.empty() || method == "POST" || method == "PUT") raw += fmt::format("Content-Length: {}\r\n", body.size());
  raw += "\r\n";
  raw += body;
  send_raw(raw);
  return read_response(method == "HEAD");
}

bool HttpClient::wait_for_close(std::chrono::milliseconds wait) {
  const auto deadline = SteadyClock::now() + wait;
  try {
    while (SteadyClock::now() < deadline) {
      if (fill(deadline) == 0) return true;
    }
  } catch (const std::system_error&) {
    return true;  // reset: closed too
  } catch (const std::runtime_error&) {
    return false;  // timed out with the connection open
  }
  return false;
}

std::string HttpClient::read_available(std::chrono::milliseconds wait) {
  const auto deadline = SteadyClock::now() + wait;
  try {
    while (SteadyClock::now() < deadline) {
      if (fill(deadline) == 0) break;
    }
  } catch (const std::runtime_error&) {
    // timed out: return what we have
  }
  return std::exchange(buffer_, {});
}

}  // namespace pulse::test
