// Micro-benchmark (not a test): cost of the XQueue submission path per packet.
//
// The "application" writes kernel-dispatch packets into a ring and rings a doorbell, as HIP does.
// Baseline: straight into the hardware ring. XQueue: into the soft ring, then OnDoorbell copies to
// the hardware ring. An inline "CP" (same thread, identical in both cases) empties the hardware ring
// and completes markers every `consume_every` packets. Added cost = XQueue - baseline.
#include <cstdio>
#include <cstring>
#include <thread>

#include "common/clock.h"
#include "tests/xqueue/fake_runtime.h"
#include "xqueue/aql.h"
#include "xqueue/pump.h"

namespace hsapreempt::xq::test {
namespace {

constexpr uint32_t kRing = 1024;

void Write(FakeQueue* q, uint64_t idx) {
  uint8_t* slot = q->slot(idx);
  hsa_kernel_dispatch_packet_t p{};
  p.workgroup_size_x = p.workgroup_size_y = p.workgroup_size_z = 64;
  p.grid_size_x = p.grid_size_y = p.grid_size_z = 64;
  p.kernarg_address = reinterpret_cast<void*>(idx);
  memcpy(slot + 4, reinterpret_cast<uint8_t*>(&p) + 4, 60);
  uint32_t word = HSA_PACKET_TYPE_KERNEL_DISPATCH | (1u << 16);
  __atomic_store_n(reinterpret_cast<uint32_t*>(slot), word, __ATOMIC_RELEASE);
}

// Instant CP: consume everything, completing markers (barrier packets with a completion signal).
void Consume(FakeQueue* hw) {
  uint64_t r = hw->read.load(std::memory_order_acquire);
  uint64_t w = hw->write.load(std::memory_order_acquire);
  for (; r < w; ++r) {
    uint8_t* slot = hw->slot(r);
    uint16_t h = aql::LoadHeaderAcquire(slot);
    if (aql::IsBarrierAndOr(h)) {
      hsa_signal_t s = aql::CompletionSignal(slot);
      if (s.handle) ToFake(s)->value.fetch_sub(1);
    }
    aql::StoreHeaderRelease(slot, aql::kInvalidHeader);
  }
  hw->read.store(r, std::memory_order_release);
}

double Baseline(uint64_t packets, uint32_t per_doorbell, uint32_t consume_every) {
  FakeQueue hw(kRing);
  const RuntimeOps* ops = FakeOps();
  uint64_t t0 = common::MonotonicRawNs();
  for (uint64_t i = 0; i < packets; i += per_doorbell) {
    uint64_t idx = ops->add_write_index_screlease(&hw.q, per_doorbell);
    for (uint32_t k = 0; k < per_doorbell; ++k) Write(&hw, idx + k);
    ops->signal_store_screlease(hw.q.doorbell_signal, idx + per_doorbell - 1);
    if ((i / per_doorbell) % (consume_every / per_doorbell) == 0) Consume(&hw);
  }
  return static_cast<double>(common::MonotonicRawNs() - t0) / packets;
}

double ViaXQueue(uint64_t packets, uint32_t per_doorbell, uint32_t consume_every,
                 XQueueOptions opts, uint64_t* markers) {
  FakeQueue soft(kRing), hw(kRing);
  const RuntimeOps* ops = FakeOps();
  auto xq = XQueue::Create(ops, &soft.q, &hw.q, opts, nullptr, nullptr);
  if (!xq) return -1;
  uint64_t t0 = common::MonotonicRawNs();
  for (uint64_t i = 0; i < packets; i += per_doorbell) {
    uint64_t idx = ops->add_write_index_screlease(&soft.q, per_doorbell);
    for (uint32_t k = 0; k < per_doorbell; ++k) Write(&soft, idx + k);
    xq->OnDoorbell(idx + per_doorbell - 1);
    if ((i / per_doorbell) % (consume_every / per_doorbell) == 0) Consume(&hw);
  }
  double ns = static_cast<double>(common::MonotonicRawNs() - t0) / packets;
  *markers = xq->stats().markers;
  for (int i = 0; i < 1000 && !xq->Drain(1'000'000).ok(); ++i) Consume(&hw);
  return ns;
}

void Row(const char* name, uint32_t per_doorbell, uint32_t consume_every, XQueueOptions opts) {
  constexpr uint64_t kPackets = 2'000'000;
  double best_base = 1e9, best_xq = 1e9;
  uint64_t markers = 0;
  for (int rep = 0; rep < 3; ++rep) {
    best_base = std::min(best_base, Baseline(kPackets, per_doorbell, consume_every));
    best_xq = std::min(best_xq, ViaXQueue(kPackets, per_doorbell, consume_every, opts, &markers));
  }
  printf("%-34s %3u/doorbell  baseline %6.1f ns/pkt  xqueue %6.1f ns/pkt  added %6.1f ns/pkt  "
         "markers/pkt %.3f\n",
         name, per_doorbell, best_base, best_xq, best_xq - best_base,
         static_cast<double>(markers) / kPackets);
}

// Level-1 under load: a fake CP thread runs `kernel_ns` kernels (64 at a time); the throttle keeps
// 16 in flight and releases batches of 8 when their marker completes. Markers carry the barrier
// bit, so batches run one after another: ideal time = packets / 8 * kernel_ns. Reports the
// slowdown over that (release latency) and the pump thread's CPU use.
void Throttled(uint64_t kernel_ns, uint64_t packets) {
  FakeQueue soft(256), hw(256);
  XQueueOptions opts;  // threshold 16, batch 8
  auto xq = XQueue::Create(FakeOps(), &soft.q, &hw.q, opts, nullptr, nullptr);
  FakeCp cp(&hw, 64);
  uint64_t cpu0 = PumpCpuTimeNs();
  uint64_t t0 = common::MonotonicRawNs();
  for (uint64_t i = 0; i < packets; ++i) SubmitKernel(&soft, xq.get(), kernel_ns, {0}, false);
  // Wait for the throttle to finish the stream (Drain would lift the threshold).
  while (cp.app_completed.load() < packets) std::this_thread::sleep_for(std::chrono::microseconds(20));
  uint64_t wall = common::MonotonicRawNs() - t0;
  while (!xq->Drain(1'000'000'000).ok()) {
  }
  uint64_t cpu = PumpCpuTimeNs() - cpu0;
  double ideal = static_cast<double>(packets) / 8 * kernel_ns;
  printf("level-1 16/8, %7.1f us kernels x %4llu: wall %8.1f ms (ideal %8.1f ms, +%5.1f us per "
         "batch)  pump cpu %5.1f%% of a core\n",
         kernel_ns / 1e3, static_cast<unsigned long long>(packets), wall / 1e6, ideal / 1e6,
         (wall - ideal) / (packets / 8.0) / 1e3, 100.0 * cpu / wall);
}

}  // namespace
}  // namespace hsapreempt::xq::test

int main() {
  using hsapreempt::xq::XQueueOptions;
  using hsapreempt::xq::test::Row;
  XQueueOptions none;
  none.hold_enabled = false;
  XQueueOptions level1;  // threshold 16, batch 8
  XQueueOptions wide;
  wide.threshold = 4096;
  wide.batch = 64;
  printf("xqueue submission path (fake runtime, inline CP; best of 3 x 2M packets)\n");
  Row("level none", 1, 8, none);
  Row("level none", 16, 64, none);
  Row("level-1 threshold 16 batch 8", 1, 8, level1);
  Row("level-1 threshold 16 batch 8", 8, 8, level1);
  Row("level-1 threshold 4096 batch 64", 1, 64, wide);
  Row("level-1 threshold 4096 batch 64", 16, 64, wide);
  printf("\nlevel-1 release latency and pump cost (fake CP thread)\n");
  hsapreempt::xq::test::Throttled(20'000, 4000);
  hsapreempt::xq::test::Throttled(200'000, 800);
  hsapreempt::xq::test::Throttled(2'000'000, 160);
  return 0;
}
