#include "tools/report/plot.h"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>

#include "tools/report/table.h"
#include "tools/support/subprocess.h"

namespace hsapreempt::tools::report {
namespace {

// gnuplot string literal: single quotes, a quote doubled.
std::string GpQuote(const std::string& s) {
  std::string q = "'";
  for (char c : s) {
    if (c == '\'') q += '\'';
    if (c == '\n') {
      q += ' ';  // a raw newline would end the gnuplot command
      continue;
    }
    q += c;
  }
  return q + "'";
}

// Long lines (the simulated device's description) wrapped at spaces for the title.
std::string Wrap(const std::string& text, size_t width) {
  std::string out, line;
  size_t start = 0;
  while (start < text.size()) {
    size_t space = text.find(' ', start);
    std::string word = text.substr(start, space == std::string::npos ? std::string::npos
                                                                     : space - start);
    if (!line.empty() && line.size() + 1 + word.size() > width) {
      out += line + "\n";
      line.clear();
    }
    line += (line.empty() ? "" : " ") + word;
    if (space == std::string::npos) break;
    start = space + 1;
  }
  return out + line;
}

}  // namespace

bool GnuplotAvailable() {
  static const bool available = [] {
    RunOptions opts;
    opts.timeout_s = 10;
    return RunProcess({"gnuplot", "--version"}, opts).ok();
  }();
  return available;
}

Series CdfSeries(const std::string& title, std::vector<double> samples) {
  Series s;
  s.title = title;
  std::sort(samples.begin(), samples.end());
  const double n = static_cast<double>(samples.size());
  for (size_t i = 0; i < samples.size(); ++i) {
    s.x.push_back(samples[i]);
    s.y.push_back(static_cast<double>(i + 1) / n);
  }
  return s;
}

bool MakeDirs(const std::string& dir, std::string* error) {
  for (size_t pos = 1; pos <= dir.size(); ++pos) {
    if (pos != dir.size() && dir[pos] != '/') continue;
    std::string part = dir.substr(0, pos);
    if (mkdir(part.c_str(), 0755) != 0 && errno != EEXIST) {
      *error = "cannot create " + part + ": " + std::strerror(errno);
      return false;
    }
  }
  struct stat st;
  if (stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    *error = dir + " is not a directory";
    return false;
  }
  return true;
}

bool DrawPlot(const PlotSpec& spec, const std::string& dir, std::string* error) {
  const std::string stem = dir + "/" + spec.name;
  std::string data;
  std::vector<const Series*> used;
  for (const Series& s : spec.series) {
    bool any = false;
    std::string block;
    for (size_t i = 0; i < s.x.size() && i < s.y.size(); ++i) {
      if (!std::isfinite(s.x[i]) || !std::isfinite(s.y[i])) continue;
      if ((spec.logx && s.x[i] <= 0) || (spec.logy && s.y[i] <= 0)) continue;
      block += Format("%.9g %.9g\n", s.x[i], s.y[i]);
      any = true;
    }
    if (!any) continue;
    data += "# " + s.title + "\n" + block + "\n\n";  // two blank lines: next gnuplot index
    used.push_back(&s);
  }
  if (used.empty()) {
    *error = spec.name + ": no data to plot";
    return false;
  }
  if (!WriteTextFile(stem + ".dat", data, error)) return false;

  std::string title = spec.title;
  if (!spec.subtitle.empty()) title += "\n" + Wrap(spec.subtitle, 150);
  std::string gp;
  gp += "set terminal pngcairo size 1200,800 noenhanced font 'sans,10'\n";
  gp += "set output " + GpQuote(stem + ".png") + "\n";
  // Multi-line title: gnuplot joins "\n" escapes only in double quotes, so build it that way.
  std::string dq = "\"";
  for (char c : title) {
    if (c == '\n') dq += "\\n";
    else if (c == '"' || c == '\\') dq += std::string("\\") + c;
    else dq += c;
  }
  gp += "set title " + dq + "\" font 'sans,9'\n";
  gp += "set xlabel " + GpQuote(spec.xlabel) + "\n";
  gp += "set ylabel " + GpQuote(spec.ylabel) + "\n";
  gp += "set grid\nset key outside right top\n";
  if (spec.logx) gp += "set logscale x\n";
  if (spec.logy) gp += "set logscale y\n";
  gp += "plot ";
  for (size_t i = 0; i < used.size(); ++i) {
    if (i) gp += ", \\\n     ";
    gp += GpQuote(stem + ".dat") + Format(" index %zu using 1:2 ", i);
    gp += spec.points ? "with linespoints lw 2 pt 7" : "with steps lw 2";
    gp += " title " + GpQuote(used[i]->title);
  }
  gp += "\n";
  if (!WriteTextFile(stem + ".gp", gp, error)) return false;

  RunOptions opts;
  opts.timeout_s = 60;
  RunResult r = RunProcess({"gnuplot", stem + ".gp"}, opts);
  if (!r.ok()) {
    std::string err = r.err;
    while (!err.empty() && (err.back() == '\n' || err.back() == ' ')) err.pop_back();
    size_t nl = err.rfind('\n');
    if (nl != std::string::npos) err = err.substr(nl + 1);
    *error = "gnuplot " + stem + ".gp: " + r.Describe() + (err.empty() ? "" : ": " + err);
    return false;
  }
  return true;
}

}  // namespace hsapreempt::tools::report
