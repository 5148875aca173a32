# The CUDA backend's tests, included from tests/engine/CMakeLists.txt. cuda_availability_test
# runs in every build (no GPU or no CUDA → the backend says so cleanly); the GPU suites are built
# only with CUDA (they need its headers and libraries) and skip themselves on a machine without
# a GPU. bench/gpu's driver is built here too, since it needs the same libraries.
greentrain_add_test(cuda_availability_test
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/cuda_availability_test.cpp
  LIBS greentrain_engine)
if(GREENTRAIN_HAVE_CUDA)
  # The float64 reference of cuda_backend_test, made once per test run like engine_reference.
  add_test(NAME engine_reference_cuda
    COMMAND ${GREENTRAIN_PYTHON} ${CMAKE_CURRENT_LIST_DIR}/make_cuda_reference.py
            ${engine_reference_dir}/cuda_reference.json)
  set_tests_properties(engine_reference_cuda PROPERTIES FIXTURES_SETUP engine_reference_cuda)
  greentrain_add_test(cuda_backend_test
    SOURCES ${CMAKE_CURRENT_LIST_DIR}/cuda_backend_test.cpp
    LIBS greentrain_engine greentrain_engine_cuda nlohmann_json::nlohmann_json
    PROPERTIES FIXTURES_REQUIRED engine_reference_cuda)
  # The shared reference's one-hidden-layer variant: the shape the fused MLP kernel runs.
  add_test(NAME engine_reference_one_hidden
    COMMAND ${GREENTRAIN_PYTHON} ${CMAKE_CURRENT_LIST_DIR}/make_reference.py
            ${engine_reference_dir}/reference-one-hidden.json --hidden 24)
  set_tests_properties(engine_reference_one_hidden PROPERTIES
    FIXTURES_SETUP engine_reference_one_hidden)
  greentrain_add_test(cuda_reference_test
    SOURCES ${CMAKE_CURRENT_LIST_DIR}/cuda_reference_test.cpp
    LIBS greentrain_engine greentrain_engine_cuda nlohmann_json::nlohmann_json
    PROPERTIES FIXTURES_REQUIRED "engine_reference;engine_reference_one_hidden")
  greentrain_add_test(cuda_cpu_parity_test
    SOURCES ${CMAKE_CURRENT_LIST_DIR}/cuda_cpu_parity_test.cpp
    LIBS greentrain_engine greentrain_engine_cuda)
  include(${PROJECT_SOURCE_DIR}/bench/gpu/bench.cmake)
endif()
