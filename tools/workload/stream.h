// The submission engine of hsapreempt-workload: one stream of "units" on one HSA queue.
//
// A unit is a fixed list of spin-kernel dispatches (spin/probe: one kernel; replay: one forward
// pass). Units are released open-loop at a rate (fixed or Poisson arrivals) or, with rate 0, flat
// out as soon as fewer than `inflight` units are outstanding. Each unit's last packet carries a
// completion signal (from a pool of `inflight` signals); its profiling timestamps give the device
// start/end. Latency is measured from the scheduled release time, so a late submission (window
// full, host slow) counts against the latency rather than being hidden (no coordinated omission).
//
// Clock: every time is ns of the HSA system timestamp (testsupport::SystemTimestampNs), the
// domain ROCr converts profiling timestamps into. `done_ns` is when this thread observed the
// completion: exact only with inflight 1 (otherwise it is observed when the window needs a slot).
#ifndef TOOLS_WORKLOAD_STREAM_H_
#define TOOLS_WORKLOAD_STREAM_H_

#include <cstdint>
#include <string>
#include <vector>

#include "tests/support/hsa_helpers.h"

namespace hsapreempt::workload {

struct UnitKernel {
  uint32_t workgroups = 1;
  uint64_t workgroup_ns = 0;
};

struct StreamConfig {
  std::vector<UnitKernel> unit;  // >= 1 kernel
  uint16_t workgroup_size = 64;
  int64_t count = 100;           // units to release (<= 0: unlimited, use seconds)
  double seconds = 0;            // stop releasing at t0 + seconds (0: no limit)
  double rate = 0;               // units/s; 0 = flat out
  bool poisson = false;
  uint64_t seed = 1;
  uint32_t inflight = 64;
  bool barrier = true;
  double timeout_s = 60;
  testsupport::WaitStyle wait = testsupport::WaitStyle::kHsaWait;
  uint64_t t0_ns = 0;            // first release time (shared by every queue's stream)
};

struct UnitRecord {
  uint64_t release_ns = 0;  // scheduled (or, flat out, actual) release
  uint64_t submit_ns = 0;   // first packet written
  uint64_t published_ns = 0;  // last packet's doorbell rung (the unit is all on the queue)
  uint64_t start_ns = 0;    // profiling start of the last kernel
  uint64_t end_ns = 0;      // profiling end of the last kernel
  uint64_t done_ns = 0;     // completion observed by the host
};

struct StreamResult {
  bool ok = false;
  std::string error;
  std::vector<UnitRecord> units;
  uint64_t packets = 0;
};

StreamResult RunStream(const testsupport::HsaSystem& sys, hsa_queue_t* queue,
                       const testsupport::Kernel& kernel, const StreamConfig& config);

}  // namespace hsapreempt::workload

#endif  // TOOLS_WORKLOAD_STREAM_H_
