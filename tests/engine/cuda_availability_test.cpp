// The CUDA entry points behave on any machine: cuda_device_count() never crashes (0 without a
// driver, a GPU or CUDA in the build), and asking for a device that is not there is a clear
// gt::Error rather than a crash.
#include <gtest/gtest.h>

#include <string>

#include "common/error.h"
#include "engine/backend.h"

namespace gt::engine {

TEST(CudaAvailability, DeviceCountNeverCrashes) { EXPECT_GE(cuda_device_count(), 0); }

TEST(CudaAvailability, MissingDeviceIsAClearError) {
  const int count = cuda_device_count();
  try {
    make_cuda_backend(count + 3);
    FAIL() << "make_cuda_backend(" << count + 3 << ") should have thrown";
  } catch (const gt::Error& e) {
    const std::string message = e.what();
    EXPECT_EQ(message.find('\n'), std::string::npos) << message;
    EXPECT_FALSE(message.empty());
  }
}

}  // namespace gt::engine
