// Slurm job arrays for a plan (see slurm.h): the scripts, the results folder and its state,
// submission through sbatch, and per-task progress from the task databases. Slurm is asked
// as little as possible (one sbatch per job, one squeue per status or resubmission), because a
// busy controller is shared by everyone on the cluster.
#include "experiment/slurm.h"

#include <fmt/core.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "common/error.h"
#include "common/shell_text.h"
#include "common/utf8.h"
#include "experiment/design.h"
#include "experiment/store.h"
#include "run/process.h"

namespace gt::experiment {
namespace fs = std::filesystem;

namespace {

struct Captured {
  int code = -1;
  std::string out;
};

// Runs argv (no shell interpretation: every word is quoted) and captures stdout and stderr.
Captured capture(const std::vector<std::string>& argv) {
  std::string cmd;
  for (const auto& a : argv) cmd += (cmd.empty() ? "" : " ") + shell_quote(a);
  cmd += " 2>&1";
  Captured c;
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return c;
  char buf[4096];
  while (size_t n = fread(buf, 1, sizeof buf, p)) c.out.append(buf, n);
  int st = pclose(p);
  c.code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  while (!c.out.empty() && (c.out.back() == '\n' || c.out.back() == '\r')) c.out.pop_back();
  return c;
}

bool on_path(const std::string& program) {
  const char* path = std::getenv("PATH");
  std::stringstream ss(path ? path : "");
  for (std::string d; std::getline(ss, d, ':');)
    if (!d.empty() && access((fs::path(d) / program).c_str(), X_OK) == 0) return true;
  return false;
}

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void write_text(const std::string& path, const std::string& text) {
  std::ofstream out(path);
  out << text;
  if (!out) throw gt::Error(fmt::format("{}: cannot write", path));
}

bool job_id_text(const nlohmann::json& v) {
  if (!v.is_string()) return false;
  const auto& t = v.get_ref<const std::string&>();
  return !t.empty() && t.size() <= 20 && t.find_first_not_of("0123456789") == std::string::npos;
}

// submit.json, with every field's type and range checked before anything uses it: greentrain
// writes it, but a person may edit it. `blocks` (the plan's) bounds the task count.
nlohmann::json read_state(const ResultsFolder& f, int blocks) {
  if (!fs::exists(f.state())) return nlohmann::json::object();
  auto j = nlohmann::json::parse(read_text(f.state()), nullptr, false);
  if (j.is_discarded() || !j.is_object())
    throw gt::Error(fmt::format("{}: not a readable greentrain submit state (JSON)", f.state()));
  auto bad = [&](const std::string& what) {
    throw gt::Error(
        fmt::format("{}: {}; the file was edited or damaged: restore it, or remove it to start its "
                    "submission history afresh (the task databases stay)",
                    f.state(), what));
  };
  auto shown = [](const nlohmann::json& v) {
    return valid_utf8(v.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace), 40);
  };
  auto task_number = [&](const nlohmann::json& v) {
    return v.is_number_integer() && v.get<std::int64_t>() >= 1 && v.get<std::int64_t>() <= blocks;
  };
  if (j.contains("tasks") && !task_number(j["tasks"]))
    bad(fmt::format("tasks = {}: expected an integer in 1 .. {} (the plan's blocks)",
                    shown(j["tasks"]), blocks));
  if (j.contains("plan_hash") && !j["plan_hash"].is_string()) bad("plan_hash is not a string");
  if (j.contains("submissions")) {
    if (!j["submissions"].is_array()) bad("submissions is not a list");
    for (const auto& sub : j["submissions"]) {
      if (!sub.is_object()) bad(fmt::format("submission {} is not an object", shown(sub)));
      for (const char* k : {"array_job_id", "aggregate_job_id"})
        if (sub.contains(k) && !job_id_text(sub[k]))
          bad(fmt::format("{} = {}: expected a Slurm job id (digits, as a string)", k,
                          shown(sub[k])));
      if (sub.contains("submitted_at") && !sub["submitted_at"].is_string())
        bad("submitted_at is not a string");
      if (sub.contains("tasks_submitted")) {
        const auto& list = sub["tasks_submitted"];
        if (!list.is_array() || static_cast<int>(list.size()) > blocks ||
            !std::all_of(list.begin(), list.end(), task_number))
          bad(fmt::format("tasks_submitted = {}: expected a list of task numbers in 1 .. {}",
                          shown(list), blocks));
      }
    }
  }
  return j;
}

// "123" from sbatch --parsable's "123" or "123;cluster".
std::string job_id_of(const std::string& parsable) {
  auto id = parsable.substr(0, parsable.find(';'));
  auto nl = id.rfind('\n');
  if (nl != std::string::npos) id = id.substr(nl + 1);
  if (id.empty() || id.find_first_not_of("0123456789") != std::string::npos)
    throw gt::Error(fmt::format("sbatch did not print a job id: {}", parsable));
  return id;
}

std::string sbatch_line(const std::string& text) {
  std::string t = text;
  t.erase(0, t.find_first_not_of(" \t"));
  if (t.rfind("#SBATCH", 0) == 0) return t;
  return "#SBATCH " + t;
}

// "#SBATCH --key=VALUE" with VALUE one word for sbatch, which reads #SBATCH lines with the
// shell's quoting rules.
std::string sbatch_option(const std::string& key, const std::string& value) {
  return fmt::format("#SBATCH --{}={}\n", key, shell_quote(value));
}

// The scratch folder as a shell word of the job script: the node's ${TMPDIR:-/tmp} by default;
// a given folder literally, except that it may start with one of the node's environment
// variables ($NAME or ${NAME}), which the job expands.
std::string scratch_word(const std::string& scratch) {
  if (scratch.empty()) return "\"${TMPDIR:-/tmp}\"";
  if (scratch[0] == '$') {
    const bool braced = scratch.size() > 1 && scratch[1] == '{';
    const size_t start = braced ? 2 : 1;
    size_t end = start;
    while (end < scratch.size() &&
           (std::isalnum(static_cast<unsigned char>(scratch[end])) || scratch[end] == '_'))
      ++end;
    const bool name_ok = end > start && !std::isdigit(static_cast<unsigned char>(scratch[start]));
    if (name_ok && (!braced || (end < scratch.size() && scratch[end] == '}'))) {
      const std::string var = scratch.substr(start, end - start);
      const std::string rest = scratch.substr(braced ? end + 1 : end);
      return fmt::format("\"${{{}}}\"{}", var, rest.empty() ? "" : shell_quote(rest));
    }
  }
  return shell_quote(scratch);
}

// Refuses what cannot be written into a job script line: a control character in any text that
// goes there (a line break would start a line of its own), naming the option.
void check_script_text(const SlurmOptions& o, const std::string& results_dir) {
  auto check = [](const std::string& value, const std::string& key) {
    if (auto problem = control_character_problem(value))
      throw gt::UsageError(fmt::format("{}: {}", key, *problem));
  };
  check(results_dir,
        o.results_dir.empty() ? "the results folder (<plan name>-slurm here)" : "--results");
  check(o.partition, "--partition");
  check(o.account, "--account");
  check(o.time_limit, "--time");
  check(o.aggregate_time, "--aggregate-time");
  check(o.gres, "--gres");
  check(o.block_by, "--block-by");
  check(o.scratch, "--scratch");
  check(o.greentrain, "--greentrain");
  for (const auto& e : o.extra) check(e, "--sbatch");
}

// Job ids of `ids` that Slurm still has queued or running (one squeue call).
std::set<std::string> active_jobs(const std::vector<std::string>& ids) {
  std::set<std::string> out;
  if (ids.empty() || !on_path("squeue")) return out;
  std::string list;
  for (const auto& i : ids) list += (list.empty() ? "" : ",") + i;
  auto c = capture({"squeue", "-h", "-j", list, "-o", "%F %i %T"});
  if (c.code != 0) return out;  // squeue fails for jobs it no longer knows: nothing active
  std::stringstream ss(c.out);
  for (std::string line; std::getline(ss, line);) {
    std::stringstream ls(line);
    std::string array_id, id, state;
    ls >> array_id >> id >> state;
    if (!array_id.empty()) out.insert(array_id);
  }
  return out;
}

std::string results_dir_for(const Plan& plan, const std::string& given) {
  return fs::absolute(given.empty() ? plan.name + "-slurm" : given).lexically_normal().string();
}

}  // namespace

