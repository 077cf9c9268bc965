// OutputQueue without sockets: a scripted writer accepts, blocks or fails each call, so partial
// writes, coalescing, MSG_MORE before a file, errors and the back-pressure bounds are exact.
#include <catch2/catch.hpp>

#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <deque>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "pulse/http/limits.hpp"
#include "pulse/http/output_queue.hpp"

using pulse::http::FileBody;
using pulse::http::kMaxQueuedResponses;
using pulse::http::kOutputHighWaterBytes;
using pulse::http::OutputQueue;
using pulse::http::OutputWriter;
using pulse::http::WriteOutcome;
using pulse::net::IoResult;

namespace {

constexpr std::size_t kAll = std::numeric_limits<std::size_t>::max();

// What each call does, in order; once the script is used up every call accepts everything.
struct Step {
  enum class Kind { kAccept, kWouldBlock, kFail } kind = Kind::kAccept;
  std::size_t limit = kAll;  // kAccept: at most this many bytes
};

Step accept(std::size_t limit = kAll) {
  return {Step::Kind::kAccept, limit};
}
Step would_block() {
  return {Step::Kind::kWouldBlock};
}
Step fail() {
  return {Step::Kind::kFail};
}

struct Call {
  bool sendfile;
  bool more;            // writev only
  std::size_t buffers;  // writev only: iovecs passed
  std::size_t bytes;    // accepted
};

class ScriptedWriter final : public OutputWriter {
 public:
  std::deque<Step> script;
  std::string received;  // every accepted byte, files included, in order
  std::vector<Call> calls;

  IoResult writev(std::span<const iovec> buffers, bool more) override {
    const Step step = next();
    std::size_t accepted = 0;
    if (step.kind == Step::Kind::kAccept) {
      for (const auto& buffer : buffers) {
        const std::size_t n = std::min(buffer.iov_len, step.limit - accepted);
        received.append(static_cast<const char*>(buffer.iov_base), n);
        accepted += n;
      }
    }
    calls.push_back({false, more, buffers.size(), accepted});
    return result(step, accepted);
  }

  IoResult sendfile(int file_fd, std::uint64_t& offset, std::size_t count) override {
    const Step step = next();
    std::size_t accepted = 0;
    if (step.kind == Step::Kind::kAccept) {
      std::string data(std::min(count, step.limit), '\0');
      const auto got = ::pread(file_fd, data.data(), data.size(), static_cast<off_t>(offset));
      REQUIRE(got >= 0);
      accepted = static_cast<std::size_t>(got);
      received.append(data.data(), accepted);
      offset += accepted;
    }
    calls.push_back({true, false, 0, accepted});
    return result(step, accepted);
  }

 private:
  Step next() {
    if (script.empty()) return accept();
    const Step step = script.front();
    script.pop_front();
    return step;
  }

  static IoResult result(const Step& step, std::size_t accepted) {
    IoResult io;
    io.bytes = accepted;
    io.would_block = step.kind == Step::Kind::kWouldBlock;
    if (step.kind == Step::Kind::kFail) io.error = std::error_code(EPIPE, std::system_category());
    return io;
  }
};

// An in-memory file holding `content`, as a range of all of it.
FileBody file_with(const std::string& content) {
  const int fd = ::memfd_create("output_queue_test", MFD_CLOEXEC);
  REQUIRE(fd >= 0);
  REQUIRE(::write(fd, content.data(), content.size()) == static_cast<ssize_t>(content.size()));
  return {std::make_shared<const pulse::base::UniqueFd>(fd), 0, content.size()};
}

}  // namespace

TEST_CASE("small appends coalesce into one run and leave in one writev", "[output_queue]") {
  OutputQueue queue;
  queue.append("HTTP/1.1 200 OK\r\n\r\n");
  queue.append("one");
  queue.append("two");
  queue.append("");  // nothing to queue
  CHECK(queue.entries() == 1);
  CHECK(queue.bytes() == 25);

  ScriptedWriter writer;
  const auto result = queue.write_to(writer);
  CHECK(result.outcome == WriteOutcome::kDrained);
  CHECK(result.bytes == 25);
  REQUIRE(writer.calls.size() == 1);
  CHECK(writer.calls[0].buffers == 1);
  CHECK_FALSE(writer.calls[0].more);
  CHECK(writer.received == "HTTP/1.1 200 OK\r\n\r\nonetwo");
  CHECK(queue.empty());
  CHECK(queue.bytes() == 0);
}

