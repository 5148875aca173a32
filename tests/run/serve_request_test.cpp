// The `meter --serve` request parser: the three verbs with and without the client's instant,
// every malformed form refused with one line, a line over the length limit refused whole, and
// what an error quotes of the line escaped (NUL, control characters, invalid UTF-8) so a reply
// is always one line of valid UTF-8.
#include "run/serve_request.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/utf8.h"

namespace gt::run {
namespace {

TEST(ServeRequest, ParsesTheThreeVerbs) {
  std::string err;
  auto r = parse_serve_request("begin epoch_1", err);
  ASSERT_TRUE(r) << err;
  EXPECT_EQ(r->verb, ServeRequest::Verb::begin);
  EXPECT_EQ(r->name, "epoch_1");
  EXPECT_FALSE(r->t_s);
  r = parse_serve_request("end epoch_1 1234.500000001\r", err);
  ASSERT_TRUE(r) << err;
  EXPECT_EQ(r->verb, ServeRequest::Verb::end);
  EXPECT_DOUBLE_EQ(*r->t_s, 1234.500000001);
  r = parse_serve_request("begin a 7", err);
  ASSERT_TRUE(r) << err;
  EXPECT_DOUBLE_EQ(*r->t_s, 7);
  r = parse_serve_request("quit", err);
  ASSERT_TRUE(r) << err;
  EXPECT_EQ(r->verb, ServeRequest::Verb::quit);
  // The longest valid request fits the limit.
  const std::string longest = "begin " + std::string(64, 'a') + " 123456789012.123456789012";
  EXPECT_LE(longest.size(), kMaxServeRequestBytes);
  EXPECT_TRUE(parse_serve_request(longest, err)) << err;
}

TEST(ServeRequest, MalformedLinesAreOneLineErrors) {
  std::string err;
  for (const std::string& bad : std::vector<std::string>{"",
                                                         "begin",
                                                         "begin ",
                                                         "begin a ",
                                                         "begin  a",
                                                         "begin a  1",
                                                         "start a",
                                                         "BEGIN a",
                                                         "begin 1a",
                                                         "begin a-b",
                                                         "begin a 1 2",
                                                         "begin a -1",
                                                         "begin a 1e3",
                                                         "begin a .5",
                                                         "begin a 5.",
                                                         "begin a 1234567890123",
                                                         "begin a 1.1234567890123",
                                                         "quit now",
                                                         " quit",
                                                         "begin " + std::string(65, 'a')}) {
    EXPECT_FALSE(parse_serve_request(bad, err)) << bad;
    EXPECT_EQ(err.find('\n'), std::string::npos) << bad;
    EXPECT_NE(err.find("expected window ID NAME T0 T1, begin NAME [T], end NAME [T] or quit"),
              std::string::npos)
        << err;
  }
}

TEST(ServeRequest, TooLongLinesAreRefusedWhole) {
  std::string err;
  const std::string line = "begin " + std::string(kMaxServeRequestBytes, 'a');
  EXPECT_FALSE(parse_serve_request(line, err));
  EXPECT_NE(err.find("at most 256 bytes"), std::string::npos) << err;
  EXPECT_LT(err.size(), 200u);  // the line itself is not echoed
}

TEST(ServeRequest, EchoedTextIsEscaped) {
  std::string err;
  const char text[] = "bogus \0\x1b[2J\xff\xfe \"quoted\" \xC3";
  const std::string hostile(text, sizeof text - 1);  // the NUL included
  EXPECT_FALSE(parse_serve_request(hostile, err));
  EXPECT_TRUE(is_valid_utf8(err)) << err;
  EXPECT_EQ(err.find('\0'), std::string::npos);
  EXPECT_EQ(err.find('\x1b'), std::string::npos);
  EXPECT_NE(err.find(R"(\u0000\u001b[2J)"), std::string::npos) << err;
  EXPECT_NE(err.find(R"(\"quoted\")"), std::string::npos) << err;
  // The quote is a JSON string, at most 80 bytes of the line.
  const auto open = err.find('"');
  const auto close = err.find(": expected");
  const auto quoted = nlohmann::json::parse(err.substr(open, close - open));
  EXPECT_LE(quoted.get<std::string>().size(), 80u);
  EXPECT_EQ(quote_for_reply(std::string(200, 'x')).size(), 82u);
}

}  // namespace
}  // namespace gt::run