std::string array_spec(const std::vector<int>& idx, int throttle) {
  std::string out;
  for (size_t i = 0; i < idx.size();) {
    size_t j = i;
    while (j + 1 < idx.size() && idx[j + 1] == idx[j] + 1) ++j;
    out += (out.empty() ? "" : ",") +
           (j == i ? std::to_string(idx[i]) : fmt::format("{}-{}", idx[i], idx[j]));
    i = j + 1;
  }
  if (throttle > 0) out += fmt::format("%{}", throttle);
  return out;
}

std::vector<TaskProgress> task_progress(const Plan& plan, const ResultsFolder& f, int tasks) {
  const auto design = expand(plan);
  const auto hash = plan.hash();
  std::vector<TaskProgress> out;
  for (int i = 1; i <= tasks; ++i) {
    TaskProgress t;
    t.task = i;
    std::set<int> mine;
    for (const auto& r : shard_runs(design.runs, i, tasks)) mine.insert(r.run_index);
    t.planned = static_cast<int>(mine.size());
    if (fs::exists(f.task_db(i))) {
      t.has_db = true;
      Store s(f.task_db(i), Store::Mode::read_only);
      if (auto e = s.find_experiment(plan.name)) {
        if (e->plan_hash != hash)
          throw gt::Error(fmt::format("{}: holds another plan under the name '{}' ({})",
                                      f.task_db(i), plan.name, e->plan_hash.substr(0, 19)));
        for (const auto& r : s.runs(e->id)) {
          if (!mine.count(r.run_index)) continue;
          t.ok += r.status == RunStatus::ok;
          t.failed += r.status == RunStatus::failed;
          t.aborted += r.status == RunStatus::aborted;
        }
      }
    }
    out.push_back(t);
  }
  return out;
}

