// A fake CUDA driver (libcuda.so.1) for the tests, loaded through GREENTRAIN_CUDA_DRIVER_LIB:
// just enough of the driver API for greentrain to ask which GPU UUIDs this process may use.
// GREENTRAIN_FAKE_CUDA lists the machine's GPU UUIDs in CUDA's own device order (which need not
// be NVML's), comma-separated; CUDA_VISIBLE_DEVICES, when set, picks from that list by CUDA
// index or UUID, as the real driver does.
#include <cstdlib>
#include <cstring>
#include <sstream>
#include <string>
#include <vector>

namespace {

std::vector<std::string> split(const char* text) {
  std::vector<std::string> out;
  std::stringstream ss(text ? text : "");
  for (std::string item; std::getline(ss, item, ',');)
    if (!item.empty()) out.push_back(item);
  return out;
}

std::vector<std::string> visible() {
  auto all = split(std::getenv("GREENTRAIN_FAKE_CUDA"));
  const char* cvd = std::getenv("CUDA_VISIBLE_DEVICES");
  if (!cvd) return all;
  std::vector<std::string> out;
  for (const auto& item : split(cvd)) {
    if (item.rfind("GPU-", 0) == 0) {
      for (const auto& u : all)
        if (u == item) out.push_back(u);
      continue;
    }
    char* end = nullptr;
    long i = std::strtol(item.c_str(), &end, 10);
    if (*end != '\0' || i < 0 || i >= static_cast<long>(all.size())) break;  // CUDA stops here
    out.push_back(all[static_cast<size_t>(i)]);
  }
  return out;
}

}  // namespace

extern "C" {

int cuInit(unsigned) { return 0; }
int cuDeviceGetCount(int* n) {
  *n = static_cast<int>(visible().size());
  return 0;
}
int cuDeviceGet(int* dev, int ordinal) {
  if (ordinal < 0 || ordinal >= static_cast<int>(visible().size())) return 101;  // invalid device
  *dev = ordinal;
  return 0;
}
// "GPU-" + 32 hex digits with dashes -> 16 bytes.
int cuDeviceGetUuid_v2(unsigned char* bytes, int dev) {
  auto v = visible();
  if (dev < 0 || dev >= static_cast<int>(v.size())) return 101;
  std::string hex;
  for (char c : v[static_cast<size_t>(dev)].substr(4))
    if (c != '-') hex += c;
  if (hex.size() != 32) return 1;
  for (int i = 0; i < 16; ++i)
    bytes[i] = static_cast<unsigned char>(std::stoul(hex.substr(2 * i, 2), nullptr, 16));
  return 0;
}

}  // extern "C"
