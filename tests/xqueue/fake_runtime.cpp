#include "tests/xqueue/fake_runtime.h"

#include <sys/prctl.h>

#include <cstdlib>
#include <cstring>

#include "common/clock.h"
#include "xqueue/aql.h"

namespace hsapreempt::xq::test {
namespace {

std::atomic<int64_t> g_live_signals{0};

FakeQueue* Q(const hsa_queue_t* q) {
  return reinterpret_cast<FakeQueue*>(const_cast<hsa_queue_t*>(q));
}

uint64_t LoadWrite(const hsa_queue_t* q) { return Q(q)->write.load(std::memory_order_acquire); }
uint64_t LoadRead(const hsa_queue_t* q) { return Q(q)->read.load(std::memory_order_acquire); }
void StoreRead(const hsa_queue_t* q, uint64_t v) { Q(q)->read.store(v, std::memory_order_release); }
uint64_t AddWrite(const hsa_queue_t* q, uint64_t v) {
  return Q(q)->write.fetch_add(v, std::memory_order_release);
}
void SignalStore(hsa_signal_t s, hsa_signal_value_t v) {
  ToFake(s)->value.store(v, std::memory_order_release);
}
hsa_signal_value_t SignalLoad(hsa_signal_t s) {
  return ToFake(s)->value.load(std::memory_order_acquire);
}
hsa_status_t SignalCreate(hsa_signal_value_t v, uint32_t, const hsa_agent_t*, hsa_signal_t* out) {
  *out = MakeSignal(v);
  return HSA_STATUS_SUCCESS;
}
hsa_status_t SignalDestroy(hsa_signal_t s) {
  FreeSignal(s);
  return HSA_STATUS_SUCCESS;
}

uint64_t Reserve(FakeQueue* soft) {
  uint64_t idx = soft->write.fetch_add(1, std::memory_order_acq_rel);
  uint64_t deadline = common::MonotonicRawNs() + 10'000'000'000ull;
  while (idx - soft->read.load(std::memory_order_acquire) >= soft->q.size) {
    if (common::MonotonicRawNs() > deadline) return UINT64_MAX;
    std::this_thread::yield();
  }
  return idx;
}

void Publish(uint8_t* slot, uint16_t header, uint16_t setup) {
  uint32_t word = header | (static_cast<uint32_t>(setup) << 16);
  __atomic_store_n(reinterpret_cast<uint32_t*>(slot), word, __ATOMIC_RELEASE);
}

}  // namespace

hsa_signal_t MakeSignal(int64_t value) {
  auto* s = new FakeSignal();
  s->value.store(value);
  g_live_signals++;
  return hsa_signal_t{reinterpret_cast<uint64_t>(s)};
}
void FreeSignal(hsa_signal_t signal) {
  delete ToFake(signal);
  g_live_signals--;
}
FakeSignal* ToFake(hsa_signal_t signal) { return reinterpret_cast<FakeSignal*>(signal.handle); }
int64_t LiveSignals() { return g_live_signals.load(); }

FakeQueue::FakeQueue(uint32_t size) {
  ring = static_cast<uint8_t*>(aligned_alloc(64, size * 64));
  for (uint32_t i = 0; i < size; ++i) {
    memset(ring + i * 64, 0, 64);
    Publish(ring + i * 64, aql::kInvalidHeader, 0);
  }
  q.type = HSA_QUEUE_TYPE_MULTI;
  q.base_address = ring;
  q.size = size;
  q.doorbell_signal = MakeSignal(0);
}

FakeQueue::~FakeQueue() {
  FreeSignal(q.doorbell_signal);
  free(ring);
}

const RuntimeOps* FakeOps() {
  static const RuntimeOps ops = [] {
    RuntimeOps o;
    o.load_write_index_scacquire = LoadWrite;
    o.load_read_index_scacquire = LoadRead;
    o.store_read_index_screlease = StoreRead;
    o.add_write_index_screlease = AddWrite;
    o.signal_store_screlease = SignalStore;
    o.signal_load_scacquire = SignalLoad;
    o.signal_create = SignalCreate;
    o.signal_destroy = SignalDestroy;
    return o;
  }();
  return &ops;
}

uint64_t SubmitKernel(FakeQueue* soft, XQueue* xq, uint64_t run_ns, hsa_signal_t completion,
                      bool barrier_bit) {
  uint64_t idx = Reserve(soft);
  if (idx == UINT64_MAX) return idx;
  uint8_t* slot = soft->slot(idx);
  hsa_kernel_dispatch_packet_t p{};
  p.workgroup_size_x = p.workgroup_size_y = p.workgroup_size_z = 1;
  p.grid_size_x = p.grid_size_y = p.grid_size_z = 1;
  p.kernel_object = run_ns;
  p.kernarg_address = reinterpret_cast<void*>(idx);
  p.completion_signal = completion;
  memcpy(slot + 4, reinterpret_cast<uint8_t*>(&p) + 4, 60);
  uint16_t header = (HSA_PACKET_TYPE_KERNEL_DISPATCH << HSA_PACKET_HEADER_TYPE) |
                    ((barrier_bit ? 1u : 0u) << HSA_PACKET_HEADER_BARRIER);
  Publish(slot, header, 1);
  xq->OnDoorbell(idx);
  return idx;
}

uint64_t SubmitBarrier(FakeQueue* soft, XQueue* xq, bool is_or, const hsa_signal_t* deps, int ndeps,
                       hsa_signal_t completion) {
  uint64_t idx = Reserve(soft);
  if (idx == UINT64_MAX) return idx;
  uint8_t* slot = soft->slot(idx);
  hsa_barrier_and_packet_t p{};
  for (int i = 0; i < ndeps && i < 5; ++i) p.dep_signal[i] = deps[i];
  p.completion_signal = completion;
  memcpy(slot + 4, reinterpret_cast<uint8_t*>(&p) + 4, 60);
  uint16_t type = is_or ? HSA_PACKET_TYPE_BARRIER_OR : HSA_PACKET_TYPE_BARRIER_AND;
  Publish(slot, (type << HSA_PACKET_HEADER_TYPE) | (1u << HSA_PACKET_HEADER_BARRIER), 0);
  xq->OnDoorbell(idx);
  return idx;
}

FakeCp::FakeCp(FakeQueue* hw, uint32_t parallel) : hw_(hw), parallel_(parallel) {
  thread_ = std::thread([this] { Loop(); });
}

FakeCp::~FakeCp() {
  stop_.store(true);
  thread_.join();
}

void FakeCp::Loop() {
  prctl(PR_SET_TIMERSLACK, 1000, 0, 0, 0);
  int idle = 0;
  while (!stop_.load()) {
    if (!paused_.load() && Step()) {
      idle = 0;
      continue;
    }
    // Spin briefly, then sleep: the machine has two cores.
    if (++idle < 50) {
      std::this_thread::yield();
    } else {
      std::this_thread::sleep_for(std::chrono::microseconds(5));
    }
  }
}

uint64_t FakeCp::CountInFlight(uint64_t read, uint64_t write) const {
  uint64_t n = running_.size();
  for (uint64_t i = read; i < write; ++i) {
    uint16_t h = aql::LoadHeaderAcquire(hw_->slot(i));
    if (aql::HeaderType(h) == HSA_PACKET_TYPE_KERNEL_DISPATCH) ++n;
  }
  return n;
}

bool FakeCp::Step() {
  bool did = false;
  uint64_t now = common::MonotonicRawNs();
  while (!running_.empty() && running_.front().end_ns <= now) {
    Running r = running_.front();
    running_.pop_front();
    if (r.signal.handle != 0) ToFake(r.signal)->value.fetch_sub(1);
    app_completed++;
    did = true;
  }
  uint64_t read = hw_->read.load(std::memory_order_acquire);
  uint64_t write = hw_->write.load(std::memory_order_acquire);
  if (read >= write) return did;
  uint64_t in_flight = CountInFlight(read, write);
  if (in_flight > max_in_flight.load()) max_in_flight.store(in_flight);
  uint8_t* slot = hw_->slot(read);
  uint16_t header = aql::LoadHeaderAcquire(slot);
  uint32_t type = aql::HeaderType(header);
  if (type == HSA_PACKET_TYPE_INVALID) return did;  // producer bug: visible in tests as a hang
  if (aql::HeaderBarrierBit(header) && !running_.empty()) return did;
  hsa_signal_t completion = aql::CompletionSignal(slot);
  if (type == HSA_PACKET_TYPE_KERNEL_DISPATCH) {
    if (running_.size() >= parallel_) return did;
    hsa_kernel_dispatch_packet_t p;
    memcpy(&p, slot, sizeof(p));
    uint64_t seq = reinterpret_cast<uint64_t>(p.kernarg_address);
    if (seq != expected_seq.load()) order_errors++;
    expected_seq.store(seq + 1);
    running_.push_back({now + p.kernel_object, completion});
    app_started++;
  } else if (aql::IsBarrierAndOr(header)) {
    bool is_or = type == HSA_PACKET_TYPE_BARRIER_OR;
    bool any = false, any_met = false, all_met = true;
    for (int i = 0; i < aql::kDepSignals; ++i) {
      hsa_signal_t d = aql::DepSignal(slot, i);
      if (d.handle == 0) continue;
      any = true;
      bool met = ToFake(d)->value.load() == 0;
      any_met |= met;
      all_met &= met;
    }
    bool ok = is_or ? (!any || any_met) : all_met;
    if (!ok) return did;
    if (completion.handle != 0) ToFake(completion)->value.fetch_sub(1);
    barriers++;
  }
  aql::StoreHeaderRelease(slot, aql::kInvalidHeader);
  hw_->read.store(read + 1, std::memory_order_release);
  return true;
}

common::Status FakeLever::Engage() {
  engages++;
  if (fail_engage.load()) {
    return common::Status::Error(common::Status::Code::kPermission, "fake lever: EPERM", 1);
  }
  engaged_.store(true);
  return common::Status::Ok();
}

common::Status FakeLever::Release() {
  releases++;
  engaged_.store(false);
  return common::Status::Ok();
}

}  // namespace hsapreempt::xq::test
