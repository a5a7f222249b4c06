// Raising one thread's CPU priority (nice), for the scheduler thread and for `hsapreempt probe`.
#ifndef COMMON_THREAD_PRIORITY_H_
#define COMMON_THREAD_PRIORITY_H_

#include <string>

namespace hsapreempt::common {

struct NiceResult {
  int inherited = 0;  // the calling thread's nice before the call
  int now = 0;        // its nice after the call
  bool asked = false; // `want` was a higher priority than `inherited` (else nothing was tried)
  std::string error;  // why the raise was refused ("" if it was applied or not asked)
};

// Sets the calling thread's nice to `want` if that is a higher priority (lower value) than the
// one it has and the process may (CAP_SYS_NICE, or RLIMIT_NICE); never lowers its priority.
// `want` 0 means "leave it". Thread-local in effect (Linux nice is per thread).
NiceResult RaiseThisThreadPriority(int want);

}  // namespace hsapreempt::common

#endif  // COMMON_THREAD_PRIORITY_H_
