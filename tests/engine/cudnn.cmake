# The cuDNN path's tests, included from tests/engine/CMakeLists.txt.
#   cudnn_status_test  every build: the path reports what it has, or why the build lacks it, and
#                      `greentrain devices` prints it;
#   cudnn_loader_test  the loader's search order and its reason per place, against fake
#                      libraries built here (a cuDNN 8.9.7, a 9.19.0 with nothing but
#                      cudnnGetVersion, a library that is not cuDNN) and a fake wheel layout;
#   cudnn_plan_test    plan keys, padding, the precision rules, the autotune file, and every
#                      problem's descriptors finalised by the real cuDNN when it loads (no GPU);
#   cuda_cudnn_test    on a GPU: each convolution op and BatchNorm in each precision against a
#                      float64 CPU reference, plans, bound calls and autotune; skips without one;
#   cuda_cnn_test      on a GPU: the CUDA backend's CNN path against the CPU backend per layer and
#                      for N steps, loss scaling, evaluation, CUDA graph ≡ eager, streamed ≡
#                      resident data; skips without one.
greentrain_add_test(cudnn_status_test SOURCES ${CMAKE_CURRENT_LIST_DIR}/cudnn_status_test.cpp
  LIBS greentrain_engine)
target_compile_definitions(cudnn_status_test PRIVATE
  GT_TEST_HAVE_CUDNN=$<BOOL:${GREENTRAIN_HAVE_CUDNN}>)
add_dependencies(cudnn_status_test greentrain)
if(GREENTRAIN_HAVE_CUDNN)
  foreach(fake old nine not)
    add_library(gt_fake_cudnn_${fake} MODULE ${CMAKE_CURRENT_LIST_DIR}/fake_cudnn.c)
  endforeach()
  target_compile_definitions(gt_fake_cudnn_old PRIVATE GT_FAKE_CUDNN_VERSION=8907)
  target_compile_definitions(gt_fake_cudnn_nine PRIVATE GT_FAKE_CUDNN_VERSION=91900)
  greentrain_add_test(cudnn_loader_test SOURCES ${CMAKE_CURRENT_LIST_DIR}/cudnn_loader_test.cpp
    LIBS greentrain_engine_cuda)
  target_include_directories(cudnn_loader_test PRIVATE ${CUDNN_INCLUDE_DIR})
  target_compile_definitions(cudnn_loader_test PRIVATE
    GT_FAKE_CUDNN_OLD="$<TARGET_FILE:gt_fake_cudnn_old>"
    GT_FAKE_CUDNN_NINE="$<TARGET_FILE:gt_fake_cudnn_nine>"
    GT_FAKE_NOT_CUDNN="$<TARGET_FILE:gt_fake_cudnn_not>")
  add_dependencies(cudnn_loader_test gt_fake_cudnn_old gt_fake_cudnn_nine gt_fake_cudnn_not
    greentrain)
  greentrain_add_test(cudnn_plan_test SOURCES ${CMAKE_CURRENT_LIST_DIR}/cudnn_plan_test.cpp
    LIBS greentrain_engine_cuda)
  target_include_directories(cudnn_plan_test PRIVATE ${CUDNN_INCLUDE_DIR})
  greentrain_add_test(cuda_cudnn_test SOURCES ${CMAKE_CURRENT_LIST_DIR}/cuda_cudnn_test.cpp
    LIBS greentrain_engine greentrain_engine_cuda)
  target_include_directories(cuda_cudnn_test PRIVATE ${CUDNN_INCLUDE_DIR})
  greentrain_add_test(cuda_cnn_test SOURCES ${CMAKE_CURRENT_LIST_DIR}/cuda_cnn_test.cpp
    LIBS greentrain_engine greentrain_engine_cuda)
endif()