TEST_CASE("a run is not grown past the coalesce limit, runs are gathered into one writev", "[output_queue]") {
  OutputQueue queue;
  const std::string first(OutputQueue::kCoalesceLimitBytes - 10, 'a');
  queue.append(first);
  queue.append(std::string(10, 'b'));  // exactly at the limit: still coalesced
  CHECK(queue.entries() == 1);
  queue.append("c");  // one byte over
  CHECK(queue.entries() == 2);

  ScriptedWriter writer;
  CHECK(queue.write_to(writer).outcome == WriteOutcome::kDrained);
  REQUIRE(writer.calls.size() == 1);
  CHECK(writer.calls[0].buffers == 2);
  CHECK(writer.received == first + std::string(10, 'b') + "c");
}

TEST_CASE("writev takes at most kMaxIovecs runs, the rest follows in the next call", "[output_queue]") {
  OutputQueue queue;
  std::string expected;
  for (std::size_t i = 0; i < OutputQueue::kMaxIovecs + 1; ++i) {
    const std::string run(OutputQueue::kCoalesceLimitBytes, static_cast<char>('a' + i % 26));
    queue.append(run);
    expected += run;
  }
  CHECK(queue.entries() == OutputQueue::kMaxIovecs + 1);
  ScriptedWriter writer;
  CHECK(queue.write_to(writer).outcome == WriteOutcome::kDrained);
  REQUIRE(writer.calls.size() == 2);
  CHECK(writer.calls[0].buffers == OutputQueue::kMaxIovecs);
  CHECK(writer.calls[1].buffers == 1);
  CHECK(writer.received == expected);
}

TEST_CASE("append_with writes into the tail and counts what it appended", "[output_queue]") {
  OutputQueue queue;
  CHECK(queue.append_with(5, [](std::string& tail) { tail += "head:"; }) == 5);
  CHECK(queue.append_with(4, [](std::string& tail) { tail += "body"; }) == 4);
  CHECK(queue.entries() == 1);
  CHECK(queue.bytes() == 9);
  // Appending nothing leaves no empty run behind, even when a fresh one had to be opened.
  queue.append_file(file_with("F"));
  CHECK(queue.append_with(0, [](std::string&) {}) == 0);
  CHECK(queue.entries() == 2);

  OutputQueue empty;
  CHECK(empty.append_with(0, [](std::string&) {}) == 0);
  CHECK(empty.empty());
}

TEST_CASE("a partial write resumes where it stopped", "[output_queue]") {
  OutputQueue queue;
  queue.append("0123456789");
  queue.append(std::string(OutputQueue::kCoalesceLimitBytes, 'x'));  // a second run
  ScriptedWriter writer;
  writer.script = {accept(3), would_block()};
  auto result = queue.write_to(writer);
  CHECK(result.outcome == WriteOutcome::kWouldBlock);
  CHECK(result.bytes == 3);
  CHECK(queue.bytes() == 7 + OutputQueue::kCoalesceLimitBytes);
  CHECK(queue.entries() == 2);

  // Across the boundary of the first run, then the rest.
  writer.script = {accept(9), accept()};
  result = queue.write_to(writer);
  CHECK(result.outcome == WriteOutcome::kDrained);
  CHECK(result.bytes == 7 + OutputQueue::kCoalesceLimitBytes);
  CHECK(writer.received == "0123456789" + std::string(OutputQueue::kCoalesceLimitBytes, 'x'));
  CHECK(queue.empty());
}

TEST_CASE("would-block writes nothing and keeps everything queued", "[output_queue]") {
  OutputQueue queue;
  queue.append("abc");
  ScriptedWriter writer;
  writer.script = {would_block()};
  const auto result = queue.write_to(writer);
  CHECK(result.outcome == WriteOutcome::kWouldBlock);
  CHECK(result.bytes == 0);
  CHECK(queue.bytes() == 3);
  CHECK(writer.received.empty());
  CHECK(queue.write_to(writer).outcome == WriteOutcome::kDrained);
  CHECK(writer.received == "abc");
}

TEST_CASE("a file after bytes: the bytes say MSG_MORE, the file goes by sendfile", "[output_queue]") {
  OutputQueue queue;
  queue.append("HEAD");
  queue.append_file(file_with("file body"));
  queue.append("NEXT");  // starts a new run: bytes never merge across a file
  CHECK(queue.entries() == 3);
  CHECK(queue.bytes() == 8);  // file ranges are not counted as bytes

  ScriptedWriter writer;
  const auto result = queue.write_to(writer);
  CHECK(result.outcome == WriteOutcome::kDrained);
  CHECK(result.bytes == 17);
  CHECK(writer.received == "HEADfile bodyNEXT");
  REQUIRE(writer.calls.size() == 3);
  CHECK_FALSE(writer.calls[0].sendfile);
  CHECK(writer.calls[0].more);
  CHECK(writer.calls[1].sendfile);
  CHECK_FALSE(writer.calls[2].sendfile);
  CHECK_FALSE(writer.calls[2].more);
}

