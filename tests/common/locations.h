// Test support: where the tests find the source tree, the build tree and the greentrain
// binary. The environment (GREENTRAIN_SOURCE_DIR, GREENTRAIN_BUILD_DIR, GREENTRAIN_BINARY, set
// by CTest) wins; otherwise the paths of the build that compiled the test are used, so a test
// binary also runs by hand.
#pragma once
#include <filesystem>
#include <string>

namespace gt::testing {

std::filesystem::path source_dir();
std::filesystem::path build_dir();
// The greentrain executable; throws with a one-line explanation when it has not been built.
std::string greentrain_binary();

}  // namespace gt::testing
