// A results table for the benchmarks: aligned text on the terminal, and the same rows as CSV.
//
// Cells are strings (the caller formats numbers, so the terminal and the CSV show the same
// figure). CSV follows RFC 4180: a cell with a comma, quote or newline is quoted, quotes doubled.
#ifndef TOOLS_REPORT_TABLE_H_
#define TOOLS_REPORT_TABLE_H_

#include <cstdio>
#include <string>
#include <vector>

namespace hsapreempt::tools::report {

class Table {
 public:
  explicit Table(std::vector<std::string> headers) : headers_(std::move(headers)) {}

  // A row shorter than the headers is padded with empty cells; a longer one is cut.
  void AddRow(std::vector<std::string> cells);
  size_t rows() const { return rows_.size(); }

  // Columns padded to their widest cell, two spaces apart; the first column left-aligned, the
  // others right-aligned (they hold numbers). `indent` spaces before every line.
  void Print(FILE* out, int indent = 2) const;

  // The CSV text (header line first).
  std::string Csv() const;

 private:
  std::vector<std::string> headers_;
  std::vector<std::vector<std::string>> rows_;
};

// One CSV cell, quoted when needed.
std::string CsvCell(const std::string& cell);

// printf-style formatting into a std::string (for table cells).
std::string Format(const char* fmt, ...) __attribute__((format(printf, 1, 2)));

// Writes `text` to `path` (replacing it). False with a one-line *error on failure.
bool WriteTextFile(const std::string& path, const std::string& text, std::string* error);

}  // namespace hsapreempt::tools::report

#endif  // TOOLS_REPORT_TABLE_H_
