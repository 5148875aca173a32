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

function(greentrain_add_test name)
  cmake_parse_arguments(ARG "" "" "SOURCES;LIBS;PROPERTIES" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE ${ARG_LIBS} greentrain_test_support GTest::gtest
    GTest::gtest_main GTest::gmock)
  greentrain_test_environment(${name})
  gtest_discover_tests(${name} DISCOVERY_TIMEOUT 60 DISCOVERY_MODE PRE_TEST
    PROPERTIES LABELS ${name} ${ARG_PROPERTIES})
endfunction()
