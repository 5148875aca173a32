// The common CSV reader: RFC 4180 quoting (commas, quotes and line ends inside quotes), CRLF,
// a UTF-8 byte-order mark, blank lines, line numbers of multi-line records, and one-line errors
// for an unterminated quote, text after a closing quote and a repeated header column.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <sstream>

#include "common/csv.h"
#include "common/error.h"

namespace gt::csv {
namespace {
using ::testing::ElementsAre;
using ::testing::HasSubstr;

std::vector<Record> read_all(const std::string& text) {
  std::istringstream in(text);
  Reader r(in, "t.csv");
  std::vector<Record> out;
  Record rec;
  while (r.next(rec)) out.push_back(rec);
  return out;
}

std::string error_of(const std::string& text) {
  try {
    read_all(text);
  } catch (const gt::Error& e) {
    EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos) << e.what();
    return e.what();
  }
  ADD_FAILURE() << "no error for: " << text;
  return "";
}

TEST(CsvReader, BomCrlfAndQuotedFields) {
  const auto rows = read_all("\xEF\xBB\xBFlabel,x\r\n\"1\",\"0.637\"\r\n2, 3 \r\n");
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_THAT(rows[0].fields, ElementsAre("label", "x"));
  EXPECT_THAT(rows[1].fields, ElementsAre("1", "0.637"));
  EXPECT_THAT(rows[2].fields, ElementsAre("2", "3"));  // unquoted cells lose blanks
}

TEST(CsvReader, QuotesKeepCommasQuotesAndLineEnds) {
  const auto rows = read_all("a,b\n\"512,256\",\"say \"\"hi\"\"\"\n\"two\r\nlines\", x\nlast,1\n");
  ASSERT_EQ(rows.size(), 4u);
  EXPECT_THAT(rows[1].fields, ElementsAre("512,256", "say \"hi\""));
  EXPECT_THAT(rows[2].fields, ElementsAre("two\nlines", "x"));
  EXPECT_EQ(rows[2].line, 3);
  EXPECT_EQ(rows[3].line, 5);  // the quoted line end counted
  EXPECT_THAT(rows[3].fields, ElementsAre("last", "1"));
}

TEST(CsvReader, BlankLinesAndEmptyCells) {
  const auto rows = read_all("a,b\n\n,\n\"\",x\n");
  ASSERT_EQ(rows.size(), 4u);
  EXPECT_TRUE(rows[1].blank());
  EXPECT_THAT(rows[2].fields, ElementsAre("", ""));
  EXPECT_THAT(rows[3].fields, ElementsAre("", "x"));
}

TEST(CsvReader, MalformedQuotingIsALineError) {
  EXPECT_THAT(error_of("a,b\n1,\"open\n2,3\n"), HasSubstr("t.csv:2: unterminated quoted field"));
  EXPECT_THAT(error_of("a,b\n\"x\"y,1\n"),
              HasSubstr("t.csv:2: unexpected 'y' after a closing quote"));
}

TEST(CsvReader, RepeatedHeaderColumnIsAnError) {
  std::istringstream in("label,noise,label\n1,2,3\n");
  Reader r(in, "d.csv");
  Record header;
  ASSERT_TRUE(r.next(header));
  try {
    check_unique_header(header, "d.csv");
    FAIL() << "a repeated column was accepted";
  } catch (const gt::Error& e) {
    EXPECT_STREQ(e.what(), "d.csv:1: column 'label' appears twice (columns 1 and 3)");
  }
  std::istringstream ok("a,,b,\n");
  Reader r2(ok, "e.csv");
  ASSERT_TRUE(r2.next(header));
  EXPECT_NO_THROW(check_unique_header(header, "e.csv"));  // empty names are not compared
}

}  // namespace
}  // namespace gt::csv
