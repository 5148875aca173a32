// The mark language (parse_mark_line: channel and stdout forms, names, numbers, the writer's
// instant), the phase book (nesting into sub-phases, per-occurrence metrics, overlapping windows
// as notes, the occurrence cap) and MarkWriter (a line reaches the pipe named by
// GREENTRAIN_MARK_FD with the writer's monotonic instant; a missing or closed channel is a
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
  m = parse_mark_line("phase train end 1234.5", false, err);
  ASSERT_TRUE(m) << err;
  ASSERT_TRUE(m->t_s);
  EXPECT_EQ(*m->t_s, 1234.5);
  EXPECT_FALSE(parse_mark_line("phase train begin", false, err)->t_s);
  for (const char* bad : {"phase train end -1", "phase train end nan", "phase train end 1 2"})
    EXPECT_FALSE(parse_mark_line(bad, false, err)) << bad;
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
  // The phase line carries the writer's CLOCK_MONOTONIC instant.
  const double before = monotonic_now_s();
  std::string got(buf, static_cast<size_t>(n));
  ASSERT_EQ(got.rfind("phase train begin ", 0), 0u) << got;
  const auto nl = got.find('\n');
  std::string err;
  const auto mark = parse_mark_line(got.substr(0, nl), false, err);
  ASSERT_TRUE(mark && mark->t_s) << err;
  EXPECT_LE(*mark->t_s, before);
  EXPECT_GT(*mark->t_s, before - 5);
  EXPECT_EQ(got.substr(nl + 1), "metric loss=0.5\n");
  close(p[0]);
  close(p[1]);
  unsetenv("GREENTRAIN_MARK_FD");
}

Mark begin(const std::string& n) { return {Mark::Kind::phase_begin, n, 0, std::nullopt}; }
Mark end(const std::string& n) { return {Mark::Kind::phase_end, n, 0, std::nullopt}; }
Mark metric(const std::string& n, double v) { return {Mark::Kind::metric, n, v, std::nullopt}; }

TEST(PhaseBook, NestedPhasesBecomeSubPhasesWithTheirMetrics) {
  PhaseBook book;
  book.add(begin("train"), 1.0);
  for (int e = 0; e < 3; ++e) {
    book.add(begin("epoch"), 1.0 + e);
    book.add(metric("val_accuracy", 0.8 + 0.05 * e), 1.5 + e);
    book.add(end("epoch"), 2.0 + e);
  }
  book.add(metric("loss", 0.1), 4.5);
  book.add(end("train"), 5.0);
  book.add(begin("epoch"), 6.0);  // a top-level phase of the same name is another path
  book.add(end("epoch"), 7.0);
  book.finish(8.0);
  EXPECT_TRUE(book.notes().empty()) << book.notes().front();
  ASSERT_EQ(book.spans().size(), 5u);
  for (int e = 0; e < 3; ++e) {
    const PhaseSpan& s = book.spans()[e];
    EXPECT_EQ(s.path(), "train/epoch");
    EXPECT_EQ(s.occurrence, e + 1);
    EXPECT_DOUBLE_EQ(s.t_begin_s, 1.0 + e);
    EXPECT_DOUBLE_EQ(s.t_end_s, 2.0 + e);
    EXPECT_DOUBLE_EQ(s.metrics.at("val_accuracy"), 0.8 + 0.05 * e);
  }
  EXPECT_EQ(book.spans()[3].path(), "train");
  EXPECT_EQ(book.spans()[3].metrics.size(), 1u);  // only what was reported at its own level
  EXPECT_EQ(book.spans()[4].path(), "epoch");
  EXPECT_EQ(book.spans()[4].occurrence, 1);
}

TEST(PhaseBook, OverlapsUnbalancedAndOpenPhasesAreNotes) {
  PhaseBook book;
  book.add(begin("a"), 0);
  book.add(begin("b"), 1);
  book.add(end("a"), 2);  // b began inside a but outlives it: cannot nest
  book.add(end("b"), 3);  // then b has no begin left
  book.add(begin("a"), 4);
  book.add(begin("a"), 5);  // a phase inside itself
  book.add(end("a"), 6);
  book.add(begin("open"), 7);
  book.finish(9);
  std::string all;
  for (const auto& n : book.notes()) all += n + "\n";
  EXPECT_NE(all.find("phase 'a' ended at 2.000 s while 'b'"), std::string::npos) << all;
  EXPECT_NE(all.find("cannot nest"), std::string::npos) << all;
  EXPECT_NE(all.find("phase 'b' ended at 3.000 s without a matching begin"), std::string::npos)
      << all;
  EXPECT_NE(all.find("cannot contain itself"), std::string::npos) << all;
  EXPECT_NE(all.find("phase 'open' began at 7.000 s and never ended"), std::string::npos) << all;
  ASSERT_EQ(book.spans().size(), 2u);
  EXPECT_EQ(book.spans()[0].path(), "a");
  EXPECT_DOUBLE_EQ(book.spans()[0].t_end_s, 2);
  EXPECT_EQ(book.spans()[1].occurrence, 2);
}

TEST(PhaseBook, OccurrencesBeyondTheCapAreCountedInOneNote) {
  PhaseBook book;
  const size_t n = PhaseBook::kMaxOccurrences + 25;
  for (size_t i = 0; i < n; ++i) {
    book.add(begin("step"), double(i));
    book.add(end("step"), double(i) + 0.5);
  }
  book.finish(double(n));
  EXPECT_EQ(book.spans().size(), PhaseBook::kMaxOccurrences);
  ASSERT_EQ(book.notes().size(), 1u);
  EXPECT_NE(book.notes()[0].find("25 phase occurrences"), std::string::npos) << book.notes()[0];
}

}  // namespace
}  // namespace gt::run
