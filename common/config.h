// Every environment variable the product (libhsapreempt.so and the `hsapreempt` tool) reads, with
// its range and default. Parsed once into a validated Config; a bad value gives one clear message
// (collected in Config::problems, logged once at load) and the default is kept. The simulated
// device's own variables (HSAPREEMPT_SIM_*) are in simdev/model/params.h.
//
//  variable                    range / values                      default   meaning
//  HSAPREEMPT_ENABLE           0 | 1                               1         0: load, log, do nothing
//  HSAPREEMPT_LOG_LEVEL        error|warn|info|debug|trace         warn      library log level
//  HSAPREEMPT_LOG_FILE         path                                (stderr)  append log lines here
//  HSAPREEMPT_PRIORITY         0..99 (higher runs first)           50        priority of this process's queues
//  HSAPREEMPT_LEVEL            auto|none|1|2|cumask                auto      preemption level: auto = best available;
//                                                                            none = observe only, never hold packets
//  HSAPREEMPT_POLICY           priority|weighted|edf               priority  policy (applies to the board if first)
//  HSAPREEMPT_WEIGHT           1..1000                             1         share under the weighted policy
//  HSAPREEMPT_DEADLINE_US      0..60000000 (0 = none)              0         latency target under edf
//  HSAPREEMPT_THRESHOLD        1..4096                             16        Level-1: max packets in flight per queue
//  HSAPREEMPT_BATCH            1..THRESHOLD                        8         Level-1: packets released per batch
//  HSAPREEMPT_L1_SLACK_US      0..1000000 (0 = off)                0         Level-1: keep at least this much estimated
//                                                                            work queued beyond a batch (short kernels
//                                                                            get more than THRESHOLD packets in flight:
//                                                                            low-priority throughput for high-priority
//                                                                            latency; docs/sched.md)
//  HSAPREEMPT_THROTTLE         auto|always                         auto      Level-1 bound: auto = only on queues something
//                                                                            on the board may preempt; always = every queue
//  HSAPREEMPT_CROSS_PROCESS    0 | 1                               1         join the per-user, per-GPU board
//  HSAPREEMPT_BOARD            [A-Za-z0-9_.-]{1,64}                gpu       board name (isolates groups of programs)
//  HSAPREEMPT_L2_MODE          auto|update|suspend                 auto      Level-2 lever: queue update 0%/100% or
//                                                                            debug-trap suspend/resume
//  HSAPREEMPT_L2_HYSTERESIS_US 0..1000000                          200       min time a queue stays deactivated
//  HSAPREEMPT_L2_GRACE_US      0..100000                           0         suspend grace period (debug trap)
//  HSAPREEMPT_CU_FRACTION      1..100 (percent of CUs kept)        25        cumask level: CUs a low queue keeps
//  HSAPREEMPT_LEASE_MS         10..60000                           1000      board liveness lease
//  HSAPREEMPT_SCHED_NICE       -20..0 (0 = leave it)               -10       nice value asked for the scheduler thread,
//                                                                            which suspends other queues when work of
//                                                                            higher priority arrives; applied only where
//                                                                            the process may raise a thread's priority
//                                                                            (CAP_SYS_NICE or RLIMIT_NICE), never lower
//                                                                            than what the thread inherited
#ifndef COMMON_CONFIG_H_
#define COMMON_CONFIG_H_

#include <cstdint>
#include <string>
#include <vector>

#include "common/log.h"

namespace hsapreempt::common {

enum class LevelChoice { kAuto, kNone, kLevel1, kLevel2, kCuMask };
enum class PolicyChoice { kPriority, kWeighted, kEdf };
enum class L2Mode { kAuto, kUpdateQueue, kSuspend };

struct Config {
  bool enable = true;
  LogLevel log_level = LogLevel::kWarn;
  std::string log_file;
  int priority = 50;
  LevelChoice level = LevelChoice::kAuto;
  PolicyChoice policy = PolicyChoice::kPriority;
  bool policy_set = false;  // HSAPREEMPT_POLICY given explicitly
  uint32_t weight = 1;
  uint64_t deadline_us = 0;
  uint32_t threshold = 16;
  uint32_t batch = 8;
  uint64_t l1_slack_us = 0;
  bool throttle_always = false;  // HSAPREEMPT_THROTTLE=always
  bool cross_process = true;
  std::string board = "gpu";
  L2Mode l2_mode = L2Mode::kAuto;
  uint64_t l2_hysteresis_us = 200;
  uint64_t l2_grace_us = 0;
  uint32_t cu_fraction_percent = 25;
  uint64_t lease_ms = 1000;
  int sched_nice = -10;

  // One message per bad variable ("HSAPREEMPT_THRESHOLD=0 is out of range 1..4096; using 16").
  std::vector<std::string> problems;

  // Reads the environment (getenv_fn lets tests supply their own).
  static Config FromEnvironment(const char* (*getenv_fn)(const char*) = nullptr);
  // One line with every field, for the info-level start-up log and `hsapreempt probe`.
  std::string Describe() const;
};

const char* LevelName(LevelChoice level);
const char* PolicyName(PolicyChoice policy);
bool ParsePolicy(const std::string& text, PolicyChoice* out);
bool ParseLevel(const std::string& text, LevelChoice* out);

}  // namespace hsapreempt::common

#endif  // COMMON_CONFIG_H_
