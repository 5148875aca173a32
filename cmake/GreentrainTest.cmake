# greentrain_add_test(NAME SOURCES a.cpp b.cpp LIBS lib1 lib2): one GoogleTest executable whose
# tests CTest discovers individually. Tests find the source tree and the greentrain binary
# through the GREENTRAIN_SOURCE_DIR / GREENTRAIN_BINARY environment variables.
function(greentrain_add_test name)
  cmake_parse_arguments(ARG "" "" "SOURCES;LIBS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE ${ARG_LIBS} GTest::gtest GTest::gtest_main GTest::gmock)
  gtest_discover_tests(${name} DISCOVERY_TIMEOUT 60 DISCOVERY_MODE PRE_TEST
    PROPERTIES ENVIRONMENT
      "GREENTRAIN_SOURCE_DIR=${PROJECT_SOURCE_DIR};GREENTRAIN_BINARY=$<TARGET_FILE:greentrain>;GREENTRAIN_BUILD_DIR=${PROJECT_BINARY_DIR}")
endfunction()
