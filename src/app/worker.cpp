// Worker: runs one EventLoop on its own thread and owns the connections it was handed.
#include "pulse/app/worker.hpp"

#include "pulse/base/log.hpp"

#include <exception>
#include <vector>

namespace pulse::app {

Worker::Worker(const http::Router& router, const http::Limits& limits, http::ServerStats& stats, AccessLog* access_log)
    : loop_(std::make_shared<net::EventLoop>()), access_log_(access_log) {
  context_.loop = loop_;
  context_.router = &router;
  context_.limits = limits;
  context_.stats = &stats;
  context_.on_closed = [this](std::uint64_t id) { on_connection_closed(id); };
  if (access_log_ != nullptr) {
    context_.on_access = [this](const http::AccessRecord& record) { record_access(record); };
  }
}

Worker::~Worker() {
  join();
}

void Worker::listen(base::UniqueFd listen_fd, std::size_t max_connections, bool deferred_accept) {
  context_.input_at_accept = deferred_accept;
  acceptor_ = std::make_unique<Acceptor>(*loop_, std::move(listen_fd), max_connections, *context_.stats,
                                         [this](base::UniqueFd fd, const net::SocketAddress& peer) {
                                           add_connection_in_loop(std::move(fd), peer.host());
                                         });
}

void Worker::start() {
  thread_ = std::thread([this] {
    if (access_log_ != nullptr) schedule_log_flush();
    // Queued: the loop belongs to this thread only once it runs.
    if (acceptor_) loop_->post([this] { acceptor_->start(); });
    loop_->run();
    // The loop is over: release connections (and the listening descriptor) on this thread.
    connections_.clear();
    if (acceptor_) acceptor_->stop();
    flush_log();
  });
}

void Worker::join() {
  if (thread_.joinable()) thread_.join();
}

void Worker::add_connection_in_loop(base::UniqueFd fd, std::string remote_addr) {
  loop_->assert_in_loop_thread();
  if (context_.shutting_down) {
    context_.stats->on_connection_closed();
    return;  // accepted just before shutdown: closing it is the polite answer now
  }
  const std::uint64_t id = next_id_++;
  const std::string connection_peer = remote_addr;
  auto connection = std::make_shared<http::Connection>(context_, std::move(fd), std::move(remote_addr), id);
  try {
    connection->start();
  } catch (const std::exception& e) {
    // epoll_ctl can fail (ENOMEM, ENOSPC): drop this connection, keep the worker.
    // start() may have answered (and closed, and counted) the connection before it failed.
    base::log_error({.connection_id = id, .peer = connection_peer, .action = "starting a connection"}, "{}", e.what());
    if (connection->state() != http::ConnectionState::kClosed) context_.stats->on_connection_closed();
    return;
  }
  connections_.emplace(id, connection);
}

void Worker::on_connection_closed(std::uint64_t id) {
  // Deferred: the connection is still on the call stack that closed it.
  loop_->post([this, id] {
    connections_.erase(id);
    maybe_quit();
  });
}

void Worker::stop_accepting() {
  loop_->post([this] {
    if (acceptor_) acceptor_->stop();
  });
}

void Worker::begin_shutdown(std::chrono::milliseconds grace) {
  loop_->post([this, grace] { begin_shutdown_in_loop(grace); });
}

void Worker::begin_shutdown_in_loop(std::chrono::milliseconds grace) {
  loop_->assert_in_loop_thread();
  if (acceptor_) acceptor_->stop();
  context_.shutting_down = true;
  std::vector<std::shared_ptr<http::Connection>> snapshot;
  snapshot.reserve(connections_.size());
  for (const auto& [id, connection] : connections_) snapshot.push_back(connection);
  for (const auto& connection : snapshot) connection->begin_shutdown();
  loop_->timers().schedule(loop_->now() + grace, [this] {
    // Grace period over: whatever is still open is cut.
    std::vector<std::shared_ptr<http::Connection>> left;
    for (const auto& [id, connection] : connections_) left.push_back(connection);
    for (const auto& connection : left) connection->abort();
    flush_log();
    loop_->quit();
  });
  maybe_quit();
}

void Worker::maybe_quit() {
  if (context_.shutting_down && connections_.empty()) {
    flush_log();
    loop_->quit();
  }
}

void Worker::record_access(const http::AccessRecord& record) {
  append_clf_line(record, log_buffer_);
  if (log_buffer_.size() >= kLogFlushBytes) flush_log();
}

void Worker::flush_log() {
  if (access_log_ != nullptr && !log_buffer_.empty()) access_log_->submit(std::exchange(log_buffer_, {}));
}

void Worker::schedule_log_flush() {
  loop_->timers().schedule(loop_->now() + kLogFlushInterval, [this] {
    flush_log();
    schedule_log_flush();
  });
}

}  // namespace pulse::app
