// Implementation of the RAII SQLite layer (see sqlite.h).
#include "experiment/sqlite.h"

#include <fmt/core.h>
#include <sys/stat.h>

#include <utility>

#include "common/error.h"

namespace gt::experiment::sql {

namespace {

// `path` as an SQLite file: URI with `query` ("mode=ro"): characters a URI gives a meaning are
// percent-encoded.
std::string file_uri(const std::string& path, const std::string& query) {
  std::string uri = path.rfind('/', 0) == 0 ? "file://" : "file:";  // file:///abs, file:rel
  for (char c : path) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '?' || c == '#' || c == '%' || u < 0x21 || u >= 0x7F)
      uri += fmt::format("%{:02X}", u);
    else
      uri += c;
  }
  return uri + "?" + query;
}

sqlite3* open_db(const std::string& path, const std::string& name, int flags) {
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(name.c_str(), &db, flags | SQLITE_OPEN_NOMUTEX, nullptr) != SQLITE_OK) {
    std::string msg = db ? sqlite3_errmsg(db) : "out of memory";
    sqlite3_close(db);
    throw gt::Error(fmt::format("{}: cannot open database: {}", path, msg));
  }
  sqlite3_busy_timeout(db, 10000);
  sqlite3_extended_result_codes(db, 1);
  return db;
}

// Whether a read on `db` works; false when SQLite cannot open the database's side files (a WAL
// database in a folder we may not write, which has no -shm file for us to create).
bool can_read(sqlite3* db) {
  const int rc = sqlite3_exec(db, "SELECT count(*) FROM sqlite_master", nullptr, nullptr, nullptr);
  return (rc & 0xFF) != SQLITE_CANTOPEN && (rc & 0xFF) != SQLITE_READONLY;
}

}  // namespace

Db::Db(const std::string& path, bool read_only) : path_(path) {
  if (!read_only) {
    db_ = open_db(path, path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
    return;
  }
  // Readers open read-only. A WAL database needs its -shm side file to be read; in a folder
  // we may not write (a results folder on a read-only share) it cannot be created, and then the
  // file is opened as immutable instead, which is right only while no write-ahead log holds
  // changes the file itself lacks.
  const int flags = SQLITE_OPEN_READONLY | SQLITE_OPEN_URI;
  db_ = open_db(path, file_uri(path, "mode=ro"), flags);
  if (can_read(db_)) return;
  sqlite3_close_v2(db_);
  db_ = nullptr;
  struct stat wal {};
  if (::stat((path + "-wal").c_str(), &wal) == 0 && wal.st_size > 0)
    throw gt::Error(fmt::format(
        "{}: cannot open database read-only: its write-ahead log {}-wal holds changes and "
        "this folder does not let SQLite create the files it needs to read them; copy the "
        "database with its -wal file to a folder you can write",
        path, path));
  db_ = open_db(path, file_uri(path, "mode=ro&immutable=1"), flags);
}

Db::~Db() {
  if (db_) sqlite3_close_v2(db_);
}

Db::Db(Db&& other) noexcept
    : db_(std::exchange(other.db_, nullptr)), path_(std::move(other.path_)) {}

Db& Db::operator=(Db&& other) noexcept {
  if (this != &other) {
    if (db_) sqlite3_close_v2(db_);
    db_ = std::exchange(other.db_, nullptr);
    path_ = std::move(other.path_);
  }
  return *this;
}

void Db::fail(std::string_view what) const {
  throw gt::Error(fmt::format("{}: {}: {}", path_, what, db_ ? sqlite3_errmsg(db_) : "closed"));
}

void Db::exec(std::string_view sql) const {
  char* err = nullptr;
  std::string s(sql);
  if (sqlite3_exec(db_, s.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err ? err : "unknown error";
    sqlite3_free(err);
    throw gt::Error(fmt::format("{}: {}", path_, msg));
  }
}

Stmt::Stmt(const Db& db, std::string_view sql) : db_(db) {
  if (sqlite3_prepare_v2(db.handle(), sql.data(), static_cast<int>(sql.size()), &st_, nullptr) !=
      SQLITE_OK)
    db.fail(fmt::format("cannot prepare '{}'", sql.substr(0, 60)));
}

Stmt::~Stmt() { sqlite3_finalize(st_); }

Stmt& Stmt::bind(int i, std::int64_t v) {
  if (sqlite3_bind_int64(st_, i, v) != SQLITE_OK) db_.fail("bind");
  return *this;
}
Stmt& Stmt::bind(int i, double v) {
  if (sqlite3_bind_double(st_, i, v) != SQLITE_OK) db_.fail("bind");
  return *this;
}
Stmt& Stmt::bind(int i, std::string_view v) {
  if (sqlite3_bind_text(st_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT) !=
      SQLITE_OK)
    db_.fail("bind");
  return *this;
}
Stmt& Stmt::bind(int i, std::nullopt_t) {
  if (sqlite3_bind_null(st_, i) != SQLITE_OK) db_.fail("bind");
  return *this;
}

bool Stmt::step() {
  int rc = sqlite3_step(st_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  db_.fail("query failed");
}

void Stmt::run() {
  while (step()) {
  }
  reset();
}

void Stmt::reset() {
  sqlite3_reset(st_);
  sqlite3_clear_bindings(st_);
}

int Stmt::column(std::string_view name) const {
  const int count = sqlite3_column_count(st_);
  for (int i = 0; i < count; ++i) {
    std::string_view have = sqlite3_column_name(st_, i);
    if (const auto dot = have.rfind('.'); dot != std::string_view::npos)
      have.remove_prefix(dot + 1);
    if (have == name) return i;
  }
  throw gt::Error(fmt::format("{}: the query has no column '{}'", db_.path(), name));
}

bool Stmt::is_null(int col) const { return sqlite3_column_type(st_, col) == SQLITE_NULL; }
std::int64_t Stmt::i64(int col) const { return sqlite3_column_int64(st_, col); }
double Stmt::f64(int col) const { return sqlite3_column_double(st_, col); }
std::string Stmt::text(int col) const {
  const auto* p = sqlite3_column_text(st_, col);
  return p ? std::string(reinterpret_cast<const char*>(p),
                         static_cast<size_t>(sqlite3_column_bytes(st_, col)))
           : std::string();
}
std::optional<double> Stmt::opt_f64(int col) const {
  if (is_null(col)) return std::nullopt;
  return f64(col);
}
std::optional<std::int64_t> Stmt::opt_i64(int col) const {
  if (is_null(col)) return std::nullopt;
  return i64(col);
}

Transaction::Transaction(const Db& db) : db_(db) { db_.exec("BEGIN IMMEDIATE"); }
Transaction::~Transaction() {
  if (!done_) {
    try {
      db_.exec("ROLLBACK");
    } catch (...) {
    }
  }
}
void Transaction::commit() {
  db_.exec("COMMIT");
  done_ = true;
}

}  // namespace gt::experiment::sql
