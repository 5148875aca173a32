// Carbon accounting: the embedded tables match data/*.csv line for line, country and region
// lookups (GCP values, AWS/Azure → country), the default World value, errors naming the
// closest codes, PUE/intensity validation, and the kWh × PUE × intensity arithmetic.
#include "carbon/carbon.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <set>

#include "common/error.h"

namespace gt::carbon {
namespace {

int csv_rows(const std::string& name) {
  const char* src = std::getenv("GREENTRAIN_SOURCE_DIR");
  std::ifstream in(std::string(src ? src : ".") + "/data/" + name);
  std::string line;
  int n = -1;  // header
  while (std::getline(in, line))
    if (!line.empty()) ++n;
  return n;
}

TEST(Carbon, EmbeddedTablesMatchDataFiles) {
  EXPECT_EQ(static_cast<int>(countries().size()), csv_rows("carbon_intensity.csv"));
  EXPECT_EQ(static_cast<int>(regions().size()),
            csv_rows("gcp_regions.csv") + csv_rows("cloud_regions.csv"));
  EXPECT_GT(countries().size(), 200u);
  EXPECT_EQ(countries().front().iso3, "WLD");
  std::set<std::string> codes;
  for (const auto& c : countries()) {
    EXPECT_EQ(c.iso3.size(), 3u) << c.iso3;
    EXPECT_TRUE(codes.insert(c.iso3).second) << "duplicate " << c.iso3;
    EXPECT_GE(c.g_per_kwh, 0);
    EXPECT_LT(c.g_per_kwh, 1500);
    EXPECT_GE(c.year, 2009);
  }
  for (const auto& r : regions()) {
    // Every AWS/Azure region maps to a country of the table.
    if (!r.g_per_kwh) {
      EXPECT_NO_THROW(country(r.iso3)) << r.region;
    }
  }
}

TEST(Carbon, DefaultIsWorld) {
  Intensity w = resolve({});
  EXPECT_DOUBLE_EQ(w.g_per_kwh, 481.0);
  EXPECT_EQ(w.year, 2023);
  EXPECT_EQ(w.source, "EMBER-GER2024");
}

TEST(Carbon, CountryLookupIsCaseInsensitive) {
  Intensity f = country("fra");
  EXPECT_DOUBLE_EQ(f.g_per_kwh, 56.0);
  EXPECT_EQ(f.label, "France (FRA)");
  EXPECT_EQ(f.source, "OWID-EMBER-EI");
  CarbonOptions o;
  o.country = "POL";
  EXPECT_DOUBLE_EQ(resolve(o).g_per_kwh, 661.9);
}

TEST(Carbon, Regions) {
  CarbonOptions o;
  o.region = "gcp:europe-west1";
  Intensity g = resolve(o);
  EXPECT_DOUBLE_EQ(g.g_per_kwh, 122.0);
  EXPECT_EQ(g.source, "GCP-RCI-2023");
  EXPECT_NE(g.label.find("St. Ghislain"), std::string::npos);
  EXPECT_DOUBLE_EQ(region("aws:us-east-1").g_per_kwh, country("USA").g_per_kwh);
  EXPECT_DOUBLE_EQ(region("aws:eu-west-1").g_per_kwh, country("IRL").g_per_kwh);
  EXPECT_DOUBLE_EQ(region("aws:eu-central-1").g_per_kwh, country("DEU").g_per_kwh);
  EXPECT_DOUBLE_EQ(region("azure:westeurope").g_per_kwh, country("NLD").g_per_kwh);
  EXPECT_DOUBLE_EQ(region("azure:northeurope").g_per_kwh, country("IRL").g_per_kwh);
  o.country = "FRA";  // region wins over country, intensity over both
  EXPECT_DOUBLE_EQ(resolve(o).g_per_kwh, 122.0);
  o.intensity = 12.5;
  EXPECT_DOUBLE_EQ(resolve(o).g_per_kwh, 12.5);
}

TEST(Carbon, UnknownCodesNameClosestMatches) {
  try {
    country("FRX");
    FAIL();
  } catch (const UsageError& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("--country FRX"), std::string::npos) << m;
    EXPECT_NE(m.find("FRA (France)"), std::string::npos) << m;
  }
  try {
    country("germany");
    FAIL();
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("DEU (Germany)"), std::string::npos) << e.what();
  }
  try {
    region("gcp:europe-west99");
    FAIL();
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("gcp:europe-west"), std::string::npos) << e.what();
  }
  EXPECT_THROW(region("europe-west1"), UsageError);
  EXPECT_THROW(region("oracle:x"), UsageError);
}

TEST(Carbon, Validation) {
  CarbonOptions o;
  o.pue = 0.9;
  EXPECT_THROW(resolve(o), UsageError);
  o.pue = 1.2;
  o.intensity = -1;
  EXPECT_THROW(resolve(o), UsageError);
}

TEST(Carbon, Co2eArithmetic) {
  Intensity w = country("WLD");
  // 1 kWh = 3.6 MJ at 481 g/kWh and PUE 1 → 481 g; PUE scales linearly.
  EXPECT_NEAR(co2e_g(3.6e6, w, 1.0), 481.0, 1e-9);
  EXPECT_NEAR(co2e_g(3.6e6, w, 1.5), 721.5, 1e-9);
  EXPECT_NEAR(co2e_g(1800.0, country("FRA"), 1.0), 0.5 / 1000 * 56.0, 1e-12);
  EXPECT_DOUBLE_EQ(co2e_g(0, w, 1.0), 0.0);
  EXPECT_NE(attribution().find("CC BY 4.0"), std::string::npos);
}

}  // namespace
}  // namespace gt::carbon
