// CompactString: inline up to 15 bytes, heap beyond, every copy and move keeps the text, and
// assigning a view of itself is safe.
#include "pulse/presence/compact_string.hpp"

#include <catch2/catch.hpp>
#include <string>
#include <utility>
#include <vector>

using pulse::presence::CompactString;

TEST_CASE("short text stays inline, long text goes to the heap at its size", "[presence][compact_string]") {
  CompactString empty;
  CHECK(empty.empty());
  CHECK(empty.view().empty());
  CHECK(empty.heap_bytes() == 0);

  const std::string fifteen(15, 'a');
  CompactString inline_text(fifteen);
  CHECK(inline_text.view() == fifteen);
  CHECK(inline_text.heap_bytes() == 0);

  const std::string sixteen(16, 'b');
  CompactString heap_text(sixteen);
  CHECK(heap_text.view() == sixteen);
  CHECK(heap_text.heap_bytes() == 16);
  CHECK(heap_text.size() == 16);

  heap_text.assign("short");
  CHECK(heap_text.view() == "short");
  CHECK(heap_text.heap_bytes() == 0);
  heap_text.assign(std::string(300, 'c'));
  CHECK(heap_text.view() == std::string(300, 'c'));
  heap_text.assign("");
  CHECK(heap_text.empty());
}

TEST_CASE("copies and moves keep the text", "[presence][compact_string]") {
  for (const std::string& text : {std::string("tiny"), std::string(40, 'x'), std::string()}) {
    INFO(text.size());
    const CompactString original(text);
    CompactString copy = original;
    CHECK(copy == original);
    CHECK(copy.view() == text);
    CompactString moved = std::move(copy);
    CHECK(moved.view() == text);
    CHECK(copy.empty());  // NOLINT(bugprone-use-after-move): a moved-from string is empty
    CompactString assigned("something else entirely, long");
    assigned = moved;
    CHECK(assigned.view() == text);
    assigned = std::move(moved);
    CHECK(assigned.view() == text);
    CHECK(assigned == std::string_view(text));
  }
  std::vector<CompactString> many;
  for (int i = 0; i < 100; ++i) many.emplace_back(std::string(static_cast<std::size_t>(i), 'z'));
  for (int i = 0; i < 100; ++i) CHECK(many[static_cast<std::size_t>(i)].size() == static_cast<std::size_t>(i));
}

TEST_CASE("assigning a view of itself is safe", "[presence][compact_string]") {
  CompactString heap_text(std::string(40, 'q') + "tail");
  heap_text.assign(heap_text.view().substr(30));
  CHECK(heap_text.view() == "qqqqqqqqqqtail");
  CompactString inline_text("abcdef");
  inline_text.assign(inline_text.view().substr(2));
  CHECK(inline_text.view() == "cdef");
  CompactString grows(std::string(20, 'g'));
  grows.assign(grows.view());
  CHECK(grows.view() == std::string(20, 'g'));
}
