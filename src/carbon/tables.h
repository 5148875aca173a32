// The carbon tables as embedded CSV text (generated from data/*.csv at build time; see
// CMakeLists.txt). Parsed once by carbon.cpp.
#pragma once

namespace gt::carbon::tables {
extern const char* const kCountryCsv;  // data/carbon_intensity.csv
extern const char* const kGcpCsv;      // data/gcp_regions.csv
extern const char* const kCloudCsv;    // data/cloud_regions.csv
}  // namespace gt::carbon::tables
