// The hiredis glue: connect with a timeout, send argv commands, copy each reply out of hiredis
// and free it at once, so nothing of hiredis outlives a call.
#include "pulse/presence/redis/connection.hpp"

#include <hiredis.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <fmt/format.h>

#include <charconv>
#include <csignal>
#include <mutex>

namespace pulse::presence::redis {
namespace {

timeval to_timeval(std::chrono::milliseconds duration) {
  const auto micros = std::chrono::duration_cast<std::chrono::microseconds>(duration).count();
  return timeval{static_cast<time_t>(micros / 1'000'000), static_cast<suseconds_t>(micros % 1'000'000)};
}

void ignore_sigpipe_once() {
  static std::once_flag once;
  std::call_once(once, [] {
    // Only when nobody chose otherwise: the server ignores SIGPIPE already (net::ignore_sigpipe).
    struct sigaction current {};
    if (::sigaction(SIGPIPE, nullptr, &current) == 0 && current.sa_handler == SIG_DFL) std::signal(SIGPIPE, SIG_IGN);
  });
}

Reply copy_reply(const redisReply& from) {
  Reply reply;
  switch (from.type) {
    case REDIS_REPLY_STRING: reply.type = Reply::Type::kString; break;
    case REDIS_REPLY_ARRAY: reply.type = Reply::Type::kArray; break;
    case REDIS_REPLY_INTEGER: reply.type = Reply::Type::kInteger; break;
    case REDIS_REPLY_NIL: reply.type = Reply::Type::kNil; break;
    case REDIS_REPLY_STATUS: reply.type = Reply::Type::kStatus; break;
    case REDIS_REPLY_ERROR: reply.type = Reply::Type::kError; break;
    default: throw ProtocolError(fmt::format("redis: a reply of unknown type {}", from.type));
  }
  if (from.type == REDIS_REPLY_STRING || from.type == REDIS_REPLY_STATUS || from.type == REDIS_REPLY_ERROR) {
    reply.text.assign(from.str, from.len);
  }
  reply.integer = from.integer;
  if (from.type == REDIS_REPLY_ARRAY) {
    reply.elements.reserve(from.elements);
    for (std::size_t i = 0; i < from.elements; ++i) reply.elements.push_back(copy_reply(*from.element[i]));
  }
  return reply;
}

struct ReplyDeleter {
  void operator()(void* reply) const noexcept { freeReplyObject(reply); }
};

std::unique_ptr<redisContext, void (*)(redisContext*)> checked_context(redisContext* context, std::string_view peer) {
  std::unique_ptr<redisContext, void (*)(redisContext*)> owned(context, &redisFree);
  if (!owned) throw ConnectionError(fmt::format("redis: out of memory while connecting to {}", peer));
  if (owned->err != 0) throw ConnectionError(fmt::format("redis: {} while connecting to {}", owned->errstr, peer));
  return owned;
}

}  // namespace

std::string_view Reply::error_code() const noexcept {
  if (!is_error()) return {};
  const std::string_view all(text);
  return all.substr(0, all.find(' '));
}

const std::string& Reply::as_string() const {
  if (type != Type::kString && type != Type::kStatus) {
    throw ProtocolError(fmt::format("redis: expected a string, got {}", is_error() ? text : "another type"));
  }
  return text;
}

long long Reply::as_integer(long long if_nil) const {
  if (type == Type::kInteger) return integer;
  if (type == Type::kNil) return if_nil;
  if (type == Type::kString) {
    long long value = 0;
    const char* const end = text.data() + text.size();
    const auto [ptr, ec] = std::from_chars(text.data(), end, value);
    if (ec == std::errc{} && ptr == end) return value;
  }
  throw ProtocolError(fmt::format("redis: expected an integer, got {}", is_error() ? text : "'" + text + "'"));
}

const std::vector<Reply>& Reply::as_array() const {
  if (type != Type::kArray) {
    throw ProtocolError(fmt::format("redis: expected an array, got {}", is_error() ? text : "another type"));
  }
  return elements;
}

void Connection::ContextDeleter::operator()(redisContext* context) const noexcept {
  redisFree(context);
}

Connection::Connection(std::unique_ptr<redisContext, ContextDeleter> context, std::string peer,
                       const ConnectionTimeouts& timeouts)
    : context_(std::move(context)), peer_(std::move(peer)) {
  set_command_timeout(timeouts.command);
}

Connection::Connection(Connection&&) noexcept = default;
Connection& Connection::operator=(Connection&&) noexcept = default;
Connection::~Connection() = default;

Connection Connection::connect_tcp(const std::string& host, std::uint16_t port, const ConnectionTimeouts& timeouts) {
  ignore_sigpipe_once();
  std::string peer =
      host.find(':') != std::string::npos ? fmt::format("[{}]:{}", host, port) : fmt::format("{}:{}", host, port);
  auto context = checked_context(redisConnectWithTimeout(host.c_str(), port, to_timeval(timeouts.connect)), peer);
  // A silent peer (a dead machine, not a refused port) is noticed by the command timeout; keep-alive
  // only catches connections idle in the pool.
  redisEnableKeepAlive(context.get());
  return Connection(std::unique_ptr<redisContext, ContextDeleter>(context.release()), std::move(peer), timeouts);
}

Connection Connection::connect_unix(const std::string& path, const ConnectionTimeouts& timeouts) {
  ignore_sigpipe_once();
  auto context = checked_context(redisConnectUnixWithTimeout(path.c_str(), to_timeval(timeouts.connect)), path);
  return Connection(std::unique_ptr<redisContext, ContextDeleter>(context.release()), path, timeouts);
}

void Connection::set_command_timeout(std::chrono::milliseconds timeout) {
  if (broken_) return;
  if (redisSetTimeout(context_.get(), to_timeval(timeout)) != REDIS_OK) fail("setting the command timeout");
}

void Connection::fail(std::string_view while_doing) {
  broken_ = true;
  const int code = context_->err;
  std::string why = code == 0 ? std::string("unknown error") : std::string(context_->errstr);
  // hiredis reports a receive timeout as EAGAIN's text; say what it means.
  if (code == REDIS_ERR_IO && (why == "Resource temporarily unavailable" || why.empty())) why = "timed out";
  if (code == REDIS_ERR_EOF) why = "connection closed by Redis";
  throw ConnectionError(fmt::format("redis {}: {} while {}", peer_, why, while_doing));
}

Reply Connection::command(const Command& args) {
  return std::move(pipeline({args}).front());
}

Reply Connection::command(std::initializer_list<std::string_view> args) {
  Command owned;
  owned.reserve(args.size());
  for (const auto arg : args) owned.emplace_back(arg);
  return command(owned);
}

std::vector<Reply> Connection::pipeline(const std::vector<Command>& commands) {
  if (broken_) throw ConnectionError(fmt::format("redis {}: the connection already failed", peer_));
  std::vector<const char*> argv;
  std::vector<std::size_t> lengths;
  for (const Command& command : commands) {
    argv.clear();
    lengths.clear();
    for (const std::string& arg : command) {
      argv.push_back(arg.data());
      lengths.push_back(arg.size());
    }
    if (redisAppendCommandArgv(context_.get(), static_cast<int>(argv.size()), argv.data(), lengths.data()) !=
        REDIS_OK) {
      fail("queueing a command");
    }
  }
  std::vector<Reply> replies;
  replies.reserve(commands.size());
  for (const Command& command : commands) {
    void* raw = nullptr;
    if (redisGetReply(context_.get(), &raw) != REDIS_OK || raw == nullptr) {
      fail(fmt::format("waiting for the reply to {}", command.empty() ? "a command" : command.front()));
    }
    const std::unique_ptr<void, ReplyDeleter> owned(raw);
    replies.push_back(copy_reply(*static_cast<const redisReply*>(raw)));
  }
  return replies;
}

void Connection::wake() noexcept {
  if (context_ && context_->fd >= 0) ::shutdown(context_->fd, SHUT_RDWR);
}

}  // namespace pulse::presence::redis
