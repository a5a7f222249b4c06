// Per-queue state of the command processor and the packet engine (cp_packets.cpp). Internal to
// simdev/: everything here runs on the CP thread with the CP lock held.
#ifndef SIMDEV_CP_QUEUE_H_
#define SIMDEV_CP_QUEUE_H_

#include <hsa/amd_hsa_queue.h>

#include <cstdint>
#include <deque>

#include "simdev/cp.h"
#include "simdev/model/device.h"

namespace simdev {

// What a packet does when it completes, besides signalling.
struct Effect {
  enum Kind : uint8_t { kNone, kConvention, kCopy, kFill, kPatternFill } kind = kNone;
  uint64_t a = 0, b = 0, c = 0, d = 0, e = 0;  // kind-specific (see cp_packets.cpp)
};

struct InflightPacket {
  uint64_t index = 0;
  uint64_t handle = 0;       // device dispatch; 0 for packets the CP completes itself
  uint64_t local_end = 0;    // CP-completed packets: completion time
  uint64_t signal = 0;       // completion signal handle (amd_signal_t*), 0 if none
  bool gated = false;         // on the device behind a barrier gate (KernelWork::barrier)
  bool done = false;
  bool signalled = false;    // effects applied and completion signal written
  DispatchTimes times;
  Effect effect;
};

struct CpQueue {
  CpQueueConfig cfg;
  amd_queue_t* amd_queue = nullptr;  // validated at AddQueue, else nullptr
  uint64_t fetch = 0;                // next packet index to fetch
  uint64_t seen_index = UINT64_MAX;  // packet whose first sighting is seen_ns
  uint64_t seen_ns = 0;
  // First time the CP saw each packet of [fetch, scan_next) with a valid header, including
  // packets queued behind one it cannot launch yet: a packet is stamped with when it really
  // arrived (never before it was published), not when the CP got to it.
  std::deque<uint64_t> valid_seen_ns;
  uint64_t scan_next = 0;
  bool dep_waited = false;           // the packet at `fetch` was seen blocked on a dependency
  std::deque<InflightPacket> inflight;
  uint64_t last_launch_ns = 0;       // the CP processes one packet at a time per queue
  uint64_t last_end_ns = 0;          // latest end of a retired packet (barrier bit)
  bool error = false;
};

// Exact completion times of signals this CP completed recently, so a barrier that waited on them
// starts at the exact modelled time rather than when the CP noticed.
class CompletionLog {
 public:
  void Record(uint64_t signal, uint64_t end_ns);
  // 0 if unknown.
  uint64_t Lookup(uint64_t signal) const;

 private:
  static constexpr int kSize = 1024;
  uint64_t sig_[kSize] = {};
  uint64_t end_[kSize] = {};
};

// Advances one queue at device time `now`: completes what ended, retires in order, fetches and
// launches new packets. Returns true if anything changed. `*next_local` is lowered to the
// earliest pending CP-completed packet time.
bool ProcessQueue(CpQueue& q, Device& dev, CompletionLog& log, uint64_t now, uint64_t* next_local);

// Reads and checks the amd_queue_t that owns `read_ptr` (ROCr passes &read_dispatch_id).
amd_queue_t* FindAmdQueue(volatile uint64_t* read_ptr, const uint8_t* ring);

}  // namespace simdev

#endif  // SIMDEV_CP_QUEUE_H_
