// Plans and workloads fed hostile values: factors named like greentrain's own fields or
// runs-table columns, factors differing only by case, factor levels that are shell syntax
// (`x; touch FILE`, a quote) or hold a NUL, metrics named like run fields, builtin settings that
// every run would trip over (model, dataset, device, lr = inf, meters.wall, meters.gpus,
// carbon.region), and a design too large to expand. Each is a one-line error naming the clash
// before any run, or (levels) passed to the command as data.
#include <fmt/core.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>

#include "common/error.h"
#include "common/temp_dir.h"
#include "experiment/design.h"
#include "experiment/plan.h"
#include "experiment/workload.h"
#include "run/process.h"

namespace gt::experiment {
namespace {
using ::testing::HasSubstr;

std::string error_of(const std::string& text) {
  try {
    parse_plan(text, "t.toml");
  } catch (const gt::Error& e) {
    const std::string msg = e.what();
    EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
    EXPECT_EQ(msg.rfind("t.toml:", 0), 0u) << msg;
    return msg;
  }
  ADD_FAILURE() << "accepted:\n" << text;
  return "";
}

std::string command_plan(const std::string& factors, const std::string& command = "true") {
  return fmt::format(
      "name = \"t\"\n[workload]\nkind = \"command\"\ncommand = \"{}\"\n[factors]\n{}", command,
      factors);
}

std::string builtin_plan(const std::string& workload_extra, const std::string& rest = "") {
  return "name = \"t\"\n[workload]\nkind = \"builtin\"\n" + workload_extra +
         "[factors]\nprecision = [\"fp32\", \"fp16\"]\nneurons = [64]\n" + rest;
}

TEST(PlanRobustness, ReservedFactorNamesAreRefused) {
  for (const char* name : {"seed", "run_id", "block", "repeat", "metrics_file", "status", "warmup",
                           "energy_j", "co2e_g", "duration_s", "test_accuracy", "Seed"}) {
    const std::string msg = error_of(command_plan(fmt::format("{} = [1, 2]\n", name)));
    EXPECT_THAT(msg, HasSubstr(fmt::format("factor name '{}' is reserved by greentrain", name)));
  }
}

TEST(PlanRobustness, FactorsDifferingOnlyByCaseAreRefused) {
  EXPECT_THAT(
      error_of(command_plan("a = [1, 2]\nA = [3, 4]\n")),
      HasSubstr("factors 'a' and 'A' differ only by case; both would be GREENTRAIN_FACTOR_A"));
}

TEST(PlanRobustness, NulInALevelIsRefused) {
  EXPECT_THAT(error_of(command_plan("x = [\"ab\\u0000c\", \"d\"]\n")),
              HasSubstr("factors.x: a level contains a NUL character"));
}

TEST(PlanRobustness, DatasetsFollowTheTrainersGrammar) {
  for (const char* ok : {"folder:/data/birds 525", "mnist:/d", "csv:a.csv", "fashion-mnist"})
    EXPECT_NO_THROW(parse_plan(builtin_plan(fmt::format("dataset = \"{}\"\n", ok)), "t.toml"))
        << ok;
  EXPECT_NO_THROW(
      parse_plan(builtin_plan("dataset = \"mnist\"\ndata_dir = \"/data/mnist\"\n"), "t.toml"));
  for (const char* bad : {"folder:", "mnist", "csv:", "Folder:/x"})
    EXPECT_THAT(error_of(builtin_plan(fmt::format("dataset = \"{}\"\n", bad))),
                HasSubstr(fmt::format("workload.dataset = \"{}\": expected \"fashion-mnist\", "
                                      "\"mnist:DIR\", \"csv:train.csv[,test.csv]\" or "
                                      "\"folder:DIR\"",
                                      bad)));
}

TEST(PlanRobustness, BuiltinSettingsAreCheckedBeforeAnyRun) {
  EXPECT_THAT(error_of(builtin_plan("model = \"cnn\"\n")), HasSubstr("workload.model = \"cnn\""));
  EXPECT_THAT(error_of(builtin_plan("dataset = \"nope\"\n")),
              HasSubstr("workload.dataset = \"nope\": expected \"fashion-mnist\""));
  EXPECT_THAT(error_of(builtin_plan("device = \"tpu:0\"\n")),
              HasSubstr("workload.device = \"tpu:0\""));
  EXPECT_THAT(error_of(builtin_plan("", "lr = [inf]\n")), HasSubstr("level 'inf' is not valid"));
  EXPECT_THAT(error_of(builtin_plan("", "lr = [nan]\n")), HasSubstr("level 'nan' is not valid"));
  EXPECT_THAT(error_of(builtin_plan("lr = inf\n")), HasSubstr("workload.lr = inf"));
  EXPECT_THAT(error_of(builtin_plan("", "[meters]\nwall = \"bogus\"\n")),
              HasSubstr("meters.wall: --wall bogus: unknown wall meter"));
  EXPECT_THAT(error_of(builtin_plan("", "[meters]\nwall = \"http:x#apower\"\n")),
              HasSubstr("meters.wall"));
  EXPECT_THAT(error_of(builtin_plan("", "[meters]\ngpus = \"0,,x\"\n")),
              HasSubstr("meters.gpus = \"0,,x\""));
  EXPECT_THAT(error_of(builtin_plan("", "[carbon]\nregion = \"mars:north\"\n")),
              HasSubstr("carbon.region = \"mars:north\""));
  // Valid spellings still pass.
  EXPECT_NO_THROW(parse_plan(builtin_plan("device = \"cuda:1\"\n"
                                          "dataset = \"csv:a.csv,b.csv\"\n",
                                          "[meters]\ngpus = \"0,2\"\nwall = \"cmd:echo 5\"\n"
                                          "[carbon]\nregion = \"gcp:europe-west1\"\n"),
                             "t.toml"));
  EXPECT_NO_THROW(
      parse_plan("name = \"t\"\n[workload]\nkind = \"builtin\"\nmodel = \"mlp:64,32\"\n"
                 "[factors]\nepochs = [1, 2]\n",
                 "t.toml"));
  EXPECT_THAT(
      error_of("name = \"t\"\n[workload]\nkind = \"builtin\"\n[factors]\nepochs = [1, 2]\n"),
      HasSubstr("workload.model = \"mlp\": expected \"mlp:H\""));
}

TEST(PlanRobustness, NonAsciiOutsideStringsIsRefusedBeforeTheTomlParser) {
  // Found by fuzz_plan: toml++ 3.3 reaches __builtin_unreachable on U+FC7F at a line start and
  // on U+027F right after a number.
  EXPECT_THAT(error_of("\xEF\xB1\xBF "), HasSubstr("t.toml:1: non-ASCII character (byte 0xEF)"));
  EXPECT_THAT(error_of(command_plan("x = [1, 2]\n") + "y = 7\xC9\xBF\n"),
              HasSubstr("t.toml:7: non-ASCII character (byte 0xC9) outside a string"));
  EXPECT_THAT(error_of("name = \"\"\"a\\\n  \xC3\xA9\"\"\"\n"), HasSubstr("t.toml:2: non-ASCII"));
  // toml++ reads `4*'...` as one bare value, looking ahead over the quote.
  EXPECT_THAT(error_of("x = 4*'a\xC3\xA9'\n"), HasSubstr("t.toml:1: non-ASCII"));
  EXPECT_THAT(error_of("x = 77k''=\"b\xC3\xA9\"\n"), HasSubstr("t.toml:1: non-ASCII"));
  EXPECT_THAT(error_of(std::string("x = 7\0\"\xC3\xA9\"\n", 10)), HasSubstr("t.toml:1: non-ASCII"));
  EXPECT_THAT(error_of("name = \"a\\\xC3\xA9\"\n"), HasSubstr("t.toml:1: non-ASCII"));
  // A bare key's '=' ends the key even right after it: the string that follows is a string.
  EXPECT_THAT(error_of("aamecarbonkkzkkk=\"name = \"\xC9\xA4"
                       "amkin"),
              HasSubstr("t.toml:1: non-ASCII character (byte 0xC9) outside a string"));
  // A dotted key of quoted parts, then a value and non-ASCII after it.
  EXPECT_THAT(error_of("\"\".\"0\t\".am=1\xEF\xB3\xBF \n"),
              HasSubstr("t.toml:1: non-ASCII character (byte 0xEF) outside a string"));
  EXPECT_THAT(error_of("name = \"\"\"a\\\xC3\xA9\"\"\"\n"), HasSubstr("t.toml:1: non-ASCII"));
  // Inside strings and comments it is text like any other; a leading byte-order mark is skipped.
  const auto p =
      parse_plan("\xEF\xBB\xBF# Exp\xC3\xA9rience \xEF\xB1\xBF\n" +
                     command_plan("x = [\"\xC3\xA9\", '\xC3\xBC', \"\"\"\xEF\xB1\xBF\"\"\", "
                                  "'''\xC9\xBF''']\n"),
                 "t.toml");
  EXPECT_EQ(p.factors.at(0).levels.at(0), "\xC3\xA9");
  EXPECT_EQ(p.factors.at(0).levels.at(3), "\xC9\xBF");
}

TEST(PlanRobustness, HugeDesignIsRefusedNamingItsSize) {
  std::string factors;
  for (int f = 0; f < 5; ++f) {
    factors += fmt::format("f{} = [", f);
    for (int l = 0; l < 40; ++l) factors += fmt::format("{}{}", l ? ", " : "", l);
    factors += "]\n";
  }
  const auto t0 = std::chrono::steady_clock::now();
  const std::string msg = error_of(command_plan(factors) + "[design]\nrepeats = 100000\n");
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), 5.0);
  EXPECT_THAT(msg, HasSubstr("102400000 configurations x 100000 repeats"));
  EXPECT_THAT(msg, HasSubstr("at most 1000000"));
}

