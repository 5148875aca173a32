/* A stand-in for libcudnn.so in the loader's tests: with GT_FAKE_CUDNN_VERSION defined it
 * exports cudnnGetVersion() returning that number and nothing else of cuDNN (so it passes or
 * fails the version check, then lacks every other entry point); without it, it exports no cuDNN
 * symbol at all (a library that is not cuDNN). */
#include <stddef.h>

#ifdef GT_FAKE_CUDNN_VERSION
size_t cudnnGetVersion(void) { return GT_FAKE_CUDNN_VERSION; }
#else
int gt_fake_not_cudnn(void) { return 0; }
#endif
