// Pushgateway client (see pushgateway.h).
#include "prometheus/pushgateway.h"

#include <curl/curl.h>
#include <fmt/core.h>

#include <algorithm>
#include <cmath>
#include <memory>

#include "common/error.h"

namespace gt::prometheus {
namespace {

bool plain(std::string_view v) {
  return !v.empty() && std::all_of(v.begin(), v.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '-';
  });
}

std::string segment(const std::string& label, const std::string& value) {
  return plain(value) ? fmt::format("/{}/{}", label, value)
                      : fmt::format("/{}@base64/{}", label, base64url(value));
}

// The start of the response body: the Pushgateway says there why it refused a push.
size_t keep_start(char* data, size_t size, size_t n, void* user) {
  auto* text = static_cast<std::string*>(user);
  if (text->size() < 200) text->append(data, std::min(size * n, 200 - text->size()));
  return size * n;
}

}  // namespace

std::string GroupingKey::text() const {
  std::string out = "job=" + job;
  for (const auto& [k, v] : labels)
    if (!v.empty()) out += "," + k + "=" + v;
  return out;
}

void check_pushgateway_url(const std::string& url, const std::string& flag) {
  auto refuse = [&](const char* why) {
    throw UsageError(
        fmt::format("{} {}: {} (expected the Pushgateway's address, e.g. http://127.0.0.1:9091)",
                    flag, url, why));
  };
  const auto scheme_end = url.find("://");
  if (scheme_end == std::string::npos) refuse("not a URL");
  const std::string scheme = url.substr(0, scheme_end);
  if (scheme != "http" && scheme != "https") refuse("only http:// and https:// are supported");
  const std::string rest = url.substr(scheme_end + 3);
  if (rest.empty() || rest[0] == '/' || rest[0] == ':') refuse("no host");
  if (rest.find_first_of("?#") != std::string::npos) refuse("a query or fragment is not allowed");
  if (rest.find_first_of(" \t\r\n") != std::string::npos) refuse("white space in the URL");
}

std::string base64url(std::string_view bytes) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    const unsigned v = static_cast<unsigned char>(bytes[i]) << 16 |
                       static_cast<unsigned char>(bytes[i + 1]) << 8 |
                       static_cast<unsigned char>(bytes[i + 2]);
    for (int shift : {18, 12, 6, 0}) out += kAlphabet[(v >> shift) & 63];
  }
  if (const size_t left = bytes.size() - i; left > 0) {
    unsigned v = static_cast<unsigned char>(bytes[i]) << 16;
    if (left == 2) v |= static_cast<unsigned char>(bytes[i + 1]) << 8;
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += left == 2 ? kAlphabet[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out.empty() ? "=" : out;  // the Pushgateway's spelling of an empty value
}

std::string group_url(const std::string& base, const GroupingKey& key) {
  std::string url = base;
  while (!url.empty() && url.back() == '/') url.pop_back();
  url += "/metrics" + segment("job", key.job);
  for (const auto& [k, v] : key.labels)
    if (!v.empty()) url += segment(k, v);
  return url;
}

std::string put_metrics(const std::string& url, const std::string& body, double timeout_s) {
  std::unique_ptr<CURL, void (*)(CURL*)> curl(curl_easy_init(), curl_easy_cleanup);
  if (!curl) return "libcurl could not start a transfer";
  std::unique_ptr<curl_slist, void (*)(curl_slist*)> headers(
      curl_slist_append(nullptr, "Content-Type: text/plain; version=0.0.4; charset=utf-8"),
      curl_slist_free_all);
  const long timeout_ms = std::max(1L, std::lround(timeout_s * 1e3));
  CURL* c = curl.get();
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, "PUT");
  curl_easy_setopt(c, CURLOPT_POSTFIELDS, body.data());
  curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers.get());
  std::string response;
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, keep_start);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &response);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);  // a timeout must not raise SIGALRM in threads
  char error[CURL_ERROR_SIZE] = {};
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, error);
  const CURLcode rc = curl_easy_perform(c);
  if (rc != CURLE_OK) return fmt::format("{}", error[0] ? error : curl_easy_strerror(rc));
  long status = 0;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
  if (status < 200 || status >= 300) {
    response = response.substr(0, response.find('\n'));
    return fmt::format("HTTP status {}{}", status, response.empty() ? "" : ": " + response);
  }
  return "";
}

}  // namespace gt::prometheus
