// A thin RAII layer over the SQLite C API for the results store: a connection that closes
// itself, prepared statements that finalize themselves, typed binds/reads with NULL mapped to
// std::optional, and a transaction guard that rolls back unless committed. Every failure
// throws gt::Error naming the database file and SQLite's message.
#pragma once
#include <sqlite3.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace gt::experiment::sql {

class Db {
 public:
  Db() = default;
  Db(const std::string& path, bool read_only);
  ~Db();
  Db(Db&& other) noexcept;
  Db& operator=(Db&& other) noexcept;
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;

  void exec(std::string_view sql) const;
  std::int64_t last_insert_id() const { return sqlite3_last_insert_rowid(db_); }
  sqlite3* handle() const { return db_; }
  const std::string& path() const { return path_; }
  [[noreturn]] void fail(std::string_view what) const;

 private:
  sqlite3* db_ = nullptr;
  std::string path_;
};

class Stmt {
 public:
  Stmt(const Db& db, std::string_view sql);
  ~Stmt();
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;

  Stmt& bind(int i, std::int64_t v);
  Stmt& bind(int i, int v) { return bind(i, static_cast<std::int64_t>(v)); }
  Stmt& bind(int i, double v);
  Stmt& bind(int i, std::string_view v);
  Stmt& bind(int i, const std::string& v) { return bind(i, std::string_view(v)); }
  Stmt& bind(int i, const char* v) { return bind(i, std::string_view(v)); }
  Stmt& bind(int i, std::nullopt_t);
  template <class T>
  Stmt& bind(int i, const std::optional<T>& v) {
    return v ? bind(i, *v) : bind(i, std::nullopt);
  }
  // Binds the values to parameters 1, 2, ... in order.
  template <class... Ts>
  Stmt& bind_all(const Ts&... v) {
    int i = 0;
    (bind(++i, v), ...);
    return *this;
  }

  bool step();  // true while a row is available
  void run();   // step to completion (INSERT/UPDATE/DELETE), then reset
  void reset();

  bool is_null(int col) const;
  std::int64_t i64(int col) const;
  double f64(int col) const;
  std::string text(int col) const;
  std::optional<double> opt_f64(int col) const;
  std::optional<std::int64_t> opt_i64(int col) const;

  // The same reads by result-column name: the name in the SELECT list, without any table
  // prefix ("e.energy_j" is read as "energy_j"). An unknown name throws gt::Error.
  int column(std::string_view name) const;
  bool is_null(const char* name) const { return is_null(column(name)); }
  std::int64_t i64(const char* name) const { return i64(column(name)); }
  double f64(const char* name) const { return f64(column(name)); }
  std::string text(const char* name) const { return text(column(name)); }
  std::optional<double> opt_f64(const char* name) const { return opt_f64(column(name)); }
  std::optional<std::int64_t> opt_i64(const char* name) const { return opt_i64(column(name)); }

 private:
  const Db& db_;
  sqlite3_stmt* st_ = nullptr;
};

// Runs `sql`, whose one parameter is `key`, and maps every result row with `read` (a callable
// taking the statement and returning one record).
template <class Read>
auto query_rows(const Db& db, std::string_view sql, std::int64_t key, Read read) {
  Stmt s(db, sql);
  s.bind(1, key);
  std::vector<decltype(read(s))> rows;
  while (s.step()) rows.push_back(read(s));
  return rows;
}

// BEGIN IMMEDIATE on construction; ROLLBACK on destruction unless commit() was called.
class Transaction {
 public:
  explicit Transaction(const Db& db);
  ~Transaction();
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  void commit();

 private:
  const Db& db_;
  bool done_ = false;
};

}  // namespace gt::experiment::sql
