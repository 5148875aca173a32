// The Pushgateway's HTTP API, through libcurl: a group of metrics is identified by its grouping
// key (the job and further label pairs), which becomes the URL path
// <base>/metrics/job/<job>/<label>/<value>...; a PUT replaces everything the group held. A
// value that is not plain URL text ([A-Za-z0-9._-]+) is written base64url-encoded as
// <label>@base64/<encoded>, the form the Pushgateway defines for values with slashes and other
// characters. Every transfer is bounded by a timeout; failures come back as one line.
#pragma once
#include <string>

#include "prometheus/exposition.h"

namespace gt::prometheus {

struct GroupingKey {
  std::string job = "greentrain";
  Labels labels;             // label pairs after the job, in URL order; empty values are left out
  std::string text() const;  // "job=greentrain,host=n1,run=3": a stable identity for the group
};

// Throws gt::UsageError (naming `flag`) unless `url` is an http:// or https:// URL with a host
// and no query or fragment: where a Pushgateway listens ("http://127.0.0.1:9091").
void check_pushgateway_url(const std::string& url, const std::string& flag);

// RFC 4648 base64 with the URL-safe alphabet and padding.
std::string base64url(std::string_view bytes);

// <base>/metrics/job/<job>/<label>/<value>... (a trailing slash of `base` is dropped).
std::string group_url(const std::string& base, const GroupingKey& key);

// PUTs `body` (exposition text) to `url`, waiting at most `timeout_s` for the whole transfer.
// Returns "" when the Pushgateway accepted it (2xx), else why not in one line.
std::string put_metrics(const std::string& url, const std::string& body, double timeout_s);

}  // namespace gt::prometheus
