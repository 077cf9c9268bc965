// RedisServer: a redis-server of the test's own, on a free 127.0.0.1 port in a temporary
// directory, stopped (by its pid) when the test ends; never a system service. It can be paused
// (SIGSTOP), resumed, killed and restarted on the same port and directory (an AOF reload).
// RedisSentinelCluster: a primary, a replica and three sentinels, for failover.
#pragma once

#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "pulse/presence/redis/connection.hpp"
#include "pulse/presence/redis_url.hpp"
#include "support/temp_dir.hpp"

extern char** environ;

namespace pulse::test {

using namespace std::chrono_literals;

// A port nobody listens on now: bind port 0, read what the kernel chose, let it go.
inline std::uint16_t free_local_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw std::runtime_error("socket() failed");
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    ::close(fd);
    throw std::runtime_error("cannot find a free port");
  }
  ::close(fd);
  return ntohs(address.sin_port);
}

// One child process started with posix_spawn (safe beside the store's threads), stopped by pid.
class ChildProcess {
 public:
  ChildProcess() = default;
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;
  ~ChildProcess() { stop(); }

  void spawn(const std::vector<std::string>& args, const std::string& output_file) {
    std::vector<char*> argv;
    for (const auto& arg : args) argv.push_back(const_cast<char*>(arg.c_str()));
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, output_file.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
    const int error = ::posix_spawnp(&pid_, argv[0], &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    if (error != 0) throw std::runtime_error("cannot start " + args[0]);
  }

  [[nodiscard]] bool running() {
    if (pid_ <= 0) return false;
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return false;
    }
    return true;
  }
  void signal(int number) const {
    if (pid_ > 0) ::kill(pid_, number);
  }
  // SIGTERM (after SIGCONT, in case it is paused), then SIGKILL after `grace`.
  void stop(std::chrono::milliseconds grace = 5s) {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGCONT);
    ::kill(pid_, SIGTERM);
    if (!wait_exit(grace)) {
      ::kill(pid_, SIGKILL);
      (void)wait_exit(5s);
    }
    pid_ = -1;
  }
  void kill_now() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    (void)wait_exit(5s);
    pid_ = -1;
  }
  [[nodiscard]] pid_t pid() const noexcept { return pid_; }

 private:
  bool wait_exit(std::chrono::milliseconds bound) {
    const auto until = std::chrono::steady_clock::now() + bound;
    while (std::chrono::steady_clock::now() < until) {
      int status = 0;
      const pid_t done = ::waitpid(pid_, &status, WNOHANG);
      if (done == pid_ || done < 0) return true;
      std::this_thread::sleep_for(5ms);
    }
    return false;
  }

  pid_t pid_ = -1;
};

inline std::string file_tail(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  const std::string all = text.str();
  return all.size() > 2000 ? all.substr(all.size() - 2000) : all;
}

struct RedisServerOptions {
  bool append_only = false;  // --appendonly yes (fsync every second), so restart() loses nothing
  std::optional<std::string> password;
  std::optional<std::uint16_t> port;  // default: a free one
  std::vector<std::string> extra_args;
};

class RedisServer {
 public:
  explicit RedisServer(RedisServerOptions options = {})
      : options_(std::move(options)), port_(options_.port.value_or(free_local_port())) {
    start();
  }
  RedisServer(const RedisServer&) = delete;
  RedisServer& operator=(const RedisServer&) = delete;
  ~RedisServer() { process_.stop(); }

  [[nodiscard]] std::uint16_t port() const noexcept { return port_; }
  [[nodiscard]] std::string url() const { return "redis://127.0.0.1:" + std::to_string(port_); }
  [[nodiscard]] presence::RedisUrl parsed_url() const { return presence::parse_redis_url(url()); }
  [[nodiscard]] std::string unix_path() const { return (dir_.path() / "redis.sock").string(); }
  [[nodiscard]] const std::filesystem::path& dir() const noexcept { return dir_.path(); }
  [[nodiscard]] pid_t pid() const noexcept { return process_.pid(); }

  void pause() { process_.signal(SIGSTOP); }
  void resume() { process_.signal(SIGCONT); }
  void kill() { process_.kill_now(); }
  void stop() { process_.stop(); }
  // Stops it (SIGTERM: Redis writes its AOF out) and starts it again on the same port and dir.
  void restart() {
    process_.stop();
    start();
  }
  void start() {
    std::vector<std::string> args{"redis-server",
                                  "--port",
                                  std::to_string(port_),
                                  "--bind",
                                  "127.0.0.1",
                                  "--dir",
                                  dir_.path().string(),
                                  "--unixsocket",
                                  unix_path(),
                                  "--save",
                                  "",
                                  "--appendonly",
                                  options_.append_only ? "yes" : "no",
                                  "--daemonize",
                                  "no",
                                  "--logfile",
                                  "",
                                  "--databases",
                                  "4"};
    if (options_.password) {
      args.push_back("--requirepass");
      args.push_back(*options_.password);
    }
    args.insert(args.end(), options_.extra_args.begin(), options_.extra_args.end());
    process_.spawn(args, log_path().string());
    wait_ready();
  }

  // A connection for the test itself (AUTH'd when a password is set).
  [[nodiscard]] presence::redis::Connection connect() const {
    auto connection = presence::redis::Connection::connect_tcp("127.0.0.1", port_, {1000ms, 2000ms});
    if (options_.password) (void)connection.command({"AUTH", *options_.password});
    return connection;
  }
  presence::redis::Reply command(std::initializer_list<std::string_view> args) const {
    auto connection = connect();
    return connection.command(args);
  }

