# The CUDA backend's tests, included from tests/engine/CMakeLists.txt. cuda_availability_test
# runs in every build (no GPU or no CUDA → the backend says so cleanly); the GPU suites are built
# only with CUDA and skip themselves on a machine without a GPU. bench/gpu's driver is built here
# too, since it needs the same libraries.
greentrain_add_test(cuda_availability_test
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/cuda_availability_test.cpp
  LIBS greentrain_engine)
if(GREENTRAIN_HAVE_CUDA)
  greentrain_add_test(cuda_backend_test
    SOURCES ${CMAKE_CURRENT_LIST_DIR}/cuda_backend_test.cpp
    LIBS greentrain_engine greentrain_engine_cuda nlohmann_json::nlohmann_json)
  if(EXISTS ${CMAKE_CURRENT_LIST_DIR}/reference.h)
    greentrain_add_test(cuda_reference_test
      SOURCES ${CMAKE_CURRENT_LIST_DIR}/cuda_reference_test.cpp
      LIBS greentrain_engine greentrain_engine_cuda nlohmann_json::nlohmann_json)
  endif()
  file(GLOB gt_cpu_backend_sources ${PROJECT_SOURCE_DIR}/src/engine/cpu/*.cpp)
  if(gt_cpu_backend_sources)
    greentrain_add_test(cuda_cpu_parity_test
      SOURCES ${CMAKE_CURRENT_LIST_DIR}/cuda_cpu_parity_test.cpp
      LIBS greentrain_engine greentrain_engine_cuda)
  endif()
  include(${PROJECT_SOURCE_DIR}/bench/gpu/bench.cmake)
endif()
