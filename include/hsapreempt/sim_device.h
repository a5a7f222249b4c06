// Entry points the simulated device (simdev/, built as libhsakmt.so.1) exports besides the thunk
// API, under symbol version HSAPREEMPT_SIM_1. The product never links against the simulated
// device: kfd_ctl and the tools look these up with dlsym(RTLD_DEFAULT, ...) and treat their absence
// as "not running on the simulated device".
#ifndef HSAPREEMPT_SIM_DEVICE_H_
#define HSAPREEMPT_SIM_DEVICE_H_

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

// Device event trace. Times are device time: CLOCK_MONOTONIC_RAW ns, the clock of ROCr's
// profiling timestamps on the simulated device.
enum hsapreempt_sim_event_kind {
  HSAPREEMPT_SIM_EV_DISPATCH_START = 1,  // first workgroup of a dispatch started
  HSAPREEMPT_SIM_EV_DISPATCH_END = 2,    // last workgroup ended
  HSAPREEMPT_SIM_EV_QUEUE_ACTIVE = 3,    // queue mapped/active (value: 1) or inactive (0)
  HSAPREEMPT_SIM_EV_QUEUE_SUSPEND = 4,   // debug-trap suspended (1) / resumed (0)
  HSAPREEMPT_SIM_EV_PREEMPT = 5,         // in-flight workgroups saved by CWSR (value: workgroups)
  HSAPREEMPT_SIM_EV_RESTORE = 6,         // saved workgroups restored (value: workgroups)
  HSAPREEMPT_SIM_EV_RUNLIST = 7,         // runlist update: every queue unmapped/remapped
  HSAPREEMPT_SIM_EV_CU_MASK = 8,         // CU mask set (value: number of CUs enabled)
  HSAPREEMPT_SIM_EV_QUEUE_CREATE = 9,
  HSAPREEMPT_SIM_EV_QUEUE_DESTROY = 10,
  HSAPREEMPT_SIM_EV_QUEUE_ERROR = 11,    // malformed packet etc. (value: HSA status code)
  // A packet the CP handed to the model (value: workgroups, 0 for a packet the CP completes
  // itself), at the time the CP first saw its valid header. A hardware CP sees it within
  // microseconds of the doorbell; the simulated one is a polling host thread, so the gap from the
  // doorbell to this time is the host's share of a dispatch's latency (docs/simdev.md).
  HSAPREEMPT_SIM_EV_DISPATCH_LAUNCH = 12,
};

typedef struct hsapreempt_sim_event {
  uint64_t time_ns;
  uint32_t kind;       // hsapreempt_sim_event_kind
  uint32_t pid;        // owning process of the queue
  uint32_t queue_id;   // KFD queue id within that process
  uint32_t reserved;
  uint64_t dispatch;   // packet index in the queue (dispatch events), else 0
  uint64_t value;      // kind-specific
} hsapreempt_sim_event;  // 40 bytes

// ioctl(2) on /dev/kfd for the calling process: same request codes, argument structs, return value
// and errno as the real driver under the selected kernel capability profile.
int hsapreempt_sim_kfd_ioctl(unsigned long request, void* arg);

// Root of the simulated sysfs tree ("/sys" on a real machine): the per-process queue directory is
// <root>/class/kfd/kfd/proc/<pid>/queues/<queue_id>/{size,type,gpuid}.
const char* hsapreempt_sim_sysfs_root(void);

// One line: preset, kernel profile, device name and every model parameter.
const char* hsapreempt_sim_describe(void);

// Copies trace events newer than *cursor (start with 0) into out, at most max; advances *cursor.
// The trace is a ring in the shared segment: a reader that falls behind skips to the oldest event
// still held (the returned events then start later than *cursor implied).
size_t hsapreempt_sim_trace_read(uint64_t* cursor, hsapreempt_sim_event* out, size_t max);

#ifdef __cplusplus
}
#endif

#endif  // HSAPREEMPT_SIM_DEVICE_H_