TEST(PlanRobustness, LevelsReachTheShellAsDataNotSyntax) {
  testing::TempDir dir;
  const std::string pwned = dir / "pwned";
  const std::string out = dir / "out.txt";
  auto plan = parse_plan(
      command_plan(
          fmt::format("x = [\"a; touch {}\", \"it's $(touch {}) `x`\"]\n", pwned, pwned),
          fmt::format("printf '%s|%s\\\\n' {{x}} \\\"$GREENTRAIN_FACTOR_X\\\" >> {}", out)),
      "t.toml");
  auto d = expand(plan);
  for (const auto& run : d.runs) {
    if (run.warmup) continue;
    const auto& config = d.configs[run.config_index];
    auto p = prepare_run(plan, config, run, dir.path().string(), "/gt");
    auto r = run::run_child(p.spec, [] { return false; });
    ASSERT_EQ(r.exit_code, 0) << p.command_text;
  }
  EXPECT_FALSE(std::filesystem::exists(pwned));
  const std::string text = testing::read_file(out);
  const std::string a = fmt::format("a; touch {}", pwned);
  const std::string b = fmt::format("it's $(touch {}) `x`", pwned);
  EXPECT_THAT(text, HasSubstr(a + "|" + a + "\n"));
  EXPECT_THAT(text, HasSubstr(b + "|" + b + "\n"));
}

