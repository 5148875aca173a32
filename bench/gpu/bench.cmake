# Included from tests/engine/cuda.cmake. The GPU benchmark driver: trains Fashion-MNIST with the CUDA backend directly (no energy/
# experiment layers), reads the NVML energy counter around the training loop, prints JSON.
add_executable(greentrain_gpu_bench ${CMAKE_CURRENT_LIST_DIR}/bench_driver.cpp)
target_link_libraries(greentrain_gpu_bench PRIVATE greentrain_engine greentrain_engine_cuda
  CLI11::CLI11 ZLIB::ZLIB nlohmann_json::nlohmann_json ${CMAKE_DL_LIBS})
# The cuDNN engine survey (cudnn_survey.cpp): every candidate of a CNN's problems, timed.
if(GREENTRAIN_HAVE_CUDNN)
  add_executable(greentrain_cudnn_survey ${CMAKE_CURRENT_LIST_DIR}/cudnn_survey.cpp)
  target_link_libraries(greentrain_cudnn_survey PRIVATE greentrain_engine greentrain_engine_cuda
    CLI11::CLI11 nlohmann_json::nlohmann_json)
  target_include_directories(greentrain_cudnn_survey PRIVATE ${CUDNN_INCLUDE_DIR})
endif()