  [[nodiscard]] std::filesystem::path log_path() const { return dir_.path() / "redis.log"; }

 private:
  void wait_ready() {
    const auto until = std::chrono::steady_clock::now() + 5s;
    while (std::chrono::steady_clock::now() < until) {
      if (!process_.running()) throw std::runtime_error("redis-server exited: " + file_tail(log_path()));
      try {
        auto connection = connect();
        const auto reply = connection.command({"PING"});
        if (reply.text == "PONG") return;
      } catch (const std::exception&) {
        // not listening yet
      }
      std::this_thread::sleep_for(10ms);
    }
    throw std::runtime_error("redis-server did not answer PING within 5 s: " + file_tail(log_path()));
  }

  RedisServerOptions options_;
  TempDir dir_;
  std::uint16_t port_;
  ChildProcess process_;
};

// A primary, `replicas` replicas and three sentinels (quorum 2) watching them as "mymaster",
// each on a free port in a directory of its own. ready() waits until the sentinels know every
// replica and each other, so a failover can happen.
class RedisSentinelCluster {
 public:
  static constexpr const char* kMasterName = "mymaster";
  static constexpr int kSentinels = 3;

  explicit RedisSentinelCluster(int replicas = 2) {
    primary_ = std::make_unique<RedisServer>();
    for (int i = 0; i < replicas; ++i) {
      RedisServerOptions options;
      options.extra_args = {"--replicaof", "127.0.0.1", std::to_string(primary_->port())};
      replicas_.push_back(std::make_unique<RedisServer>(options));
    }
    for (int i = 0; i < kSentinels; ++i) start_sentinel();
    wait_ready(static_cast<std::size_t>(replicas));
  }
  RedisSentinelCluster(const RedisSentinelCluster&) = delete;
  RedisSentinelCluster& operator=(const RedisSentinelCluster&) = delete;
  ~RedisSentinelCluster() {
    for (auto& sentinel : sentinels_) sentinel->process.stop();
  }

  [[nodiscard]] std::string url() const {
    std::string hosts;
    for (const auto& sentinel : sentinels_) {
      if (!hosts.empty()) hosts += ',';
      hosts += "127.0.0.1:" + std::to_string(sentinel->port);
    }
    return "redis+sentinel://" + hosts + "/" + kMasterName;
  }
  [[nodiscard]] RedisServer& primary() { return *primary_; }
  [[nodiscard]] std::vector<std::unique_ptr<RedisServer>>& replicas() { return replicas_; }

  // The port the sentinels now name as the primary's.
  [[nodiscard]] std::uint16_t primary_port() const {
    auto connection = presence::redis::Connection::connect_tcp("127.0.0.1", sentinels_.front()->port, {1000ms, 2000ms});
    const auto reply = connection.command({"SENTINEL", "get-master-addr-by-name", kMasterName});
    return static_cast<std::uint16_t>(reply.elements.at(1).as_integer());
  }

 private:
  struct Sentinel {
    TempDir dir;
    std::uint16_t port = 0;
    ChildProcess process;
  };

  void start_sentinel() {
    auto sentinel = std::make_unique<Sentinel>();
    sentinel->port = free_local_port();
    const auto config = sentinel->dir.write(
        "sentinel.conf", "port " + std::to_string(sentinel->port) + "\nbind 127.0.0.1\ndir " +
                             sentinel->dir.path().string() + "\nsentinel monitor " + kMasterName + " 127.0.0.1 " +
                             std::to_string(primary_->port()) + " 2\nsentinel down-after-milliseconds " + kMasterName +
                             " 1000\nsentinel failover-timeout " + kMasterName + " 10000\nsentinel parallel-syncs " +
                             kMasterName + " 2\n");
    sentinel->process.spawn({"redis-sentinel", config.string()}, (sentinel->dir.path() / "sentinel.log").string());
    sentinels_.push_back(std::move(sentinel));
  }

  static std::string field(const presence::redis::Reply& pairs, std::string_view name) {
    for (std::size_t i = 0; i + 1 < pairs.elements.size(); i += 2) {
      if (pairs.elements[i].text == name) return pairs.elements[i + 1].text;
    }
    return "";
  }

  void wait_ready(std::size_t replicas) {
    const auto until = std::chrono::steady_clock::now() + 30s;
    while (std::chrono::steady_clock::now() < until) {
      bool all = true;
      for (const auto& sentinel : sentinels_) {
        try {
          auto connection = presence::redis::Connection::connect_tcp("127.0.0.1", sentinel->port, {1000ms, 2000ms});
          const auto master = connection.command({"SENTINEL", "master", kMasterName});
          all = all && field(master, "num-slaves") == std::to_string(replicas) &&
                field(master, "num-other-sentinels") == std::to_string(kSentinels - 1);
        } catch (const std::exception&) {
          all = false;
        }
      }
      for (const auto& replica : replicas_) {
        try {
          all =
              all && replica->command({"INFO", "replication"}).text.find("master_link_status:up") != std::string::npos;
        } catch (const std::exception&) {
          all = false;
        }
      }
      if (all) return;
      std::this_thread::sleep_for(50ms);
    }
    throw std::runtime_error(
        "the replicas did not sync, or the sentinels did not find them and each other, within 30 s: " +
        file_tail(sentinels_.front()->dir.path() / "sentinel.log"));
  }

  std::unique_ptr<RedisServer> primary_;
  std::vector<std::unique_ptr<RedisServer>> replicas_;
  std::vector<std::unique_ptr<Sentinel>> sentinels_;
};

}  // namespace pulse::test