TEST(PlanRobustness, MetricsNamedLikeRunFieldsOrFactorsAreIgnoredWithANote) {
  testing::TempDir dir;
  auto plan = parse_plan(command_plan("x = [1, 2]\n"), "t.toml");
  testing::write_file(dir / "out.txt",
                      "greentrain-metric status=1\ngreentrain-metric run_id=7\n"
                      "greentrain-metric x=3\ngreentrain-metric energy_j=5\n"
                      "greentrain-metric acc=0.9\n");
  auto m = collect_metrics(plan, dir / "none.json", dir / "out.txt");
  EXPECT_EQ(m.values.count("status"), 0u);
  EXPECT_EQ(m.values.count("run_id"), 0u);
  EXPECT_EQ(m.values.count("x"), 0u);
  EXPECT_DOUBLE_EQ(m.values.at("workload_energy_j"), 5);
  EXPECT_DOUBLE_EQ(m.values.at("acc"), 0.9);
  std::string notes;
  for (const auto& n : m.notes) notes += n + "\n";
  EXPECT_THAT(notes, HasSubstr("ignored metric 'status': the name is a field greentrain sets"));
  EXPECT_THAT(notes, HasSubstr("ignored metric 'x': the name is a factor's name"));
}

}  // namespace
}  // namespace gt::experiment
