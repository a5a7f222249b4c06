#include "common/config.h"

#include <cerrno>
#include <cstdlib>
#include <strings.h>

#include <cctype>
#include <cstring>
#include <sstream>

namespace hsapreempt::common {
namespace {

const char* DefaultGetenv(const char* name) { return std::getenv(name); }

class Reader {
 public:
  Reader(const char* (*getenv_fn)(const char*), std::vector<std::string>* problems)
      : getenv_(getenv_fn), problems_(problems) {}

  // Parses an integer in [lo, hi]; on error records a problem and leaves *out unchanged.
  template <typename T>
  bool Int(const char* name, int64_t lo, int64_t hi, T* out) {
    const char* v = getenv_(name);
    if (!v) return false;
    errno = 0;
    char* end = nullptr;
    long long x = std::strtoll(v, &end, 10);
    if (errno != 0 || end == v || *end != '\0' || x < lo || x > hi) {
      Problem(name, v, "an integer in " + std::to_string(lo) + ".." + std::to_string(hi),
              std::to_string(*out));
      return false;
    }
    *out = static_cast<T>(x);
    return true;
  }

  bool Bool(const char* name, bool* out) {
    const char* v = getenv_(name);
    if (!v) return false;
    if (!std::strcmp(v, "1") || !strcasecmp(v, "true") || !strcasecmp(v, "on")) {
      *out = true;
    } else if (!std::strcmp(v, "0") || !strcasecmp(v, "false") || !strcasecmp(v, "off")) {
      *out = false;
    } else {
      Problem(name, v, "0 or 1", *out ? "1" : "0");
      return false;
    }
    return true;
  }

  const char* Raw(const char* name) { return getenv_(name); }

  void Problem(const char* name, const char* value, const std::string& expected,
               const std::string& kept) {
    problems_->push_back(std::string(name) + "='" + value + "' is not " + expected + "; using " +
                         kept);
  }

