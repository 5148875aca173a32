// CSV loading: label mapping (integers and strings), standardisation with training statistics
// (checked against numpy-free arithmetic done here), and each bad file a one-line error with
// the file and line number.
#include "data/csv.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "common/error.h"
#include "common/temp_dir.h"
#include "data/loader.h"

namespace gt::data {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

// Writes `text` to `name` in this test process's scratch folder; returns its path.
std::string write_file(const std::string& name, const std::string& text) {
  static const gt::testing::TempDir scratch("greentrain-csv");
  gt::testing::write_file(scratch / name, text);
  return scratch / name;
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const gt::Error& e) {
    EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos);
    return e.what();
  }
  ADD_FAILURE() << "no error thrown";
  return "";
}

TEST(Csv, StandardisesWithTrainingStatistics) {
  const auto train = write_file("train.csv", "a,species,b\n1,cat,10\n3,dog,10\n5,cat,10\n");
  const auto test = write_file("test.csv", "a,species,b\n3,dog,12\n");
  const CsvSets s = load_csv(train, test, "species");
  ASSERT_EQ(s.class_names, (std::vector<std::string>{"cat", "dog"}));
  EXPECT_EQ(s.train.labels, (std::vector<int32_t>{0, 1, 0}));
  EXPECT_EQ(s.train.features, 2);
  const double sd = std::sqrt(8.0 / 3.0);  // population sd of 1,3,5
  EXPECT_NEAR(s.train.value(0, 0), (1 - 3) / sd, 1e-6);
  EXPECT_NEAR(s.train.value(2, 0), (5 - 3) / sd, 1e-6);
  EXPECT_NEAR(s.train.value(0, 1), 0.0, 1e-6);  // constant column: centred only
  EXPECT_NEAR(s.test.value(0, 1), 2.0, 1e-6);
  EXPECT_EQ(s.test.labels, (std::vector<int32_t>{1}));
}

TEST(Csv, IntegerLabelsAreClassIndices) {
  const auto p = write_file("int.csv", "x,label\n0.5,2\n0.1,0\n\"1e-3\",1\n");
  const CsvSets s = load_csv(p, "", "label");
  EXPECT_EQ(s.class_names.size(), 3u);
  EXPECT_EQ(s.train.labels, (std::vector<int32_t>{2, 0, 1}));
}

TEST(Csv, NonNumericCellNamesLineAndColumn) {
  const auto p = write_file("bad.csv", "x,y,label\n1,2,0\n3,oops,1\n");
  const auto msg = error_of([&] { load_csv(p, "", "label"); });
  EXPECT_THAT(msg, HasSubstr(p + ":3:"));
  EXPECT_THAT(msg, HasSubstr("column 'y' has non-numeric value 'oops'"));
}

TEST(Csv, WrongFieldCount) {
  const auto p = write_file("short.csv", "x,y,label\n1,2,0\n3,1\n");
  EXPECT_THAT(error_of([&] { load_csv(p, "", "label"); }), HasSubstr(":3: 2 fields, expected 3"));
}

TEST(Csv, MissingLabelColumn) {
  const auto p = write_file("nolabel.csv", "x,y\n1,2\n");
  EXPECT_THAT(error_of([&] { load_csv(p, "", "class"); }), HasSubstr("no column named 'class'"));
}

TEST(Csv, EmptyFileAndNoRows) {
  EXPECT_THAT(error_of([&] { load_csv(write_file("empty.csv", ""), "", "label"); }),
              HasSubstr("header is required"));
  EXPECT_THAT(error_of([&] { load_csv(write_file("hdr.csv", "x,label\n"), "", "label"); }),
              HasSubstr("no data rows"));
}

TEST(Csv, UnseenTestLabel) {
  const auto train = write_file("t1.csv", "x,label\n1,a\n2,b\n");
  const auto test = write_file("t2.csv", "x,label\n1,c\n");
  EXPECT_THAT(error_of([&] { load_csv(train, test, "label"); }), HasSubstr("'c' not seen"));
}

TEST(Csv, ThroughTheLoaderSpec) {
  const auto train = write_file("spec.csv", "x,label\n1,0\n2,1\n3,0\n4,1\n");
  DataOptions o;
  o.spec = "csv:" + train;
  o.validation = 0.5;
  const Splits s = load_data(o);
  EXPECT_EQ(s.train.rows, 2);
  EXPECT_EQ(s.validation.rows, 2);
  EXPECT_EQ(s.test.rows, 0);
}

TEST(Csv, DuplicatedLabelColumnIsRefused) {
  // Training on `label,noise,label` once reached validation accuracy 1.0 on the label itself.
  const auto p = write_file("dup.csv", "label,noise,label\n0,0.1,0\n1,0.2,1\n0,0.3,0\n1,0.4,1\n");
  EXPECT_THAT(error_of([&] { load_csv(p, "", "label"); }),
              HasSubstr(":1: column 'label' appears twice (columns 1 and 3)"));
}

TEST(Csv, ByteOrderMarkQuotedFieldsAndCrlfAreRead) {
  const auto p = write_file("excel.csv",
                            "\xEF\xBB\xBF\"label\",\"x\",y\r\n\"0\",\"0.637\",1\r\n"
                            "\"1\",\"-0.5\",2\r\n0,\" 1.5 \",3\r\n");
  const CsvTable t = read_csv_table(p, "label");
  EXPECT_EQ(t.feature_names, (std::vector<std::string>{"x", "y"}));
  ASSERT_EQ(t.rows.size(), 3u);
  EXPECT_FLOAT_EQ(t.rows[0][0], 0.637f);
  EXPECT_FLOAT_EQ(t.rows[1][0], -0.5f);
  EXPECT_FLOAT_EQ(t.rows[2][0], 1.5f);
  EXPECT_EQ(t.labels, (std::vector<std::string>{"0", "1", "0"}));
}

TEST(Csv, NonFiniteAndFloatOverflowCellsAreRefused) {
  for (const char* cell : {"nan", "inf", "1e39", "-1e999"}) {
    const auto p = write_file("nf.csv", std::string("x,label\n1,0\n") + cell + ",1\n");
    EXPECT_THAT(error_of([&] { load_csv(p, "", "label"); }), HasSubstr(":3: column 'x'")) << cell;
  }
}

}  // namespace
}  // namespace gt::data
