// SHA-256 of a byte string as 64 lowercase hex digits (OpenSSL's libcrypto): the plan hash of
// an experiment and the key of a decoded-image cache.
#pragma once
#include <string>

namespace gt {

std::string sha256_hex(const std::string& data);

}  // namespace gt
