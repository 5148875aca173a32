// The SQLite layer's reads by column name: a name finds its column whatever the position and
// with or without a table prefix in the SELECT list, NULL maps to an empty optional, and an
// unknown name is an error naming the database rather than a read of the wrong column.
#include "experiment/sqlite.h"

#include <gtest/gtest.h>

#include "common/error.h"
#include "common/temp_dir.h"

namespace gt::experiment::sql {
namespace {

TEST(SqliteColumns, ReadByNameWithOrWithoutTablePrefix) {
  testing::TempDir dir;
  Db db(dir / "t.db", false);
  db.exec("CREATE TABLE t(a INTEGER, b TEXT, c REAL); INSERT INTO t VALUES (7, 'seven', NULL)");
  Stmt s(db, "SELECT t.c, b, t.a FROM t");
  ASSERT_TRUE(s.step());
  EXPECT_EQ(s.i64("a"), 7);
  EXPECT_EQ(s.text("b"), "seven");
  EXPECT_FALSE(s.opt_f64("c").has_value());
  EXPECT_EQ(s.column("a"), 2);
  try {
    (void)s.text("missing");
    ADD_FAILURE() << "no error for an unknown column";
  } catch (const gt::Error& e) {
    EXPECT_NE(std::string(e.what()).find("no column 'missing'"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("t.db"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace gt::experiment::sql
