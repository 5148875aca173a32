# The cuDNN (CNN) path of the CUDA backend: GREENTRAIN_CUDNN=AUTO|ON|OFF. cuDNN is never linked
# (engine/cuda/cudnn_library.cpp loads libcudnn.so.9 at run time); building the path needs only
# cuDNN 9's headers (cudnn_graph.h exists from 9.0 on), looked for next to the CUDA toolkit's
# headers, in CUDNN_INCLUDE_DIR, or in $CUDNN_PATH/include. Sets GREENTRAIN_HAVE_CUDNN, and
# GREENTRAIN_CUDNN_ABSENT (why the path is absent, said by `greentrain devices`) when it is off.
set(GREENTRAIN_CUDNN AUTO CACHE STRING "Build the cuDNN (CNN) path of the CUDA backend: AUTO, ON or OFF")
set_property(CACHE GREENTRAIN_CUDNN PROPERTY STRINGS AUTO ON OFF)
set(GREENTRAIN_HAVE_CUDNN OFF)
set(GREENTRAIN_CUDNN_ABSENT "")
if(NOT GREENTRAIN_HAVE_CUDA)
  set(GREENTRAIN_CUDNN_ABSENT "this greentrain was built without CUDA")
elseif(GREENTRAIN_CUDNN STREQUAL "OFF")
  set(GREENTRAIN_CUDNN_ABSENT "this greentrain was built with -DGREENTRAIN_CUDNN=OFF")
else()
  find_path(CUDNN_INCLUDE_DIR cudnn_graph.h
    HINTS ${CUDAToolkit_INCLUDE_DIRS} ENV CUDNN_PATH
    PATH_SUFFIXES include
    DOC "Folder holding cuDNN 9's headers (cudnn_graph.h)")
  if(CUDNN_INCLUDE_DIR AND EXISTS "${CUDNN_INCLUDE_DIR}/cudnn_graph.h")
    set(GREENTRAIN_HAVE_CUDNN ON)
  elseif(GREENTRAIN_CUDNN STREQUAL "ON")
    message(FATAL_ERROR "GREENTRAIN_CUDNN=ON but cuDNN 9's headers (cudnn_graph.h) were not found "
      "(CUDNN_INCLUDE_DIR=${CUDNN_INCLUDE_DIR})")
  else()
    set(GREENTRAIN_CUDNN_ABSENT
      "this greentrain was built without cuDNN 9's headers (no cudnn_graph.h was found)")
  endif()
endif()
if(GREENTRAIN_HAVE_CUDNN)
  message(STATUS "greentrain: cuDNN path ON (headers in ${CUDNN_INCLUDE_DIR})")
else()
  message(STATUS "greentrain: cuDNN path OFF: ${GREENTRAIN_CUDNN_ABSENT}")
endif()