TEST_CASE("a file range sent in parts advances its offset", "[output_queue]") {
  OutputQueue queue;
  auto file = file_with("0123456789");
  file.offset = 2;
  file.length = 6;  // "234567"
  queue.append_file(file);
  ScriptedWriter writer;
  writer.script = {accept(4), would_block()};
  auto result = queue.write_to(writer);
  CHECK(result.outcome == WriteOutcome::kWouldBlock);
  CHECK(result.bytes == 4);
  CHECK(queue.entries() == 1);
  result = queue.write_to(writer);
  CHECK(result.outcome == WriteOutcome::kDrained);
  CHECK(writer.received == "234567");
}

TEST_CASE("an empty file range is not queued", "[output_queue]") {
  OutputQueue queue;
  auto file = file_with("abc");
  file.length = 0;
  queue.append_file(file);
  CHECK(queue.empty());
}

TEST_CASE("a write error reports the bytes written before it", "[output_queue]") {
  OutputQueue queue;
  queue.append("HEAD");
  queue.append_file(file_with("body"));
  ScriptedWriter writer;
  writer.script = {accept(), fail()};
  const auto result = queue.write_to(writer);
  CHECK(result.outcome == WriteOutcome::kFailed);
  CHECK(result.error == std::error_code(EPIPE, std::system_category()));
  CHECK(result.bytes == 4);

  OutputQueue bytes_only;
  bytes_only.append("abc");
  writer.script = {fail()};
  CHECK(bytes_only.write_to(writer).outcome == WriteOutcome::kFailed);
  CHECK(bytes_only.bytes() == 3);
}

TEST_CASE("a file that shrank under us is reported as truncated", "[output_queue]") {
  OutputQueue queue;
  auto file = file_with("short");
  file.length = 100;  // promised more than the file now holds
  queue.append_file(file);
  ScriptedWriter writer;
  const auto result = queue.write_to(writer);
  CHECK(result.outcome == WriteOutcome::kFileTruncated);
  CHECK_FALSE(result.error);
  CHECK(result.bytes == 5);
  CHECK(writer.received == "short");
}

TEST_CASE("back-pressure on bytes: pause above the high-water mark, resume at half", "[output_queue]") {
  OutputQueue queue;
  queue.append(std::string(kOutputHighWaterBytes, 'x'));
  CHECK_FALSE(queue.update_backpressure());  // at the mark: not over it
  queue.append("y");
  CHECK_FALSE(queue.paused());  // only update_backpressure() moves the pause
  CHECK(queue.update_backpressure());
  CHECK(queue.paused());

  ScriptedWriter writer;
  // Down to half + 1: still paused (hysteresis).
  writer.script = {accept(kOutputHighWaterBytes / 2), would_block()};
  (void)queue.write_to(writer);
  CHECK(queue.bytes() == kOutputHighWaterBytes / 2 + 1);
  CHECK(queue.update_backpressure());
  // Exactly half: resumes.
  writer.script = {accept(1), would_block()};
  (void)queue.write_to(writer);
  CHECK(queue.bytes() == kOutputHighWaterBytes / 2);
  CHECK_FALSE(queue.update_backpressure());
  // Between half and the mark, unpaused stays unpaused.
  queue.append(std::string(kOutputHighWaterBytes / 4, 'z'));
  CHECK_FALSE(queue.update_backpressure());
}

TEST_CASE("back-pressure on queued responses: each file range holds an open file", "[output_queue]") {
  OutputQueue queue;
  auto file = file_with("f");
  for (std::size_t i = 0; i < kMaxQueuedResponses; ++i) queue.append_file(file);
  CHECK_FALSE(queue.update_backpressure());  // at the bound
  queue.append_file(file);
  CHECK(queue.update_backpressure());

  ScriptedWriter writer;
  const auto drain = [&](std::size_t ranges) {
    writer.script.assign(ranges, accept());
    writer.script.push_back(would_block());
    (void)queue.write_to(writer);
  };
  drain(kMaxQueuedResponses / 2);
  CHECK(queue.entries() == kMaxQueuedResponses / 2 + 1);
  CHECK(queue.update_backpressure());
  drain(1);
  CHECK(queue.entries() == kMaxQueuedResponses / 2);
  CHECK_FALSE(queue.update_backpressure());
}

