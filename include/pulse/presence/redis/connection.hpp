// Connection: one synchronous hiredis connection, its replies copied into plain C++ values.
// Every call blocks the calling thread for at most the command timeout.
//
// Thread affinity: a Connection is used by one thread at a time (the pool hands it out);
// only wake() may be called from another thread, and only while the owner keeps it open.
#pragma once

#include <chrono>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

struct redisContext;  // hiredis; kept out of this header

namespace pulse::presence::redis {

// A value Redis answered with (RESP2).
struct Reply {
  enum class Type : std::uint8_t { kString, kArray, kInteger, kNil, kStatus, kError };

  Type type = Type::kNil;
  std::string text;  // kString, kStatus, kError
  long long integer = 0;
  std::vector<Reply> elements;  // kArray

  [[nodiscard]] bool is_error() const noexcept { return type == Type::kError; }
  [[nodiscard]] bool is_nil() const noexcept { return type == Type::kNil; }
  // The error's code: its first word ("NOSCRIPT", "READONLY", "ERR"); empty when not an error.
  [[nodiscard]] std::string_view error_code() const noexcept;
  // kString or kStatus text; throws ProtocolError for anything else.
  [[nodiscard]] const std::string& as_string() const;
  // kInteger, or a kString holding a decimal integer (what Lua returns for numbers it formatted);
  // nil reads as `if_nil`.
  [[nodiscard]] long long as_integer(long long if_nil = 0) const;
  [[nodiscard]] const std::vector<Reply>& as_array() const;
};

// The connection can no longer be used: refused, timed out, closed, or it spoke nonsense. Its
// what() says which and where.
class ConnectionError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A reply of a shape the caller did not expect (a script and its caller disagreeing): a bug,
// not an outage.
class ProtocolError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct ConnectionTimeouts {
  std::chrono::milliseconds connect{1000};
  std::chrono::milliseconds command{2000};
};

using Command = std::vector<std::string>;

class Connection {
 public:
  // Throw ConnectionError. Also makes sure SIGPIPE is ignored in this process (hiredis writes
  // with write(2), and a Redis that went away must not kill the server).
  [[nodiscard]] static Connection connect_tcp(const std::string& host, std::uint16_t port,
                                              const ConnectionTimeouts& timeouts);
  [[nodiscard]] static Connection connect_unix(const std::string& path, const ConnectionTimeouts& timeouts);

  Connection(Connection&&) noexcept;
  Connection& operator=(Connection&&) noexcept;
  ~Connection();

  // One command, one reply. An error reply is returned (Reply::is_error()); a failure of the
  // connection throws ConnectionError and leaves this object broken().
  Reply command(const Command& args);
  Reply command(std::initializer_list<std::string_view> args);
  // Several commands sent at once, their replies in order: one round trip.
  std::vector<Reply> pipeline(const std::vector<Command>& commands);

  // Bounds the next commands' waits (a blocking XREAD needs longer than its BLOCK time).
  void set_command_timeout(std::chrono::milliseconds timeout);
  [[nodiscard]] bool broken() const noexcept { return broken_; }
  // Where this connection goes, for messages: "127.0.0.1:6379", "/run/redis.sock".
  [[nodiscard]] const std::string& peer() const noexcept { return peer_; }

  // Any thread: makes a blocked command on this connection fail at once (shutdown(2) of the
  // socket). The owner must not close the connection meanwhile.
  void wake() noexcept;

 private:
  struct ContextDeleter {
    void operator()(redisContext* context) const noexcept;
  };
  Connection(std::unique_ptr<redisContext, ContextDeleter> context, std::string peer, const ConnectionTimeouts& t);
  [[noreturn]] void fail(std::string_view while_doing);

  std::unique_ptr<redisContext, ContextDeleter> context_;
  std::string peer_;
  bool broken_ = false;
};

}  // namespace pulse::presence::redis