 private:
  const char* (*getenv_)(const char*);
  std::vector<std::string>* problems_;
};

bool ValidBoardName(const char* s) {
  size_t n = std::strlen(s);
  if (n == 0 || n > 64) return false;
  for (size_t i = 0; i < n; ++i) {
    char c = s[i];
    if (!(isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-')) return false;
  }
  return true;
}

}  // namespace

const char* LevelName(LevelChoice level) {
  switch (level) {
    case LevelChoice::kAuto: return "auto";
    case LevelChoice::kNone: return "none";
    case LevelChoice::kLevel1: return "1";
    case LevelChoice::kLevel2: return "2";
    case LevelChoice::kCuMask: return "cumask";
  }
  return "?";
}

const char* PolicyName(PolicyChoice policy) {
  switch (policy) {
    case PolicyChoice::kPriority: return "priority";
    case PolicyChoice::kWeighted: return "weighted";
    case PolicyChoice::kEdf: return "edf";
  }
  return "?";
}

bool ParsePolicy(const std::string& text, PolicyChoice* out) {
  for (PolicyChoice p : {PolicyChoice::kPriority, PolicyChoice::kWeighted, PolicyChoice::kEdf}) {
    if (text == PolicyName(p)) {
      *out = p;
      return true;
    }
  }
  return false;
}

bool ParseLevel(const std::string& text, LevelChoice* out) {
  for (LevelChoice l : {LevelChoice::kAuto, LevelChoice::kNone, LevelChoice::kLevel1,
                        LevelChoice::kLevel2, LevelChoice::kCuMask}) {
    if (text == LevelName(l)) {
      *out = l;
      return true;
    }
  }
  return false;
}

Config Config::FromEnvironment(const char* (*getenv_fn)(const char*)) {
  Config c;
  Reader r(getenv_fn ? getenv_fn : DefaultGetenv, &c.problems);
  r.Bool("HSAPREEMPT_ENABLE", &c.enable);
  if (const char* v = r.Raw("HSAPREEMPT_LOG_LEVEL")) {
    if (!ParseLogLevel(v, &c.log_level)) {
      r.Problem("HSAPREEMPT_LOG_LEVEL", v, "one of error|warn|info|debug|trace", "warn");
    }
  }
  if (const char* v = r.Raw("HSAPREEMPT_LOG_FILE")) c.log_file = v;
  r.Int("HSAPREEMPT_PRIORITY", 0, 99, &c.priority);
  if (const char* v = r.Raw("HSAPREEMPT_LEVEL")) {
    if (!ParseLevel(v, &c.level)) r.Problem("HSAPREEMPT_LEVEL", v, "one of auto|none|1|2|cumask", "auto");
  }
  if (const char* v = r.Raw("HSAPREEMPT_POLICY")) {
    if (ParsePolicy(v, &c.policy)) {
      c.policy_set = true;
    } else {
      r.Problem("HSAPREEMPT_POLICY", v, "one of priority|weighted|edf", "priority");
    }
  }
  r.Int("HSAPREEMPT_WEIGHT", 1, 1000, &c.weight);
  r.Int("HSAPREEMPT_DEADLINE_US", 0, 60000000, &c.deadline_us);
  r.Int("HSAPREEMPT_THRESHOLD", 1, 4096, &c.threshold);
  if (c.batch > c.threshold) c.batch = c.threshold;
  r.Int("HSAPREEMPT_BATCH", 1, c.threshold, &c.batch);
  r.Int("HSAPREEMPT_L1_SLACK_US", 0, 1000000, &c.l1_slack_us);
  if (const char* v = r.Raw("HSAPREEMPT_THROTTLE")) {
    if (!std::strcmp(v, "always")) c.throttle_always = true;
    else if (std::strcmp(v, "auto") != 0) r.Problem("HSAPREEMPT_THROTTLE", v, "one of auto|always", "auto");
  }
  r.Bool("HSAPREEMPT_CROSS_PROCESS", &c.cross_process);
  if (const char* v = r.Raw("HSAPREEMPT_BOARD")) {
    if (ValidBoardName(v)) {
      c.board = v;
    } else {
      r.Problem("HSAPREEMPT_BOARD", v, "1-64 characters of [A-Za-z0-9_.-]", c.board);
    }
  }
  if (const char* v = r.Raw("HSAPREEMPT_L2_MODE")) {
    if (!std::strcmp(v, "auto")) c.l2_mode = L2Mode::kAuto;
    else if (!std::strcmp(v, "update")) c.l2_mode = L2Mode::kUpdateQueue;
    else if (!std::strcmp(v, "suspend")) c.l2_mode = L2Mode::kSuspend;
    else r.Problem("HSAPREEMPT_L2_MODE", v, "one of auto|update|suspend", "auto");
  }
  r.Int("HSAPREEMPT_L2_HYSTERESIS_US", 0, 1000000, &c.l2_hysteresis_us);
  r.Int("HSAPREEMPT_L2_GRACE_US", 0, 100000, &c.l2_grace_us);
  r.Int("HSAPREEMPT_CU_FRACTION", 1, 100, &c.cu_fraction_percent);
  r.Int("HSAPREEMPT_LEASE_MS", 10, 60000, &c.lease_ms);
  r.Int("HSAPREEMPT_SCHED_NICE", -20, 0, &c.sched_nice);
  return c;
}

std::string Config::Describe() const {
  std::ostringstream o;
  o << "enable=" << enable << " priority=" << priority << " level=" << LevelName(level)
    << " policy=" << PolicyName(policy) << " weight=" << weight << " deadline_us=" << deadline_us
    << " threshold=" << threshold << " batch=" << batch << " l1_slack_us=" << l1_slack_us
    << " throttle=" << (throttle_always ? "always" : "auto") << " cross_process=" << cross_process
    << " board=" << board << " l2_mode="
    << (l2_mode == L2Mode::kAuto ? "auto" : l2_mode == L2Mode::kUpdateQueue ? "update" : "suspend")
    << " l2_hysteresis_us=" << l2_hysteresis_us << " l2_grace_us=" << l2_grace_us
    << " cu_fraction=" << cu_fraction_percent << "% lease_ms=" << lease_ms
    << " sched_nice=" << sched_nice;
  return o.str();
}

}  // namespace hsapreempt::common