TEST_CASE("resuming needs both bounds at half", "[output_queue]") {
  OutputQueue queue;
  queue.append(std::string(kOutputHighWaterBytes + 1, 'x'));
  CHECK(queue.update_backpressure());
  // Few entries but still many bytes: stays paused.
  CHECK(queue.entries() == 1);
  CHECK(queue.update_backpressure());
  queue.clear();
  CHECK(queue.empty());
  CHECK(queue.bytes() == 0);
  CHECK_FALSE(queue.update_backpressure());
}

TEST_CASE("write outcomes have names for logs", "[output_queue]") {
  CHECK(to_string(WriteOutcome::kDrained) == "drained");
  CHECK(to_string(WriteOutcome::kWouldBlock) == "would block");
  CHECK(to_string(WriteOutcome::kFailed) == "failed");
  CHECK(to_string(WriteOutcome::kFileTruncated) == "file truncated");
}

TEST_CASE("a shared buffer is sent by reference, between owned runs, and counted apart", "[output_queue]") {
  OutputQueue queue;
  auto shared = std::make_shared<const std::string>(std::string(100'000, 's'));
  queue.append("head\r\n\r\n");
  queue.append_shared({shared, 10, 50'000});
  queue.append("tail");  // a fresh owned run after the shared one, never appended into it
  CHECK(queue.bytes() == 8 + 50'000 + 4);
  CHECK(queue.owned_bytes() == 12);
  CHECK(queue.entries() == 3);

  ScriptedWriter writer;
  writer.script = {accept(20), would_block()};  // part of the shared range, then a full socket
  CHECK(queue.write_to(writer).outcome == WriteOutcome::kWouldBlock);
  CHECK(queue.owned_bytes() == 4);  // the head is out; the shared part is not owned anyway
  CHECK(queue.bytes() == 50'000 + 4 - 12);
  CHECK(queue.write_to(writer).outcome == WriteOutcome::kDrained);
  CHECK(writer.received == "head\r\n\r\n" + shared->substr(10, 50'000) + "tail");
  CHECK(writer.calls.front().buffers == 3);  // one writev gathers all three
  CHECK(queue.bytes() == 0);
  CHECK(queue.owned_bytes() == 0);
  CHECK(shared.use_count() == 1);  // the queue let go of it
}

TEST_CASE("a large file goes out a share per call, bytes before it still in the first", "[output_queue]") {
  constexpr std::size_t kShare = OutputQueue::kFileBytesPerWrite;
  std::string content(2 * kShare + 100, '\0');
  for (std::size_t i = 0; i < content.size(); ++i) content[i] = static_cast<char>('a' + i % 26);
  OutputQueue queue;
  queue.append("HEAD");
  queue.append_file(file_with(content));
  queue.append("TAIL");

  ScriptedWriter writer;
  auto result = queue.write_to(writer);  // the socket would take everything: the share stops it
  CHECK(result.outcome == WriteOutcome::kYielded);
  CHECK(result.bytes == 4 + kShare);
  REQUIRE(writer.calls.size() == 2);
  CHECK(writer.calls[1].sendfile);
  CHECK(writer.calls[1].bytes == kShare);

  // A short sendfile inside the share: the rest of the share is asked for at once.
  writer.script = {accept(1000)};
  result = queue.write_to(writer);
  CHECK(result.outcome == WriteOutcome::kYielded);
  CHECK(result.bytes == kShare);
  REQUIRE(writer.calls.size() == 4);
  CHECK(writer.calls[2].bytes == 1000);
  CHECK(writer.calls[3].bytes == kShare - 1000);

  // The last 100 bytes and the bytes behind the file: drained.
  result = queue.write_to(writer);
  CHECK(result.outcome == WriteOutcome::kDrained);
  CHECK(result.bytes == 104);
  CHECK(writer.received == "HEAD" + content + "TAIL");
  CHECK(queue.empty());
}

TEST_CASE("a file that fits its share drains in one call", "[output_queue]") {
  OutputQueue queue;
  queue.append_file(file_with(std::string(OutputQueue::kFileBytesPerWrite, 'z')));
  ScriptedWriter writer;
  const auto result = queue.write_to(writer);
  CHECK(result.outcome == WriteOutcome::kDrained);
  CHECK(result.bytes == OutputQueue::kFileBytesPerWrite);
  CHECK(writer.calls.size() == 1);
}