std::string array_script(const Plan& plan, const SlurmOptions& o, const ResultsFolder& f, int tasks,
                         const std::vector<int>& array_tasks) {
  std::string s = "#!/bin/bash\n";
  s += fmt::format(
      "# greentrain: experiment '{}' ({}) as a Slurm job array of {} task(s).\n"
      "# Task i runs shard i/{} of the plan: whole blocks (block b goes to task ((b-1) mod {})+1)\n"
      "# plus the warm-up runs, so every task's runs stay randomized within their blocks.\n"
      "# Written by `greentrain experiment submit --slurm`; submit by hand with: sbatch {}\n",
      plan.name, plan.hash().substr(0, 19), tasks, tasks, tasks, shell_quote(f.array_script()));
  s += sbatch_option("job-name", "gt-" + plan.name);
  s += sbatch_option("array", array_spec(array_tasks, o.throttle));
  s += sbatch_option("output", f.logs() + "/task-%a-job-%A.out");
  if (!o.partition.empty()) s += sbatch_option("partition", o.partition);
  if (!o.account.empty()) s += sbatch_option("account", o.account);
  if (!o.time_limit.empty()) s += sbatch_option("time", o.time_limit);
  if (!o.gres.empty() && o.gres != "none") s += sbatch_option("gres", o.gres);
  if (o.cpus_per_task > 0) s += fmt::format("#SBATCH --cpus-per-task={}\n", o.cpus_per_task);
  if (o.exclusive)
    s += "# Whole node: the wall meter and RAPL measure the node, so no other job may share it.\n"
         "#SBATCH --exclusive\n";
  for (const auto& e : o.extra) s += sbatch_line(e) + "\n";
  s += fmt::format(
      R"(set -uo pipefail
task=${{SLURM_ARRAY_TASK_ID:?submit this script with sbatch: it is an array job}}
# Slurm numbers GPUs in PCI order; make CUDA (the workload) number them the same way.
export CUDA_DEVICE_ORDER=PCI_BUS_ID
results={dir}
# The live database stays on node-local disk (SQLite is unsafe on network file systems); a
# consistent copy is published to $results/task-$task.db after every run, and a resubmitted
# task starts from that copy.
scratch={scratch}/"greentrain-${{SLURM_JOB_ID}}"
mkdir -p "$scratch"
trap 'rm -rf "$scratch"' EXIT
# On scancel or the time limit greentrain stops the run in flight, records it as aborted and
# publishes; this shell waits for it instead of dying first.
trap 'echo "task $task: terminated by Slurm" >&2' TERM INT
# A run that fails (a crash, out of memory) is recorded and does not fail the task.
{gt} experiment run {plan} --shard "$task/{n}" --db "$scratch/task-$task.db" \
  --publish "$results/task-$task.db" --failed-runs-ok{retry}
)",
      fmt::arg("dir", shell_quote(f.dir)), fmt::arg("scratch", scratch_word(o.scratch)),
      fmt::arg("gt", shell_quote(o.greentrain)), fmt::arg("plan", shell_quote(f.plan())),
      fmt::arg("n", tasks), fmt::arg("retry", o.retry_failed ? " --retry-failed" : ""));
  return s;
}

