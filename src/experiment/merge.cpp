// `experiment merge`: combines result databases of the same plan run on different machines
// (or as shards of one plan) into one. Experiments are matched by name and must share the
// plan hash; runs are matched by run_index, so merging the same input twice adds nothing.
#include <fmt/core.h>

#include <map>

#include "common/error.h"
#include "experiment/store.h"

namespace gt::experiment {

std::pair<int, int> merge_stores(const std::string& out_path,
                                 const std::vector<std::string>& inputs) {
  if (inputs.empty()) throw gt::UsageError("experiment merge: name at least one input database");
  std::vector<Store> in;
  in.reserve(inputs.size());
  for (const auto& p : inputs) {
    if (p == out_path)
      throw gt::UsageError(fmt::format("experiment merge: {} is both output and input", p));
    in.emplace_back(p, Store::Mode::read_only);
  }
  Store out(out_path);

  // Check every plan hash before writing anything.
  std::map<std::string, std::pair<std::string, std::string>> hash_of;  // name -> (hash, file)
  for (const auto& e : out.experiments()) hash_of[e.name] = {e.plan_hash, out_path};
  for (size_t i = 0; i < in.size(); ++i)
    for (const auto& e : in[i].experiments()) {
      auto [it, inserted] = hash_of.try_emplace(e.name, e.plan_hash, inputs[i]);
      if (!inserted && it->second.first != e.plan_hash)
        throw gt::Error(fmt::format(
            "experiment merge: experiment '{}' has a different plan in {} ({}) than in {} ({}); "
            "only runs of the same plan can be merged",
            e.name, inputs[i], e.plan_hash.substr(0, 19), it->second.second,
            it->second.first.substr(0, 19)));
    }

  int copied = 0, skipped = 0;
  for (auto& src : in) {
    for (const auto& e : src.experiments()) {
      auto target = out.find_experiment(e.name);
      const std::int64_t eid = target ? target->id : out.create_experiment(e);
      // Sessions: reuse one already copied (same start, host, shard), else copy.
      std::map<std::int64_t, std::int64_t> session_map;
      std::map<std::int64_t, bool> session_new;
      auto existing = out.sessions(eid);
      for (const auto& s : src.sessions(e.id)) {
        std::int64_t mapped = 0;
        for (const auto& x : existing)
          if (x.started_at == s.started_at && x.host == s.host && x.shard == s.shard) mapped = x.id;
        session_new[s.id] = mapped == 0;
        if (!mapped) {
          auto copy = s;
          copy.experiment_id = eid;
          mapped = out.add_session(copy);
        }
        session_map[s.id] = mapped;
      }
      std::map<int, RunStatus> have;
      for (const auto& r : out.runs(eid)) have[r.run_index] = r.status;
      for (auto r : src.runs(e.id)) {
        auto it = have.find(r.run_index);
        if (it != have.end() &&
            !(it->second == RunStatus::aborted && r.status != RunStatus::aborted)) {
          ++skipped;
          continue;
        }
        auto samples = src.samples(r.id);
        r.experiment_id = eid;
        r.session_id = r.session_id ? session_map[r.session_id] : 0;
        out.record_run(r, samples);
        have[r.run_index] = r.status;
        ++copied;
      }
      std::vector<IdleBaseline> idle;
      for (auto b : src.idle_baselines(e.id)) {
        if (b.session_id && !session_new[b.session_id]) continue;
        b.experiment_id = eid;
        b.session_id = b.session_id ? session_map[b.session_id] : 0;
        idle.push_back(b);
      }
      if (!idle.empty()) out.record_idle(idle);
    }
  }
  return {copied, skipped};
}

}  // namespace gt::experiment
