// Tests of src/prometheus: the exposition text (escaping, families merged across groups, names
// checked), base64url against RFC 4648's vectors and Python's base64 module, grouping-key URLs,
// URL checks; and the publisher against a real Pushgateway (scraped back), a Pushgateway that
// is down and one that never answers (each costs at most the timeout and one warning), and the
// textfile, written atomically and accepted by `promtool check metrics`.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <mutex>
#include <thread>

#include "common/error.h"
#include "common/subprocess.h"
#include "common/temp_dir.h"
#include "gateway_fixture.h"
#include "prometheus/exposition.h"
#include "prometheus/publisher.h"
#include "prometheus/pushgateway.h"

namespace gt::prometheus {
namespace {

using gt::testing::find_sample;

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

std::vector<Family> sample_families(const std::string& run, double joules) {
  return {{"greentrain_energy_joules_total",
           "Energy",
           Type::counter,
           {{{{"run", run}, {"component", "gpu"}}, joules},
            {{{"run", run}, {"component", "cpu"}}, joules / 10}}},
          {"greentrain_power_watts", "Power", Type::gauge, {{{{"run", run}}, 250.5}}}};
}

// Collects the publisher's warnings.
struct Warnings {
  std::mutex mu;
  std::vector<std::string> lines;
  std::function<void(const std::string&)> sink() {
    return [this](const std::string& l) {
      std::lock_guard lock(mu);
      lines.push_back(l);
    };
  }
  size_t count() {
    std::lock_guard lock(mu);
    return lines.size();
  }
};

TEST(Exposition, RendersEscapesAndMergesFamilies) {
  std::vector<Family> f = sample_families("1", 100);
  auto more = sample_families("a\"b\\c\nd", 5);
  f.insert(f.end(), more.begin(), more.end());
  const std::string text = render(f);
  EXPECT_EQ(text,
            "# HELP greentrain_energy_joules_total Energy\n"
            "# TYPE greentrain_energy_joules_total counter\n"
            "greentrain_energy_joules_total{run=\"1\",component=\"gpu\"} 100\n"
            "greentrain_energy_joules_total{run=\"1\",component=\"cpu\"} 10\n"
            "greentrain_energy_joules_total{run=\"a\\\"b\\\\c\\nd\",component=\"gpu\"} 5\n"
            "greentrain_energy_joules_total{run=\"a\\\"b\\\\c\\nd\",component=\"cpu\"} 0.5\n"
            "# HELP greentrain_power_watts Power\n"
            "# TYPE greentrain_power_watts gauge\n"
            "greentrain_power_watts{run=\"1\"} 250.5\n"
            "greentrain_power_watts{run=\"a\\\"b\\\\c\\nd\"} 250.5\n");
  EXPECT_EQ(format_value(std::numeric_limits<double>::infinity()), "+Inf");
  EXPECT_EQ(format_value(1e-7), "1e-07");
  EXPECT_THROW(render({{"bad-name", "", Type::gauge, {}}}), gt::Error);
  EXPECT_THROW(render({{"ok", "", Type::gauge, {{{{"__reserved", "x"}}, 1}}}}), gt::Error);
  EXPECT_THROW(render({{"ok", "", Type::gauge, {}}, {"ok", "", Type::counter, {}}}), gt::Error);
  EXPECT_TRUE(valid_metric_name("a:b_c9"));
  EXPECT_FALSE(valid_label_name("a:b"));
}

TEST(Pushgateway, Base64UrlMatchesRfc4648AndPython) {
  EXPECT_EQ(base64url(""), "=");  // the Pushgateway's spelling of an empty value
  EXPECT_EQ(base64url("f"), "Zg==");
  EXPECT_EQ(base64url("fo"), "Zm8=");
  EXPECT_EQ(base64url("foo"), "Zm9v");
  EXPECT_EQ(base64url("foobar"), "Zm9vYmFy");
  const std::string odd = "precision=fp16 batch/64\xfb\xff";
  auto py = gt::testing::run_process(
      {"/usr/bin/python3", "-c",
       "import base64,sys; sys.stdout.write(base64.urlsafe_b64encode(sys.argv[1].encode("
       "'utf-8','surrogateescape')).decode())",
       odd});
  ASSERT_EQ(py.code, 0) << py.err;
  EXPECT_EQ(base64url(odd), py.out);
}

TEST(Pushgateway, GroupUrlsAndUrlChecks) {
  GroupingKey k;
  k.labels = {{"host", "node-1"}, {"experiment", ""}, {"run", "2026/01 x"}};
  EXPECT_EQ(
      group_url("http://gw:9091/", k),
      "http://gw:9091/metrics/job/greentrain/host/node-1/run@base64/" + base64url("2026/01 x"));
  EXPECT_EQ(k.text(), "job=greentrain,host=node-1,run=2026/01 x");
  EXPECT_NO_THROW(check_pushgateway_url("http://127.0.0.1:9091", "--prometheus-push"));
  EXPECT_NO_THROW(check_pushgateway_url("https://gw.example/prefix", "--prometheus-push"));
  for (const char* bad : {"127.0.0.1:9091", "ftp://gw", "http://", "http://gw/?a=1", "http://g w"})
    EXPECT_THROW(check_pushgateway_url(bad, "--prometheus-push"), gt::UsageError) << bad;
}

TEST(Publisher, PushesToARealPushgatewayAndWritesAValidTextfile) {
  gt::testing::Pushgateway gw;
  ASSERT_TRUE(gw.started());
  gt::testing::TempDir dir;
  Warnings warnings;
  GroupingKey a, b;
  a.labels = {{"host", "h1"}, {"run", "1"}};
  b.labels = {{"host", "h1"}, {"run", "2/x"}};  // base64-encoded in the URL
  {
    Publisher p({gw.url(), dir / "greentrain.prom", 5, warnings.sink()});
    p.publish(a, sample_families("1", 100));
    p.publish(a, sample_families("1", 150));  // replaces run 1's state
    p.publish(b, sample_families("2/x", 7));
    p.finish();
    EXPECT_EQ(p.failures(), 0);
  }
  EXPECT_EQ(warnings.count(), 0u);
  const std::string text = gw.scrape();
  EXPECT_EQ(find_sample(text, "greentrain_energy_joules_total",
                        {{"job", "greentrain"}, {"run", "1"}, {"component", "gpu"}}),
            150.0)
      << text;
  EXPECT_EQ(
      find_sample(text, "greentrain_energy_joules_total",
                  {{"job", "greentrain"}, {"host", "h1"}, {"run", "2/x"}, {"component", "cpu"}}),
      0.7);
  EXPECT_EQ(find_sample(text, "greentrain_power_watts", {{"run", "2/x"}}), 250.5);
  // The textfile holds both groups, each family once, and passes promtool's checks.
  const std::string file = gt::testing::read_file(dir / "greentrain.prom");
  EXPECT_EQ(
      find_sample(file, "greentrain_energy_joules_total", {{"run", "1"}, {"component", "gpu"}}),
      150.0);
  EXPECT_EQ(
      find_sample(file, "greentrain_energy_joules_total", {{"run", "2/x"}, {"component", "gpu"}}),
      7.0);
  std::string lint;
  EXPECT_EQ(gt::testing::promtool_check(dir / "greentrain.prom", lint), 0) << lint;
  // No temporary file is left beside it.
  int files = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir.path()))
    files += e.is_regular_file();
  EXPECT_EQ(files, 1);
}

