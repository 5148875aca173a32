// The blocked factorial ANOVA (a GPU board or host as a blocking factor) against statsmodels:
// anova_lm(ols("y ~ (C(a) + C(b) + C(c))**2 + C(board)"), typ=2) on the same generated data,
// every term's sum of squares, F and p compared; plus the share of variance of a known board
// offset, a single board and a board confounded with the design.
#include "stats/blocking.h"

#include <fmt/core.h>
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <string>

#include "common/subprocess.h"
#include "common/temp_dir.h"

namespace gt::stats {
namespace {

struct Data {
  std::vector<std::vector<int>> levels;
  std::vector<std::string> board;
  std::vector<double> y;
};

// 3 x 2 x 2 factorial, `repeats` blocks, each block on board (block mod boards); energy-like
// values with effects, an interaction, a board offset of `offset` and noise.
Data make_data(int repeats, int boards, double offset, unsigned seed) {
  Data d;
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> noise(0, 2);
  for (int r = 0; r < repeats; ++r)
    for (int a = 0; a < 3; ++a)
      for (int b = 0; b < 2; ++b)
        for (int c = 0; c < 2; ++c) {
          const int board = r % boards;
          d.levels.push_back({a, b, c});
          d.board.push_back("GPU-" + std::to_string(board));
          d.y.push_back(1000 + 20 * a + 7 * b + 3 * a * b + offset * board + noise(rng));
        }
  return d;
}

nlohmann::json statsmodels(const Data& d) {
  testing::TempDir dir("greentrain-blocking-test");
  {
    std::ofstream csv(dir / "d.csv");
    csv << "a,b,c,board,y\n";
    for (size_t i = 0; i < d.y.size(); ++i)
      csv << d.levels[i][0] << "," << d.levels[i][1] << "," << d.levels[i][2] << "," << d.board[i]
          << "," << fmt::format("{:.17g}", d.y[i]) << "\n";
  }
  testing::write_file(dir / "ref.py", R"py(
import json, sys
import pandas as pd
import statsmodels.formula.api as smf
from statsmodels.stats.anova import anova_lm
d = pd.read_csv(sys.argv[1])
m = smf.ols("y ~ (C(a) + C(b) + C(c))**2 + C(board)", data=d).fit()
t = anova_lm(m, typ=2)
names = {"C(a)": "a", "C(b)": "b", "C(c)": "c", "C(a):C(b)": "a:b", "C(a):C(c)": "a:c",
         "C(b):C(c)": "b:c", "C(board)": "gpu", "Residual": "residual"}
out = {names[k]: {"sum_sq": r["sum_sq"], "df": r["df"],
                  "f": None if pd.isna(r["F"]) else r["F"],
                  "p": None if pd.isna(r["PR(>F)"]) else r["PR(>F)"]} for k, r in t.iterrows()}
print(json.dumps(out))
)py");
  auto r = testing::run_process({"/usr/bin/python3", dir / "ref.py", dir / "d.csv"});
  EXPECT_EQ(r.code, 0) << r.err;
  return nlohmann::json::parse(r.out);
}

TEST(Blocking, MatchesStatsmodelsTypeTwoWithTheBoardAsAMainEffect) {
  for (double offset : {0.0, 15.0}) {
    const auto d = make_data(6, 3, offset, 7);
    const auto a = blocked_anova_type2({"a", "b", "c"}, d.levels, d.board, "gpu", d.y);
    const auto ref = statsmodels(d);
    ASSERT_TRUE(a.undefined_reason.empty()) << a.undefined_reason;
    ASSERT_EQ(a.terms.size(), 7u);
    EXPECT_EQ(a.terms.back().term, "gpu");
    double worst = 0;
    for (const auto& t : a.terms) {
      const auto& r = ref.at(t.term);
      EXPECT_EQ(t.df, r["df"].get<double>()) << t.term;
      const double ss = r["sum_sq"].get<double>();
      worst = std::max(worst, std::abs(t.sum_sq - ss) / std::max(1e-9, std::abs(ss)));
      EXPECT_NEAR(t.sum_sq, ss, 1e-7 * std::max(1.0, ss)) << t.term;
      EXPECT_NEAR(t.f, r["f"].get<double>(), 1e-6 * std::max(1.0, r["f"].get<double>())) << t.term;
      EXPECT_NEAR(t.p, r["p"].get<double>(), 1e-8) << t.term;
    }
    EXPECT_NEAR(a.residual_ss, ref["residual"]["sum_sq"].get<double>(), 1e-7 * a.residual_ss);
    EXPECT_EQ(a.residual_df, ref["residual"]["df"].get<double>());
    // Share of variance = SS_board / SS_total, SS_total from the data directly.
    double ybar = 0, sst = 0;
    for (double v : d.y) ybar += v / static_cast<double>(d.y.size());
    for (double v : d.y) sst += (v - ybar) * (v - ybar);
    EXPECT_NEAR(a.block_share, a.terms.back().sum_sq / sst, 1e-12);
    if (offset > 0) {
      EXPECT_GT(a.block_share, 0.05);
      EXPECT_LT(a.terms.back().p, 1e-6);
    }
    std::printf("offset %.0f W: board share %.4f, worst SS rel. error vs statsmodels %.2e\n",
                offset, a.block_share, worst);
  }
}

TEST(Blocking, OneBoardOrABoardConfoundedWithTheDesignIsNotEstimated) {
  auto d = make_data(4, 1, 0, 3);
  auto one = blocked_anova_type2({"a", "b", "c"}, d.levels, d.board, "gpu", d.y);
  EXPECT_NE(one.undefined_reason.find("same gpu"), std::string::npos) << one.undefined_reason;
  // Each board runs only one level of a: the board is confounded with a.
  for (size_t i = 0; i < d.board.size(); ++i) d.board[i] = "GPU-" + std::to_string(d.levels[i][0]);
  auto conf = blocked_anova_type2({"a", "b", "c"}, d.levels, d.board, "gpu", d.y);
  EXPECT_NE(conf.undefined_reason.find("confounded"), std::string::npos) << conf.undefined_reason;
  nlohmann::json b = {{"by", "gpu"}, {"metrics", {{"energy_j", to_json(conf)}}}};
  EXPECT_NE(render_blocking(b, false).find("no gpu effect"), std::string::npos);
}

}  // namespace
}  // namespace gt::stats
