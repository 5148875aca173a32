// The data specification grammar (data/source.h): each form parses to its kind and paths, and
// malformed ones are usage errors that name the accepted forms.
#include "data/source.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/error.h"

namespace gt::data {
namespace {

using ::testing::HasSubstr;

TEST(DataSpec, ParsesEveryForm) {
  EXPECT_EQ(parse_data_spec("fashion-mnist").kind, DataKind::fashion_mnist);
  const DataSource m = parse_data_spec("mnist:/d/m");
  EXPECT_EQ(m.kind, DataKind::mnist);
  EXPECT_EQ(m.dir, "/d/m");
  EXPECT_EQ(parse_data_spec("mnist").dir, "");
  const DataSource c = parse_data_spec("csv:a.csv,b.csv");
  EXPECT_EQ(c.kind, DataKind::csv);
  EXPECT_EQ(c.train_file, "a.csv");
  EXPECT_EQ(c.test_file, "b.csv");
  EXPECT_EQ(parse_data_spec("csv:a.csv").test_file, "");
  const DataSource f = parse_data_spec("folder:my birds/ünï");
  EXPECT_EQ(f.kind, DataKind::image_folder);
  EXPECT_EQ(f.dir, "my birds/ünï");
}

TEST(DataSpec, RejectsMalformedSpecs) {
  for (const char* bad : {"nope", "", "csv:", "csv:,b.csv", "folder:", "mnist:", "Folder:x"}) {
    try {
      parse_data_spec(bad);
      ADD_FAILURE() << bad << " was accepted";
    } catch (const gt::UsageError& e) {
      EXPECT_THAT(e.what(), HasSubstr("--data")) << bad;
    }
  }
  try {
    parse_data_spec("nope");
  } catch (const gt::UsageError& e) {
    EXPECT_THAT(e.what(), HasSubstr("folder:DIR"));
  }
  EXPECT_THAT(data_spec_forms(true), HasSubstr("\"fashion-mnist\", \"mnist:DIR\""));
}

}  // namespace
}  // namespace gt::data
