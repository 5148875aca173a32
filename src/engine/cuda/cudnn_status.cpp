// engine::cudnn_status() of a build with the cuDNN path: the search of cudnn_library.h as data.
#include "engine/cudnn_status.h"

#include "engine/cuda/cudnn_library.h"

namespace gt::engine {

CudnnStatus cudnn_status() {
  const cuda::LocatedCudnn& search = cuda::cudnn_search();
  CudnnStatus status;
  for (const cuda::CudnnAttempt& attempt : search.attempts) status.tried.push_back(attempt.line());
  if (!search.library) return status;
  status.usable = true;
  status.library = search.path;
  status.version = cuda::cudnn_version_text(search.version);
  status.cuda = cuda::cudart_version_text(cuda::cudnn().get_cudart_version());
  return status;
}

}  // namespace gt::engine
