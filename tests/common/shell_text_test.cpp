// Shell words and script-safe text: shell_quote gives back, through a real /bin/sh and bash,
// exactly the text it was given, whatever it holds (quotes, $(...), backticks, globs, line
// breaks); control_character_problem names the first control character, so a value that must
// stay on its line is refused with one line.
#include "common/shell_text.h"

#include <gtest/gtest.h>

#include <string>

#include "common/subprocess.h"

namespace gt {
namespace {

TEST(ShellText, PlainWordsStayUnquoted) {
  EXPECT_EQ(shell_quote("fp32"), "fp32");
  EXPECT_EQ(shell_quote("/a/b-c_d.e:f=g,h+i@j%k"), "/a/b-c_d.e:f=g,h+i@j%k");
  EXPECT_EQ(shell_quote(""), "''");
  EXPECT_EQ(shell_quote("it's"), "'it'\\''s'");
}

TEST(ShellText, EveryValueComesBackWhole) {
  for (const std::string v :
       {"x; touch pwned", "$(touch pwned)", "`touch pwned`", "a'b\"c", "*", "line\nbreak",
        "#comment", "${HOME}", "back\\slash", "'", "''", " lead and trail "}) {
    for (const char* shell : {"/bin/sh", "bash"}) {
      auto r = testing::run_process({shell, "-c", "printf '%s' " + shell_quote(v)});
      EXPECT_EQ(r.code, 0) << v;
      EXPECT_EQ(r.out, v) << shell;
    }
  }
}

TEST(ShellText, ControlCharactersAreNamed) {
  EXPECT_FALSE(control_character_problem("ordinary text, caf\xC3\xA9 & $(x)"));
  EXPECT_EQ(*control_character_problem("a\nb"),
            "contains a control character (byte 0x0A, a line break)");
  EXPECT_EQ(*control_character_problem("a\rb"),
            "contains a control character (byte 0x0D, a carriage return)");
  EXPECT_EQ(*control_character_problem(std::string("a\0b", 3)),
            "contains a control character (byte 0x00, a NUL)");
  EXPECT_EQ(*control_character_problem("\x1b[31m"), "contains a control character (byte 0x1B)");
  EXPECT_EQ(*control_character_problem("del\x7f"), "contains a control character (byte 0x7F)");
}

}  // namespace
}  // namespace gt
