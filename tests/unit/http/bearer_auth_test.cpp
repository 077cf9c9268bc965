// Bearer tokens: the b64token grammar, the Authorization header, where a request's token comes
// from, the comparison (equal, same length, prefix, longer, empty, several tokens) and redaction.
#include "pulse/http/bearer_auth.hpp"

#include <catch2/catch.hpp>

#include <stdexcept>
#include <string>
#include <vector>

using namespace pulse::http;

namespace {

Request with_authorization(std::string value, std::string target = "/heartbeat") {
  auto request = Request::make(Method::kPost, std::move(target));
  request.headers.push_back({"Authorization", std::move(value)});
  return request;
}

}  // namespace

TEST_CASE("b64token: the RFC 6750 characters, '=' only at the end", "[bearer]") {
  CHECK(is_b64token("abc"));
  CHECK(is_b64token("A-Za-z0-9._~+/"));
  CHECK(is_b64token("dGVzdA=="));
  CHECK(is_b64token("x="));
  CHECK_FALSE(is_b64token(""));
  CHECK_FALSE(is_b64token("="));
  CHECK_FALSE(is_b64token("a=b"));
  CHECK_FALSE(is_b64token("a b"));
  CHECK_FALSE(is_b64token("a\tb"));
  CHECK_FALSE(is_b64token("a\"b"));
  CHECK_FALSE(is_b64token("a,b"));
  CHECK_FALSE(is_b64token("a!"));
  CHECK_FALSE(is_b64token("\xc3\xa9"));
  CHECK_FALSE(is_b64token(std::string("a\0b", 3)));
}

TEST_CASE("Authorization: Bearer, the scheme in any case", "[bearer]") {
  CHECK(parse_bearer("Bearer abc") == "abc");
  CHECK(parse_bearer("bearer abc") == "abc");
  CHECK(parse_bearer("BEARER abc") == "abc");
  CHECK(parse_bearer("BeArEr abc") == "abc");
  CHECK(parse_bearer("Bearer   abc") == "abc");  // 1*SP
  CHECK(parse_bearer("  Bearer abc  ") == "abc");
  CHECK(parse_bearer("Bearer dGVzdA==") == "dGVzdA==");
  CHECK_FALSE(parse_bearer("Bearer").has_value());
  CHECK_FALSE(parse_bearer("Bearer ").has_value());
  CHECK_FALSE(parse_bearer("Bearerabc").has_value());
  CHECK_FALSE(parse_bearer("Bearer a b").has_value());
  CHECK_FALSE(parse_bearer("Bearer a,b").has_value());
  CHECK_FALSE(parse_bearer("Basic YWxhZGRpbjpvcGVu").has_value());
  CHECK_FALSE(parse_bearer("Token abc").has_value());
  CHECK_FALSE(parse_bearer("").has_value());
}

TEST_CASE("the token a request presents: the header first, else ?token=", "[bearer]") {
  CHECK(presented_token(with_authorization("Bearer from-header")) == "from-header");
  CHECK(presented_token(Request::make(Method::kGet, "/heartbeat/events?token=from-query")) == "from-query");
  CHECK(presented_token(Request::make(Method::kGet, "/heartbeat/events?token=a%2Bb%3D")) == "a+b=");
  // '+' is a space in a query, as in any form: a base64 token with '+' must be %-encoded there.
  CHECK(presented_token(Request::make(Method::kGet, "/x?token=a+b")) == "a b");
  CHECK(presented_token(Request::make(Method::kGet, "/x?token=")) == "");
  CHECK(presented_token(Request::make(Method::kGet, "/x?to%6Ben=encoded-name")) == "encoded-name");
  CHECK_FALSE(presented_token(Request::make(Method::kGet, "/heartbeat")).has_value());
  CHECK_FALSE(presented_token(Request::make(Method::kGet, "/x?tokens=a&xtoken=b")).has_value());
  // A header's bearer token wins over the query.
  CHECK(presented_token(with_authorization("Bearer header", "/x?token=query")) == "header");
  // Another scheme (a proxy's Basic credentials) leaves the query to speak.
  CHECK(presented_token(with_authorization("Basic dTpw", "/x?token=query")) == "query");
  CHECK_FALSE(presented_token(with_authorization("Basic dTpw")).has_value());
  // A malformed bearer credential is presented (and wrong): never "no token", never the query.
  CHECK(presented_token(with_authorization("Bearer", "/x?token=query")) == "");
  CHECK(presented_token(with_authorization("Bearer a b", "/x?token=query")) == "");
}

