# greentrain_add_test(NAME SOURCES a.cpp … LIBS lib1 … [PROPERTIES prop value …]): one GoogleTest executable whose
# tests CTest discovers individually (at test time, so building a test never waits for others).
# Every test links greentrain_test_support (tests/common: TempDir, child processes, locations).
# Tests find the source tree, the build tree and the greentrain binary through the environment
# variables GREENTRAIN_SOURCE_DIR, GREENTRAIN_BUILD_DIR and GREENTRAIN_BINARY. They are set by
# running each test through `env` (the target's CROSSCOMPILING_EMULATOR, which CTest and
# gtest_discover_tests honour), because a multi-variable ENVIRONMENT list does not survive
# gtest_discover_tests' PROPERTIES.
function(greentrain_test_environment target)
  set_target_properties(${target} PROPERTIES CROSSCOMPILING_EMULATOR
    "/usr/bin/env;GREENTRAIN_SOURCE_DIR=${PROJECT_SOURCE_DIR};GREENTRAIN_BUILD_DIR=${PROJECT_BINARY_DIR};GREENTRAIN_BINARY=${PROJECT_BINARY_DIR}/greentrain")
endfunction()

# How test programs compile. Outside the checked build (which sets its own -O0) a test file is
# compiled at -O0, after the build type's -O3, so it wins: the suites' computing happens in the
# libraries they test, which stay optimised, and an unoptimised test file compiles in half the
# time. One precompiled header serves every test program: GoogleTest, GoogleMock, fmt,
# nlohmann/json and the standard headers the suites use most. Parsing them is a quarter of the
# rest of a test file's compile time (80-odd files, each otherwise parsing the same ~150k
# lines); with it they are parsed once per build. The first test program set up (common_test)
# builds it and every other one reuses it (REUSE_FROM), which needs identical compile flags and
# definitions: so each of them links the same header libraries (GTest, GMock, fmt,
# nlohmann_json). Each test file still includes what it uses (with the header in front no build
# checks that any more). Under GCC 12 the header needs the test files at -O0: optimised, it
# brings false -Wstringop-overflow findings inside libstdc++ in some of them.
option(GREENTRAIN_TEST_PCH "Compile the test programs with one shared precompiled header" ON)
function(greentrain_test_compile target)
  if(NOT (GREENTRAIN_SANITIZE OR GREENTRAIN_FUZZ))
    target_compile_options(${target} PRIVATE $<$<COMPILE_LANGUAGE:CXX>:-O0>)
  endif()
  # A precompiled header is only valid under the flags it was built with; a program compiled
  # with OpenMP's flags (engine_layer_test) parses its headers itself (clang 14 crashes
  # otherwise).
  get_target_property(libs ${target} LINK_LIBRARIES)
  if(NOT GREENTRAIN_TEST_PCH OR "OpenMP::OpenMP_CXX" IN_LIST libs)
    return()
  endif()
  target_link_libraries(${target} PRIVATE GTest::gtest GTest::gmock fmt::fmt
    nlohmann_json::nlohmann_json)
  get_property(owner GLOBAL PROPERTY GREENTRAIN_TEST_PCH_OWNER)
  if(owner)
    target_precompile_headers(${target} REUSE_FROM ${owner})
  else()
    set_property(GLOBAL PROPERTY GREENTRAIN_TEST_PCH_OWNER ${target})
    target_precompile_headers(${target} PRIVATE
      <gtest/gtest.h> <gmock/gmock.h> <fmt/core.h> <fmt/format.h> <nlohmann/json.hpp>
      <algorithm> <chrono> <cmath> <filesystem> <fstream> <functional> <map> <memory> <optional>
      <random> <set> <sstream> <string> <thread> <vector>)
  endif()
endfunction()

function(greentrain_add_test name)
  cmake_parse_arguments(ARG "" "" "SOURCES;LIBS;PROPERTIES" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE ${ARG_LIBS} greentrain_test_support GTest::gtest
    GTest::gtest_main GTest::gmock)
  greentrain_test_compile(${name})
  greentrain_test_environment(${name})
  gtest_discover_tests(${name} DISCOVERY_TIMEOUT 60 DISCOVERY_MODE PRE_TEST
    PROPERTIES LABELS ${name} ${ARG_PROPERTIES})
endfunction()
