// PNG plots of benchmark results, drawn by gnuplot (a child process with a timeout; no library
// dependency). Without gnuplot the caller says so once and writes only CSV.
//
// Each plot writes <dir>/<name>.dat (the data, one block per series, gnuplot's format) and
// <dir>/<name>.gp (the script, so a plot can be redrawn or restyled by hand) next to
// <dir>/<name>.png.
#ifndef TOOLS_REPORT_PLOT_H_
#define TOOLS_REPORT_PLOT_H_

#include <string>
#include <vector>

namespace hsapreempt::tools::report {

struct Series {
  std::string title;
  std::vector<double> x, y;
};

struct PlotSpec {
  std::string name;      // file stem: <dir>/<name>.png
  std::string title;     // first line of the title
  std::string subtitle;  // second line (e.g. the simulated device's description), may be empty
  std::string xlabel, ylabel;
  bool logx = false, logy = false;
  bool points = true;    // lines with points (false: steps, for CDFs)
  std::vector<Series> series;
};

// True if `gnuplot --version` runs (checked once per process).
bool GnuplotAvailable();

// The empirical CDF of `samples` (in whatever unit), as a step series: x = sorted sample,
// y = fraction of samples <= x.
Series CdfSeries(const std::string& title, std::vector<double> samples);

// Draws `spec` into <dir>/<spec.name>.png. False with a one-line *error on failure (a series
// with no points is skipped; a plot with none at all is an error).
bool DrawPlot(const PlotSpec& spec, const std::string& dir, std::string* error);

// Creates `dir` (and parents) if needed. False with *error.
bool MakeDirs(const std::string& dir, std::string* error);

}  // namespace hsapreempt::tools::report

#endif  // TOOLS_REPORT_PLOT_H_
