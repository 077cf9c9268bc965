// Response plan: RFC 9112 framing choices for one response, then one append into the queue.
#include "pulse/http/response_plan.hpp"

#include <iterator>
#include <optional>
#include <string>
#include <string_view>

#include <fmt/format.h>

#include "pulse/http/serializer.hpp"

namespace pulse::http {

ResponsePlan plan_response(const Request& request, const Response& response, const PlanContext& context) {
  const bool head = request.method == Method::kHead;
  const bool stream = response.stream != nullptr && !head;
  // A 1.0 client cannot read chunked encoding: its stream ends when the connection does.
  const bool chunked = stream && request.version_minor >= 1;
  // Connection may be sent on several lines; together they form one list (RFC 9110 section 5.3).
  const std::string connection_list = request.header_list("Connection");
  const bool body_allowed = !head && !status_has_no_body(response.status);
  return {
      .head = head,
      .stream = stream,
      .chunked = chunked,
      // HEAD of a stream says what GET would: chunked, for a 1.1 client.
      .chunked_header = chunked || (head && response.stream && request.version_minor >= 1),
      .file_body = body_allowed && response.file.has_value() && !stream,
      .memory_body = body_allowed && !response.file.has_value() && !stream,
      .keep_alive = decide_keep_alive({
          .version_minor = request.version_minor,
          .connection = connection_list.empty() ? std::nullopt : std::optional<std::string_view>(connection_list),
          .requests_served = context.requests_served,
          .max_requests = context.max_requests,
          .shutting_down = context.shutting_down,
          .must_close = response.close_connection || (stream && !chunked),
      }),
  };
}

std::uint64_t serialize_response(const ResponsePlan& plan, Response& response, OutputQueue& out) {
  if (plan.memory_body && response.shared_body && response.shared_body->length >= kShareBodiesFromBytes) {
    const SerializeOptions options{.head_request = plan.head,
                                   .chunked = plan.chunked_header,
                                   .connection_header = plan.keep_alive.connection_header};
    out.append_with(0, [&](std::string& tail) { serialize_head(response, options, tail); });
    const std::uint64_t length = response.shared_body->length;
    out.append_shared(std::move(*response.shared_body));
    return length;
  }
  const std::string_view memory = plan.memory_body ? response.body_view() : std::string_view{};
  const SerializeOptions options{.head_request = plan.head,
                                 .chunked = plan.chunked_header,
                                 .connection_header = plan.keep_alive.connection_header};
  out.append_with(memory.size(), [&](std::string& tail) {
    serialize_head(response, options, tail);
    tail += memory;
  });
  if (!plan.file_body) return memory.size();
  const std::uint64_t length = response.file->length;
  out.append_file(std::move(*response.file));
  return length;
}

void append_stream_data(std::string_view data, bool chunked, OutputQueue& out) {
  if (data.empty()) return;  // an empty chunk would end a chunked body
  out.append_with(data.size(), [&](std::string& tail) {
    if (chunked) fmt::format_to(std::back_inserter(tail), "{:x}\r\n", data.size());
    tail += data;
    if (chunked) tail += "\r\n";
  });
}

void append_stream_shared(std::shared_ptr<const std::string> data, bool chunked, OutputQueue& out) {
  if (data == nullptr || data->empty()) return;
  const std::size_t size = data->size();
  if (chunked) out.append(fmt::format("{:x}\r\n", size));
  out.append_shared({std::move(data), 0, size});
  if (chunked) out.append("\r\n");
}

void append_stream_end(bool chunked, OutputQueue& out) {
  if (chunked) out.append("0\r\n\r\n");
}

}  // namespace pulse::http
