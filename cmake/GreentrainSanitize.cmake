# Checked builds. GREENTRAIN_SANITIZE=ON compiles and links everything (libraries, tests, the
# binary) with AddressSanitizer and UndefinedBehaviorSanitizer; any finding aborts the process,
# so it fails the test that triggered it. GREENTRAIN_FUZZ=ON (clang only) adds coverage
# instrumentation for libFuzzer and builds the targets under fuzz/. `make test-sanitize` and
# `make fuzz` configure them in build-asan.
option(GREENTRAIN_SANITIZE "Build with AddressSanitizer and UndefinedBehaviorSanitizer" OFF)
option(GREENTRAIN_FUZZ "Build the libFuzzer targets under fuzz/ (needs clang)" OFF)
if(GREENTRAIN_SANITIZE OR GREENTRAIN_FUZZ)
  # -O0 (after the build type's -O3, so it wins): the checks are the same at every level, and
  # instrumented code compiles in half the time unoptimised (clang's -O1 saves nothing over
  # -O3 here). Most of the suite waits on children, sleeps, Python and browsers, so it barely
  # runs slower; the modules that do the heavy computing (engine, data, stats) or whose tests
  # bound their own CPU cost and latency (energy's sampler, run's marks and phase windows) stay
  # optimised, through greentrain_sanitize_optimized(): unoptimised, those tests ran several
  # times longer or failed their bounds. Fuzz targets run fewer inputs per second.
  add_compile_options(-O0 -fsanitize=address,undefined -fno-sanitize-recover=all
                      -fno-omit-frame-pointer -g1)
  add_link_options(-fsanitize=address,undefined)
  # The instrumentation keeps clang from vectorising `omp simd` loops; that is expected here.
  if(CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    add_compile_options(-Wno-pass-failed)
  endif()
endif()
if(GREENTRAIN_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    message(FATAL_ERROR "GREENTRAIN_FUZZ=ON needs clang (-DCMAKE_CXX_COMPILER=clang++)")
  endif()
  add_compile_options(-fsanitize=fuzzer-no-link)
endif()

# greentrain_sanitize_optimized(TARGET): in a checked build, TARGET keeps -O3 instead of -O0.
function(greentrain_sanitize_optimized target)
  if(GREENTRAIN_SANITIZE OR GREENTRAIN_FUZZ)
    target_compile_options(${target} PRIVATE -O3)
  endif()
endfunction()
