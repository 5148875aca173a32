// SHA-256 through OpenSSL's EVP interface (see sha256.h).
#include "common/sha256.h"

#include <fmt/core.h>
#include <openssl/evp.h>

#include "common/error.h"

namespace gt {

std::string sha256_hex(const std::string& data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (!EVP_Digest(data.data(), data.size(), md, &len, EVP_sha256(), nullptr))
    throw gt::Error("sha256 failed");
  std::string hex;
  for (unsigned i = 0; i < len; ++i) hex += fmt::format("{:02x}", md[i]);
  return hex;
}

}  // namespace gt