TEST(Publisher, AGatewayThatIsDownCostsOneWarningAndNoTime) {
  Warnings warnings;
  const std::string url = "http://127.0.0.1:" + std::to_string(gt::testing::free_port());
  const auto t0 = std::chrono::steady_clock::now();
  Publisher p({url, "", 1.0, warnings.sink()});
  for (int i = 0; i < 5; ++i) {
    GroupingKey k;
    k.labels = {{"run", std::to_string(i)}};
    p.publish(k, sample_families(std::to_string(i), i));
  }
  EXPECT_LT(seconds_since(t0), 0.05);  // publish never waits for the network
  p.finish();
  EXPECT_LT(seconds_since(t0), 1.2);
  EXPECT_EQ(warnings.count(), 1u);
  EXPECT_GE(p.failures(), 1);
  EXPECT_NE(warnings.lines.at(0).find("Prometheus push to " + url), std::string::npos)
      << warnings.lines.at(0);
}

TEST(Publisher, AGatewayThatNeverAnswersCostsAtMostTheTimeout) {
  gt::testing::SilentServer silent;
  Warnings warnings;
  const auto t0 = std::chrono::steady_clock::now();
  Publisher p({silent.url(), "", 0.5, warnings.sink()});
  for (int i = 0; i < 3; ++i) {
    GroupingKey k;
    k.labels = {{"run", std::to_string(i)}};
    p.publish(k, sample_families(std::to_string(i), i));
  }
  EXPECT_LT(seconds_since(t0), 0.05);
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  const auto t_finish = std::chrono::steady_clock::now();
  p.finish();
  EXPECT_LT(seconds_since(t_finish), 0.5 + 0.2);  // the pending pushes are dropped at the timeout
  EXPECT_EQ(warnings.count(), 1u);
  EXPECT_GE(p.failures(), 1);
}

TEST(Publisher, RefusesBadDestinationsBeforeAnyWork) {
  gt::testing::TempDir dir;
  EXPECT_THROW(Publisher({"gw:9091", "", 2, {}}), gt::UsageError);
  EXPECT_THROW(Publisher({"", dir / "missing/x.prom", 2, {}}), gt::UsageError);
  std::filesystem::create_directory(dir / "d.prom");
  EXPECT_THROW(Publisher({"", dir / "d.prom", 2, {}}), gt::UsageError);
  EXPECT_THROW(Publisher({"http://gw", "", 0, {}}), gt::UsageError);
  Publisher off({});  // neither: inactive, publish is a no-op
  EXPECT_FALSE(off.active());
  off.publish({}, sample_families("1", 1));
}

}  // namespace
}  // namespace gt::prometheus
