// The mark language (parse_mark_line: channel and stdout forms, names, numbers) and MarkWriter
// (a line reaches the pipe named by GREENTRAIN_MARK_FD; a missing or closed channel is a
// reason, not a crash).
#include "run/marks.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include "common/utf8.h"

namespace gt::run {
namespace {

TEST(Marks, ParsesPhasesAndMetrics) {
  std::string err;
  auto m = parse_mark_line("phase train begin\r", false, err);
  ASSERT_TRUE(m) << err;
  EXPECT_EQ(m->kind, Mark::Kind::phase_begin);
  EXPECT_EQ(m->name, "train");
  m = parse_mark_line("phase epoch_2 end", false, err);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->kind, Mark::Kind::phase_end);
  m = parse_mark_line("metric loss = 0.125", false, err);
  ASSERT_TRUE(m) << err;
  EXPECT_EQ(m->kind, Mark::Kind::metric);
  EXPECT_EQ(m->value, 0.125);
  m = parse_mark_line("greentrain-phase eval begin", true, err);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->name, "eval");
  EXPECT_FALSE(parse_mark_line("epoch 3 loss 0.2", true, err));  // ordinary stdout
  EXPECT_TRUE(err.empty());
  for (const char* bad : {"phase 1x begin", "phase train start", "phase train begin now",
                          "metric a=", "metric a=1e999", "metric a=inf", "metric =3", "metric a=3x",
                          "hello", "phase a-b begin"}) {
    EXPECT_FALSE(parse_mark_line(bad, false, err)) << bad;
    EXPECT_FALSE(err.empty()) << bad;
  }
  EXPECT_FALSE(valid_mark_name(std::string(65, 'a')));
  EXPECT_TRUE(valid_mark_name(std::string(64, 'a')));
}

TEST(Marks, ErrorsQuoteTheLineAsValidUtf8) {
  std::string err;
  // 'é' straddles byte 80, where the note cuts the line; then bytes that are no UTF-8 at all.
  const std::string line = "phase " + std::string(73, 'a') + "\xC3\xA9 begin";
  EXPECT_FALSE(parse_mark_line(line, false, err));
  EXPECT_TRUE(is_valid_utf8(err)) << err;
  EXPECT_NE(err.find("'phase " + std::string(73, 'a') + "'"), std::string::npos) << err;
  EXPECT_FALSE(parse_mark_line("metric \xff\xfe=1", false, err));
  EXPECT_TRUE(is_valid_utf8(err)) << err;
  EXPECT_FALSE(parse_mark_line("\xe9t\xe9 2", false, err));
  EXPECT_TRUE(is_valid_utf8(err)) << err;
}

TEST(Marks, WriterNeedsAnOpenPipe) {
  std::string why;
  unsetenv("GREENTRAIN_MARK_FD");
  EXPECT_FALSE(MarkWriter::from_environment(&why));
  EXPECT_NE(why.find("not inside a metered run"), std::string::npos);
  setenv("GREENTRAIN_MARK_FD", "abc", 1);
  EXPECT_FALSE(MarkWriter::from_environment(&why));
  EXPECT_NE(why.find("not a file descriptor"), std::string::npos);
  setenv("GREENTRAIN_MARK_FD", "987", 1);
  EXPECT_FALSE(MarkWriter::from_environment(&why));
  EXPECT_NE(why.find("not an open pipe"), std::string::npos);
  int p[2];
  ASSERT_EQ(pipe(p), 0);
  setenv("GREENTRAIN_MARK_FD", std::to_string(p[1]).c_str(), 1);
  auto w = MarkWriter::from_environment(&why);
  ASSERT_TRUE(w) << why;
  EXPECT_TRUE(w->phase("train", true));
  EXPECT_TRUE(w->metric("loss", 0.5));
  char buf[128] = {};
  const ssize_t n = read(p[0], buf, sizeof buf - 1);
  EXPECT_EQ(std::string(buf, static_cast<size_t>(n)), "phase train begin\nmetric loss=0.5\n");
  close(p[0]);
  close(p[1]);
  unsetenv("GREENTRAIN_MARK_FD");
}

}  // namespace
}  // namespace gt::run
