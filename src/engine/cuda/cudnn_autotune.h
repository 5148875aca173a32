// The autotune file of the cuDNN path: which engine configuration won the timing for each plan
// key, so a shape is timed once per machine, not once per run. A small text file:
//   # greentrain cuDNN autotune v1
//   # context: cuDNN 9.19.0, NVIDIA H100 80GB HBM3 (sm_90)
//   <plan key>\t<engine tag>\t<milliseconds>
// Choices made under another context (another GPU or cuDNN version) are ignored and the file is
// rewritten on the next tuning; malformed lines are skipped. Writes go to a temporary file that
// is then renamed, so a reader never sees half a file. Plain C++: no cuDNN here.
#pragma once
#include <map>
#include <optional>
#include <string>

namespace gt::engine::cuda {

class AutotuneFile {
 public:
  // Reads `path` when it exists (a missing file is an empty one); throws gt::Error only when it
  // exists and cannot be read. An empty path keeps the choices in memory only.
  AutotuneFile(std::string path, std::string context);

  std::optional<std::string> choice(const std::string& key) const;
  // Records a choice and rewrites the file; throws gt::Error naming the file if it cannot.
  void record(const std::string& key, const std::string& engine, double milliseconds);

  const std::string& path() const { return path_; }
  size_t size() const { return choices_.size(); }
  // Why the file's earlier contents were set aside ("" when they were not).
  const std::string& note() const { return note_; }

 private:
  struct Choice {
    std::string engine;
    double milliseconds = 0;
  };
  std::string path_, context_, note_;
  std::map<std::string, Choice> choices_;
};

}  // namespace gt::engine::cuda
