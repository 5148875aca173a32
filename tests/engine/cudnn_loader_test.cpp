// The cuDNN loader's search (cudnn_locate.h) on fake machines: the order of the places, the
// folder and de-duplication rules, and the one-line reason kept for each place that fails
// (missing file, not a cuDNN, a cuDNN older than 9, a 9.x lacking entry points), using small
// fake libraries built with the tests and a fake Python wheel layout; then the same lines through
// `greentrain devices` with GREENTRAIN_CUDNN_LIB. No GPU needed.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <string>
#include <vector>

#include "common/locations.h"
#include "common/subprocess.h"
#include "common/temp_dir.h"
#include "engine/cuda/cudnn_library.h"
#include "engine/cuda/cudnn_locate.h"

namespace gt::engine::cuda {
namespace {

namespace fs = std::filesystem;
using gt::testing::TempDir;

const std::string kOld = GT_FAKE_CUDNN_OLD;    // cudnnGetVersion() = 8907
const std::string kNine = GT_FAKE_CUDNN_NINE;  // cudnnGetVersion() = 91900, nothing else
const std::string kNone = GT_FAKE_NOT_CUDNN;   // no cudnnGetVersion

std::vector<std::string> places(const std::vector<CudnnCandidate>& cs) {
  std::vector<std::string> out;
  for (const CudnnCandidate& c : cs) out.push_back(c.place);
  return out;
}

// A Python interpreter (an executable file) under root/venv/bin with a wheel folder holding
// `library` as libcudnn.so.9; returns that file's path.
std::string fake_wheel(const TempDir& root, const std::string& library) {
  const fs::path bin = root.path() / "venv/bin";
  gt::testing::write_file(bin / "python3", "#!/bin/sh\n");
  chmod((bin / "python3").c_str(), 0755);
  const fs::path lib = root.path() / "venv/lib/python3.11/site-packages/nvidia/cudnn/lib";
  fs::create_directories(lib);
  fs::copy_file(library, lib / "libcudnn.so.9");
  return (lib / "libcudnn.so.9").string();
}

std::string accept_all(void*, size_t) { return ""; }

TEST(CudnnLoader, SearchOrderIsVariableLoaderToolkitThenWheels) {
  TempDir root;
  fs::create_directories(root.path() / "cuda/lib64");
  const std::string wheel = fake_wheel(root, kNine);
  CudnnSearchInputs in;
  in.env_library = root / "mine/libcudnn.so.9";
  in.toolkit_dirs = {root / "cuda/lib64", root / "absent/lib64"};
  in.path_env = root / "venv/bin";
  const std::vector<CudnnCandidate> cs = cudnn_candidates(in);
  EXPECT_EQ(places(cs), (std::vector<std::string>{"GREENTRAIN_CUDNN_LIB", "dynamic loader",
                                                  "CUDA toolkit", "Python wheel"}));
  EXPECT_EQ(cs[0].path, root / "mine/libcudnn.so.9");
  EXPECT_EQ(cs[1].path, "libcudnn.so.9");
  EXPECT_EQ(cs[2].path, root / "cuda/lib64/libcudnn.so.9");  // the missing folder is not listed
  EXPECT_EQ(cs[3].path, wheel);
}

TEST(CudnnLoader, EmptyPlacesSayWhyInOneLineEach) {
  TempDir root;
  CudnnSearchInputs in;
  in.loader_paths = false;
  in.toolkit_dirs = {root / "cuda/lib64"};
  in.path_env = root / "bin";
  const std::vector<CudnnCandidate> cs = cudnn_candidates(in);
  ASSERT_EQ(cs.size(), 3u);
  EXPECT_EQ(cs[0].nothing, "not set");
  EXPECT_NE(cs[1].nothing.find("no library folder exists (" + (root / "cuda/lib64") + ")"),
            std::string::npos)
      << cs[1].nothing;
  EXPECT_NE(cs[2].nothing.find("no site-packages folder"), std::string::npos) << cs[2].nothing;
  const LocatedCudnn found = locate_cudnn(cs, accept_all);
  EXPECT_EQ(found.library, nullptr);
  ASSERT_EQ(found.attempts.size(), 3u);
  EXPECT_EQ(found.attempts[0].line(), "GREENTRAIN_CUDNN_LIB: not set");
  EXPECT_EQ(found.failure().find('\n'), std::string::npos);
}

TEST(CudnnLoader, VariableNamingAFolderMeansTheLibraryInIt) {
  TempDir root;
  CudnnSearchInputs in;
  in.env_library = root.str();
  in.loader_paths = false;
  EXPECT_EQ(cudnn_candidates(in)[0].path, root / "libcudnn.so.9");
}

TEST(CudnnLoader, FoldersAreListedOnceAfterResolvingLinks) {
  TempDir root;
  fs::create_directories(root.path() / "cuda/lib");
  fs::create_directory_symlink(root.path() / "cuda/lib", root.path() / "cuda/lib64");
  fs::create_directories(root.path() / "usr/local/lib/python3.12/dist-packages");
  CudnnSearchInputs in;
  in.loader_paths = false;
  in.toolkit_dirs = {root / "cuda/lib64", root / "cuda/lib"};
  in.site_patterns = {root / "usr/local/lib/python3*/dist-packages",
                      root / "usr/local/lib/python3.12/dist-packages"};
  const std::vector<CudnnCandidate> cs = cudnn_candidates(in);
  ASSERT_EQ(cs.size(), 3u);
  EXPECT_EQ(cs[1].path, root / "cuda/lib64/libcudnn.so.9");
  EXPECT_EQ(cs[2].path,
            root / "usr/local/lib/python3.12/dist-packages/nvidia/cudnn/lib/libcudnn.so.9");
}

TEST(CudnnLoader, EachFailureKeepsItsReasonAndTheSearchGoesOn) {
  TempDir root;
  fs::create_directories(root.path() / "cuda/lib64");
  fs::copy_file(kNone, root.path() / "cuda/lib64/libcudnn.so.9");
  const std::string wheel = fake_wheel(root, kOld);
  CudnnSearchInputs in;
  in.env_library = root / "missing/libcudnn.so.9";
  in.loader_paths = false;
  in.toolkit_dirs = {root / "cuda/lib64"};
  in.path_env = root / "venv/bin";
  const LocatedCudnn found = locate_cudnn(cudnn_candidates(in), accept_all);
  EXPECT_EQ(found.library, nullptr);
  ASSERT_EQ(found.attempts.size(), 3u);
  EXPECT_EQ(found.attempts[0].line(),
            "GREENTRAIN_CUDNN_LIB " + (root / "missing/libcudnn.so.9") + ": not found");
  EXPECT_EQ(found.attempts[1].line(), "CUDA toolkit " + (root / "cuda/lib64/libcudnn.so.9") +
                                          ": not a cuDNN library (it has no cudnnGetVersion)");
  EXPECT_EQ(found.attempts[2].line(),
            "Python wheel " + wheel + ": cuDNN 8.9.7 is too old (9.0 or newer needed)");
  const std::string failure = found.failure();
  EXPECT_EQ(failure.find('\n'), std::string::npos);
  for (const CudnnAttempt& a : found.attempts)
    EXPECT_NE(failure.find(a.line()), std::string::npos) << failure;
}

TEST(CudnnLoader, FirstUsablePlaceWinsAndNamesItsFile) {
  TempDir root;
  const std::string wheel = fake_wheel(root, kNine);
  CudnnSearchInputs in;
  in.env_library = kOld;
  in.loader_paths = false;
  in.path_env = root / "venv/bin";
  const LocatedCudnn found = locate_cudnn(cudnn_candidates(in), accept_all);
  ASSERT_NE(found.library, nullptr);
  EXPECT_EQ(found.version, 91900u);
  EXPECT_EQ(fs::canonical(found.path), fs::canonical(wheel));
  ASSERT_EQ(found.attempts.size(), 2u);
  EXPECT_EQ(found.attempts[1].outcome, "used (cuDNN 9.19.0)");
}

TEST(CudnnLoader, ANineWithoutTheGraphApiIsRefused) {
  CudnnSearchInputs in;
  in.env_library = kNine;
  in.loader_paths = false;
  const LocatedCudnn found = locate_cudnn(cudnn_candidates(in), [](void* lib, size_t) {
    Cudnn api{};
    return bind_cudnn(lib, api);
  });
  EXPECT_EQ(found.library, nullptr);
  EXPECT_EQ(found.attempts[0].outcome, "cuDNN 9.19.0 lacks cudnnGetCudartVersion");
}

TEST(CudnnLoader, VersionNumbersReadAsCudnnWritesThem) {
  EXPECT_EQ(cudnn_version_text(91900), "9.19.0");
  EXPECT_EQ(cudnn_version_text(90100), "9.1.0");
  EXPECT_EQ(cudnn_version_text(8907), "8.9.7");
  EXPECT_EQ(cudnn_version_text(7605), "7.6.5");
  EXPECT_EQ(cudart_version_text(13010), "13.1");
  EXPECT_EQ(cudart_version_text(12080), "12.8");
}

// The same reasons reach the user through `greentrain devices`, one line per place.
std::string devices_with(const std::string& library) {
  const auto r = gt::testing::run_shell("GREENTRAIN_CUDNN_LIB='" + library + "' " +
                                        gt::testing::greentrain_binary() + " devices --gpus none");
  EXPECT_EQ(r.code, 0) << r.out << r.err;
  return r.out;
}

TEST(CudnnLoader, DevicesVerbPrintsEveryPlaceTried) {
  EXPECT_NE(devices_with("/nonexistent/libcudnn.so.9")
                .find("\n  GREENTRAIN_CUDNN_LIB /nonexistent/libcudnn.so.9: not found\n"),
            std::string::npos);
  EXPECT_NE(devices_with(kNone).find("\n  GREENTRAIN_CUDNN_LIB " + kNone +
                                     ": not a cuDNN library (it has no cudnnGetVersion)\n"),
            std::string::npos);
  const std::string out = devices_with(kOld);
  EXPECT_NE(out.find("\n  GREENTRAIN_CUDNN_LIB " + kOld +
                     ": cuDNN 8.9.7 is too old (9.0 or newer needed)\n"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("cuDNN (the CUDA backend's CNN path): "), std::string::npos) << out;
}

}  // namespace
}  // namespace gt::engine::cuda
