// A fake HSA runtime over plain memory for the xqueue unit tests and micro-benchmark: queues whose
// indices are atomics, signals that are an int64 in memory, and a fake command processor (CP)
// thread that consumes a hardware ring the way an AQL packet processor does.
//
// Packet conventions of these tests: an application packet is a KERNEL_DISPATCH whose
// kernel_object is its run time in ns and whose kernarg_address carries its sequence number (the
// soft-ring index it was submitted at), so the CP can check exactly-once, in-order delivery.
#ifndef TESTS_XQUEUE_FAKE_RUNTIME_H_
#define TESTS_XQUEUE_FAKE_RUNTIME_H_

#include <hsa.h>

#include <atomic>
#include <cstdint>
#include <deque>
#include <thread>

#include "levels/lever.h"
#include "xqueue/xqueue.h"

namespace hsapreempt::xq::test {

struct FakeSignal {
  std::atomic<int64_t> value{0};
};
hsa_signal_t MakeSignal(int64_t value);  // freed with FreeSignal
void FreeSignal(hsa_signal_t signal);
FakeSignal* ToFake(hsa_signal_t signal);
int64_t LiveSignals();  // created minus destroyed

// A queue: hsa_queue_t first, so the runtime functions can cast back.
struct FakeQueue {
  hsa_queue_t q{};
  std::atomic<uint64_t> read{0};
  std::atomic<uint64_t> write{0};
  uint8_t* ring = nullptr;
  explicit FakeQueue(uint32_t size);
  ~FakeQueue();
  FakeQueue(const FakeQueue&) = delete;
  FakeQueue& operator=(const FakeQueue&) = delete;
  uint8_t* slot(uint64_t index) const { return ring + (index & (q.size - 1)) * 64; }
};

// RuntimeOps over FakeQueue/FakeSignal.
const RuntimeOps* FakeOps();

// Application side: reserves a slot (waiting while the ring is full, up to ~10 s), writes a
// kernel-dispatch packet, publishes it, and rings the XQueue's doorbell. Returns the index or
// UINT64_MAX on timeout.
uint64_t SubmitKernel(FakeQueue* soft, XQueue* xq, uint64_t run_ns, hsa_signal_t completion,
                      bool barrier_bit);
// Same for a barrier-AND (or OR) packet with up to 5 dependencies.
uint64_t SubmitBarrier(FakeQueue* soft, XQueue* xq, bool is_or, const hsa_signal_t* deps, int ndeps,
                       hsa_signal_t completion);

// The fake CP over one hardware queue. Honours the barrier bit and barrier-AND/OR dependencies,
// runs up to `parallel` kernels at once (each for its kernel_object ns), decrements completion
// signals when packets complete, marks headers INVALID and advances the read index.
class FakeCp {
 public:
  FakeCp(FakeQueue* hw, uint32_t parallel);
  ~FakeCp();
  void set_paused(bool paused) { paused_.store(paused); }

  std::atomic<uint64_t> app_started{0};    // kernel packets started
  std::atomic<uint64_t> app_completed{0};  // kernel packets completed
  std::atomic<uint64_t> barriers{0};       // barrier packets processed (markers included)
  std::atomic<uint64_t> order_errors{0};   // kernel packets whose sequence number was not next
  std::atomic<uint64_t> max_in_flight{0};  // max kernel packets in the ring unprocessed + running
  std::atomic<uint64_t> expected_seq{0};   // next expected sequence number

 private:
  struct Running {
    uint64_t end_ns;
    hsa_signal_t signal;
  };
  void Loop();
  bool Step();
  uint64_t CountInFlight(uint64_t read, uint64_t write) const;

  FakeQueue* hw_;
  uint32_t parallel_;
  std::deque<Running> running_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> paused_{false};
  std::thread thread_;
};

class FakeLever : public levels::Lever {
 public:
  levels::LeverKind kind() const override { return levels::LeverKind::kUpdateQueue; }
  common::Status Engage() override;
  common::Status Release() override;
  bool engaged() const override { return engaged_.load(); }
  common::Status Reassert() override { return common::Status::Ok(); }

  std::atomic<bool> fail_engage{false};
  std::atomic<int> engages{0};
  std::atomic<int> releases{0};
  std::atomic<bool> engaged_{false};
};

class FakeListener : public Listener {
 public:
  void OnBusy(XQueue*) override { busy_calls++; busy = true; }
  void OnIdle(XQueue*) override { idle_calls++; busy = false; }
  std::atomic<int> busy_calls{0};
  std::atomic<int> idle_calls{0};
  std::atomic<bool> busy{false};
};

// Waits until pred() or timeout; returns pred().
template <typename Pred>
bool WaitFor(Pred pred, uint64_t timeout_ms = 10000) {
  for (uint64_t i = 0; i < timeout_ms * 10; ++i) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::microseconds(100));
  }
  return pred();
}

}  // namespace hsapreempt::xq::test

#endif  // TESTS_XQUEUE_FAKE_RUNTIME_H_
