// The UTF-8 sanitiser: valid text passes unchanged, each invalid byte (stray continuation
// bytes, overlong forms, surrogates, code points above U+10FFFF, truncated sequences) becomes
// U+FFFD, and a cut never splits a character. Checked against nlohmann::json, which refuses
// invalid UTF-8 when it serialises (the crash the sanitiser exists to prevent).
#include "common/utf8.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace gt {
namespace {

const std::string kBad = "\xEF\xBF\xBD";  // U+FFFD

TEST(Utf8, ValidTextIsUnchanged) {
  for (const std::string& t :
       std::vector<std::string>{"", "plain", "caf\xC3\xA9", "\xE2\x82\xAC 5", "\xF0\x9F\x98\x80",
                                std::string("nul\0inside", 10)}) {
    EXPECT_TRUE(is_valid_utf8(t)) << t;
    EXPECT_EQ(valid_utf8(t), t);
  }
}

TEST(Utf8, InvalidBytesBecomeReplacementCharacters) {
  EXPECT_EQ(valid_utf8("a\xFF"
                       "b"),
            "a" + kBad + "b");
  EXPECT_EQ(valid_utf8("\x80\x80"), kBad + kBad);                        // stray continuation bytes
  EXPECT_EQ(valid_utf8("\xC0\xAF"), kBad + kBad);                        // overlong '/'
  EXPECT_EQ(valid_utf8("\xE0\x80\xAF"), kBad + kBad + kBad);             // overlong, three bytes
  EXPECT_EQ(valid_utf8("\xED\xA0\x80"), kBad + kBad + kBad);             // a UTF-16 surrogate
  EXPECT_EQ(valid_utf8("\xF4\x90\x80\x80"), kBad + kBad + kBad + kBad);  // above U+10FFFF
  EXPECT_EQ(valid_utf8("x\xC3"), "x" + kBad);                            // cut short at the end
  EXPECT_EQ(valid_utf8("\xC3(\xA9"), kBad + "(" + kBad);  // a character broken in two
  for (const std::string t : {"a\xFF", "\xC0\xAF", "\xED\xA0\x80", "x\xC3"}) {
    EXPECT_FALSE(is_valid_utf8(t));
    EXPECT_TRUE(is_valid_utf8(valid_utf8(t)));
    EXPECT_NO_THROW((void)nlohmann::json(valid_utf8(t)).dump());
    EXPECT_THROW((void)nlohmann::json(t).dump(), nlohmann::json::type_error);
  }
}

TEST(Utf8, CutFallsOnACharacterBoundary) {
  const std::string word = "caf\xC3\xA9";  // 5 bytes, the last character 2
  EXPECT_EQ(valid_utf8(word, 5), word);
  EXPECT_EQ(valid_utf8(word, 4), "caf");  // not "caf\xC3"
  EXPECT_EQ(valid_utf8(word, 3), "caf");
  EXPECT_EQ(valid_utf8(word, 0), "");
  EXPECT_EQ(valid_utf8("\xF0\x9F\x98\x80!", 3), "");
  EXPECT_EQ(valid_utf8("ab\xFF", 4), "ab");  // a replacement that would not fit is left out
  // A note quoting 80 bytes of a mark line with 'é' at bytes 79-80.
  const std::string line = std::string(79, 'a') + "\xC3\xA9 begin";
  EXPECT_EQ(valid_utf8(line, 80), std::string(79, 'a'));
}

}  // namespace
}  // namespace gt