TEST_CASE("constant_time_equals: equal or not, whatever the lengths", "[bearer]") {
  CHECK(constant_time_equals("s3cret-token", "s3cret-token"));
  CHECK(constant_time_equals("", ""));
  CHECK_FALSE(constant_time_equals("s3cret-token", "s3cret-tokeN"));  // same length, last byte
  CHECK_FALSE(constant_time_equals("s3cret-token", "X3cret-token"));  // same length, first byte
  CHECK_FALSE(constant_time_equals("s3cret-token", "s3cret"));        // a prefix
  CHECK_FALSE(constant_time_equals("s3cret", "s3cret-token"));
  CHECK_FALSE(constant_time_equals("s3cret-token", "s3cret-token-and-more"));  // longer
  CHECK_FALSE(constant_time_equals("s3cret-token", ""));
  CHECK_FALSE(constant_time_equals("", "s3cret-token"));
  // Zero padding is not content: "a" and "a\0" differ by their lengths.
  CHECK_FALSE(constant_time_equals("a", std::string("a\0", 2)));
  const std::string longest(kMaxTokenBytes, 'k');
  CHECK(constant_time_equals(longest, longest));
  CHECK_FALSE(constant_time_equals(longest + "k", longest + "k"));  // past the limit: never equal
}

TEST_CASE("TokenSet: exactly its tokens, from one or several", "[bearer]") {
  const TokenSet one({"s3cret-token"});
  CHECK(one.size() == 1);
  CHECK(one.contains("s3cret-token"));
  CHECK_FALSE(one.contains("s3cret-tokeN"));
  CHECK_FALSE(one.contains("s3cret-toke"));
  CHECK_FALSE(one.contains("s3cret-token2"));
  CHECK_FALSE(one.contains("S3CRET-TOKEN"));  // tokens are case-sensitive, unlike the scheme
  CHECK_FALSE(one.contains(""));
  CHECK_FALSE(one.contains(std::string(kMaxTokenBytes + 1, 's')));
  // Padded with zeros inside, but the length is compared too.
  CHECK_FALSE(one.contains(std::string("s3cret-token\0", 13)));

  // Several, as a token file holds them while one is rotated out: each works, nothing else.
  const TokenSet rotated({"old-token", "new-token", "third"});
  CHECK(rotated.size() == 3);
  CHECK(rotated.contains("old-token"));
  CHECK(rotated.contains("new-token"));
  CHECK(rotated.contains("third"));
  CHECK_FALSE(rotated.contains("old-tokennew-token"));
  CHECK_FALSE(rotated.contains("new"));
  CHECK_FALSE(rotated.contains("thirds"));

  const TokenSet none;
  CHECK(none.empty());
  CHECK_FALSE(none.contains(""));
  CHECK_FALSE(none.contains("anything"));

  const std::string longest(kMaxTokenBytes, 'z');
  CHECK(TokenSet({longest}).contains(longest));
}

TEST_CASE("TokenSet refuses what is not a token, without quoting it", "[bearer]") {
  CHECK_THROWS_AS(TokenSet({""}), std::invalid_argument);
  CHECK_THROWS_AS(TokenSet({"has space"}), std::invalid_argument);
  CHECK_THROWS_AS(TokenSet({std::string(kMaxTokenBytes + 1, 'a')}), std::invalid_argument);
  CHECK_THROWS_AS(TokenSet(std::vector<std::string>(kMaxTokensPerSet + 1, "t")), std::invalid_argument);
  try {
    (void)TokenSet({"good", "bad secret"});
    FAIL("no exception");
  } catch (const std::invalid_argument& e) {
    const std::string message = e.what();
    CHECK(message.find("token 2") != std::string::npos);
    CHECK(message.find("secret") == std::string::npos);
  }
}

TEST_CASE("redact_token_parameter keeps every byte but the token's", "[bearer]") {
  CHECK_FALSE(redact_token_parameter("/heartbeat/events").has_value());
  CHECK_FALSE(redact_token_parameter("/heartbeat?state=up&prefix=web-").has_value());
  CHECK_FALSE(redact_token_parameter("/x?token=").has_value());  // nothing secret in it
  CHECK(redact_token_parameter("/heartbeat/events?token=s3cret") == "/heartbeat/events?token=REDACTED");
  CHECK(redact_token_parameter("/heartbeat/a?interval=5&token=s3cret&msg=hi") ==
        "/heartbeat/a?interval=5&token=REDACTED&msg=hi");
  CHECK(redact_token_parameter("/x?token=a&token=b&") == "/x?token=REDACTED&token=REDACTED&");
  CHECK(redact_token_parameter("/x?to%6Ben=s3cret") == "/x?to%6Ben=REDACTED");
  CHECK(redact_token_parameter("/x?tokens=keep&token=s3cret") == "/x?tokens=keep&token=REDACTED");
}