std::string aggregate_script(const Plan& plan, const SlurmOptions& o, const ResultsFolder& f) {
  std::string s = "#!/bin/bash\n";
  s += fmt::format(
      "# greentrain: merges the task databases of experiment '{}' into merged.db, then analyses\n"
      "# and reports it. Submitted by `greentrain experiment submit --slurm` to start when every\n"
      "# array task succeeded (--dependency=afterok). After a partial failure, run it by hand to\n"
      "# merge whatever the tasks finished:  bash {}\n"
      "# (merging is idempotent: a run already in merged.db is never added twice).\n",
      plan.name, shell_quote(f.aggregate_script()));
  s += sbatch_option("job-name", "gt-" + plan.name + "-aggregate");
  s += sbatch_option("output", f.logs() + "/aggregate-job-%j.out");
  if (!o.partition.empty()) s += sbatch_option("partition", o.partition);
  if (!o.account.empty()) s += sbatch_option("account", o.account);
  if (!o.aggregate_time.empty()) s += sbatch_option("time", o.aggregate_time);
  const std::string block = o.block_by.empty() ? "" : " --block-by " + shell_quote(o.block_by);
  s += fmt::format(R"(set -euo pipefail
gt={gt}
cd {dir}
dbs=()
for f in task-*.db; do [ -f "$f" ] && dbs+=("$f"); done
if [ ${{#dbs[@]}} -eq 0 ]; then echo "no task database in $PWD yet" >&2; exit 1; fi
# Merge on node-local disk (SQLite is unsafe on network file systems), publish a copy here.
scratch=$(mktemp -d "${{TMPDIR:-/tmp}}/greentrain-merge.XXXXXX")
trap 'rm -rf "$scratch"' EXIT
"$gt" experiment merge "$scratch/merged.db" "${{dbs[@]}}" --publish merged.db
"$gt" experiment status --db "$scratch/merged.db"
"$gt" analyze --db "$scratch/merged.db"{block} --format json -o analysis.json
"$gt" analyze --db "$scratch/merged.db"{block} --format markdown -o analysis.md
"$gt" report --db "$scratch/merged.db" --html report.html --md report.md
echo "merged.db, analysis.json, analysis.md, report.html and report.md are in $PWD"
)",
                   fmt::arg("gt", shell_quote(o.greentrain)), fmt::arg("dir", shell_quote(f.dir)),
                   fmt::arg("block", block));
  return s;
}

namespace {

const std::string kDependency = "--dependency=afterok:";

// The folder belongs to one plan: a resubmission must bring the same one (and then runs the
// folder's copy).
Plan folder_plan(const Plan& plan, const ResultsFolder& f) {
  if (!fs::exists(f.plan())) return plan;
  auto kept = load_plan(f.plan());
  if (kept.hash() != plan.hash())
    throw gt::Error(
        fmt::format("{} holds another plan ({}; this one is {}): choose another --results folder",
                    f.dir, kept.hash().substr(0, 19), plan.hash().substr(0, 19)));
  return kept;
}

// The number of array tasks: --tasks, else one per block; a resubmission keeps the first's.
int task_count(const SlurmOptions& o, const nlohmann::json& state, int blocks,
               const ResultsFolder& f) {
  int tasks = o.tasks > 0 ? o.tasks : blocks;
  if (state.contains("tasks")) {
    const int before = state["tasks"].get<int>();
    if (o.tasks > 0 && o.tasks != before)
      throw gt::UsageError(fmt::format(
          "{} was submitted as {} tasks; its shards must stay the same: drop --tasks or pass "
          "--tasks {} (or choose another --results folder)",
          f.dir, before, before));
    tasks = before;
  }
  if (tasks > blocks)
    throw gt::UsageError(fmt::format(
        "--tasks {}: the plan has {} blocks (repeats) and each task runs whole blocks; use at "
        "most {} tasks",
        tasks, blocks, blocks));
  return tasks;
}

// Never run a shard twice at once: refuse while an earlier submission is still in Slurm.
void refuse_while_active(const nlohmann::json& state, const ResultsFolder& f) {
  std::vector<std::string> earlier;
  if (state.contains("submissions"))
    for (const auto& s : state["submissions"])
      for (const char* k : {"array_job_id", "aggregate_job_id"})
        if (s.contains(k) && s[k].is_string()) earlier.push_back(s[k].get<std::string>());
  if (auto active = active_jobs(earlier); !active.empty())
    throw gt::Error(fmt::format(
        "{}: job {} of an earlier submission is still queued or running; wait for it or "
        "scancel it, then submit again",
        f.dir, *active.begin()));
}

// --dry-run: the scripts and the sbatch commands that would be run.
void print_dry_run(const ResultsFolder& f, const std::vector<int>& missing,
                   const std::string& array_text, const std::string& aggregate_text,
                   std::ostream& out) {
  const std::string& dependency = kDependency;
  out << fmt::format("# dry run: nothing is written or submitted. Results folder: {}\n", f.dir);
  if (missing.empty()) {
    out << "# every task database is complete: only the aggregation job would be submitted\n";
  } else {
    out << fmt::format("# ===== {} =====\n{}", f.array_script(), array_text);
  }
  out << fmt::format("# ===== {} =====\n{}", f.aggregate_script(), aggregate_text);
  out << "# ===== commands =====\n";
  if (missing.empty()) {
    out << fmt::format("sbatch {}\n", shell_quote(f.aggregate_script()));
  } else {
    out << fmt::format("ARRAY_JOB_ID=$(sbatch --parsable {})\n", shell_quote(f.array_script()));
    out << fmt::format("sbatch {}$ARRAY_JOB_ID --kill-on-invalid-dep=yes {}\n", dependency,
                       shell_quote(f.aggregate_script()));
  }
}

// Writes the scripts, submits the array job (for the missing tasks) and the aggregation job
// after it, and records the submission in the folder's state; returns the submission.
nlohmann::json submit_jobs(const Plan& plan, const ResultsFolder& f, nlohmann::json& state,
                           int tasks, const std::vector<int>& missing,
                           const std::string& array_text, const std::string& aggregate_text) {
  const std::string& dependency = kDependency;
  fs::create_directories(f.logs());
  if (!fs::exists(f.plan())) write_text(f.plan(), plan.text);
  nlohmann::json sub = {{"submitted_at", utc_now_iso()}, {"tasks_submitted", missing}};
  if (!missing.empty()) {
    write_text(f.array_script(), array_text);
    auto c = capture({"sbatch", "--parsable", f.array_script()});
    if (c.code != 0) throw gt::Error(fmt::format("sbatch {} failed: {}", f.array_script(), c.out));
    sub["array_job_id"] = job_id_of(c.out);
  }
  write_text(f.aggregate_script(), aggregate_text);
  std::vector<std::string> agg = {"sbatch", "--parsable"};
  if (sub.contains("array_job_id")) {
    agg.push_back(dependency + sub["array_job_id"].get<std::string>());
    agg.push_back("--kill-on-invalid-dep=yes");
  }
  agg.push_back(f.aggregate_script());
  auto c = capture(agg);
  if (c.code != 0) {
    state["tasks"] = tasks;
    state["plan_hash"] = plan.hash();
    state["submissions"].push_back(sub);
    write_text(f.state(), state.dump(2) + "\n");
    throw gt::Error(fmt::format("sbatch {} failed: {}", f.aggregate_script(), c.out));
  }
  sub["aggregate_job_id"] = job_id_of(c.out);
  state["tasks"] = tasks;
  state["plan_hash"] = plan.hash();
  state["submissions"].push_back(sub);
  write_text(f.state(), state.dump(2) + "\n");

  return sub;
}

}  // namespace

int submit_slurm(const std::string& plan_path, const SlurmOptions& opt, bool dry_run,
                 std::ostream& out) {
  SlurmOptions o = opt;
  if (o.greentrain.empty()) o.greentrain = run::self_executable();
  if (o.throttle < 0) throw gt::UsageError("--throttle must be 0 (no limit) or more");
  if (!o.block_by.empty() && o.block_by != "gpu" && o.block_by != "host")
    throw gt::UsageError(fmt::format("--block-by {}: expected gpu or host", o.block_by));
  auto plan = load_plan(plan_path);
  ResultsFolder f{results_dir_for(plan, o.results_dir)};
  check_script_text(o, f.dir);
  plan = folder_plan(plan, f);
  const int blocks = plan.design.repeats;
  auto state = read_state(f, blocks);
  const int tasks = task_count(o, state, blocks, f);
  if (!dry_run) refuse_while_active(state, f);

  std::vector<int> missing;
  for (const auto& t : task_progress(plan, f, tasks))
    if (!t.complete() || (o.retry_failed && t.failed > 0)) missing.push_back(t.task);
  const std::string array_text = missing.empty() ? "" : array_script(plan, o, f, tasks, missing);
  const std::string aggregate_text = aggregate_script(plan, o, f);
  if (dry_run) {
    print_dry_run(f, missing, array_text, aggregate_text, out);
    return 0;
  }
  if (!on_path("sbatch"))
    throw gt::Error(
        "sbatch is not on PATH: run this on a Slurm login node (or use --dry-run to see the "
        "scripts)");
  const nlohmann::json sub =
      submit_jobs(plan, f, state, tasks, missing, array_text, aggregate_text);
  if (missing.empty())
    out << fmt::format(
        "every task of '{}' is complete; submitted the aggregation job {}; results in {}\n",
        plan.name, sub["aggregate_job_id"].get<std::string>(), f.dir);
  else
    out << fmt::format(
        "submitted '{}': array job {} (tasks {} of {}), aggregation job {} after it; results "
        "in {}\nprogress: greentrain experiment status --slurm {}\n",
        plan.name, sub["array_job_id"].get<std::string>(), array_spec(missing, o.throttle), tasks,
        sub["aggregate_job_id"].get<std::string>(), f.dir, f.dir);
  return 0;
}

int slurm_status(const std::string& results_dir, std::ostream& out) {
  ResultsFolder f{fs::absolute(results_dir).lexically_normal().string()};
  if (!fs::exists(f.plan()) || !fs::exists(f.state()))
    throw gt::Error(fmt::format(
        "{}: not a greentrain Slurm results folder (no plan.toml and submit.json; submit with "
        "`greentrain experiment submit PLAN --slurm --results {}`)",
        f.dir, results_dir));
  const auto plan = load_plan(f.plan());
  const auto state = read_state(f, plan.design.repeats);
  const int tasks = state.value("tasks", 0);
  std::string array_id, aggregate_id;
  if (state.contains("submissions") && !state["submissions"].empty()) {
    const auto& last = state["submissions"].back();
    array_id = last.value("array_job_id", "");
    aggregate_id = last.value("aggregate_job_id", "");
  }
  // Slurm's view of the last submission, in one squeue call.
  std::map<int, std::string> task_state;
  std::string aggregate_state;
  if ((!array_id.empty() || !aggregate_id.empty()) && on_path("squeue")) {
    std::string ids = array_id;
    if (!aggregate_id.empty()) ids += (ids.empty() ? "" : ",") + aggregate_id;
    auto c = capture({"squeue", "-h", "-r", "-j", ids, "-o", "%F %K %A %T"});
    std::stringstream ss(c.code == 0 ? c.out : "");
    for (std::string line; std::getline(ss, line);) {
      std::stringstream ls(line);
      std::string array_job, index, job, st;
      ls >> array_job >> index >> job >> st;
      if (job == aggregate_id)
        aggregate_state = st;
      else if (array_job == array_id &&
               index.find_first_not_of("0123456789") == std::string::npos && !index.empty() &&
               index.size() < 9)
        task_state[std::stoi(index)] = st;
    }
  }
  out << fmt::format("experiment '{}' on Slurm: {} task(s), results in {}\n", plan.name, tasks,
                     f.dir);
  int total = 0, done = 0;
  for (const auto& t : task_progress(plan, f, tasks)) {
    const int left = t.planned - t.ok - t.failed;
    total += t.planned;
    done += t.ok + t.failed;
    auto it = task_state.find(t.task);
    out << fmt::format(
        "  task {:>3}  shard {}/{}: {:>4} runs, {:>4} ok, {:>3} failed, {:>3} "
        "aborted, {:>4} left{}{}\n",
        t.task, t.task, tasks, t.planned, t.ok, t.failed, t.aborted, left,
        !t.has_db      ? "  (no database yet)"
        : t.complete() ? "  (complete)"
                       : "",
        it != task_state.end() ? "  [" + it->second + "]" : "");
  }
  out << fmt::format("  all tasks: {} of {} runs done", done, total);
  if (!array_id.empty()) out << fmt::format("; array job {}", array_id);
  if (!aggregate_id.empty())
    out << fmt::format("; aggregation job {}{}", aggregate_id,
                       aggregate_state.empty() ? "" : " [" + aggregate_state + "]");
  out << "\n";
  if (fs::exists(f.merged())) {
    Store m(f.merged(), Store::Mode::read_only);
    if (auto e = m.find_experiment(plan.name))
      out << fmt::format("  merged.db: {} of {} runs{}\n", m.runs(e->id).size(), e->planned_runs,
                         fs::exists(f.dir + "/report.html") ? "; report.html written" : "");
  }
  return 0;
}

}  // namespace gt::experiment
