// A consistent copy of a live results database at another path, for databases that must not
// live on a network file system: SQLite's locking and its WAL mode are unsafe over NFS and
// Lustre, so a Slurm task keeps its live database on node-local disk and publishes a copy into
// the (shared) results folder after every finished run. The copy is made with VACUUM INTO (a
// transactionally consistent snapshot, in rollback-journal mode) into a temporary file beside
// the target, then renamed over it, so a reader on another machine sees the old copy or the new
// one, never half of one.
#pragma once
#include <string>

#include "experiment/store.h"

namespace gt::experiment {

void publish_database(const Store& store, const std::string& path);

// Before a run: when `live` does not exist but a published copy does, start from that copy (a
// task resubmitted to another node resumes where the copy left off). Returns whether it copied.
bool restore_published(const std::string& live, const std::string& published);

}  // namespace gt::experiment
