// The packet engine of the simulated command processor: AQL packet parsing, dependencies,
// dispatch costs (include/hsapreempt/sim_kernel_abi.h), ROCr blit-kernel emulation, completion
// signals and the queue error path. Every pointer taken from a packet is read through
// SafeRead/SafeWrite: a malformed packet stops its queue, never the process.
#include <hsa/amd_hsa_kernel_code.h>
#include <hsa/amd_hsa_signal.h>
#include <hsa/hsa.h>
#include <hsa/hsa_ext_amd.h>

#include <algorithm>
#include <cstring>

#include "hsapreempt/sim_device.h"
#include "hsapreempt/sim_kernel_abi.h"
#include "simdev/cp_hip_blit.h"
#include "simdev/cp_queue.h"
#include "simdev/log.h"
#include "simdev/thunk_internal.h"

namespace simdev {
namespace {

constexpr size_t kPacketBytes = 64;
constexpr size_t kMaxInflightPerQueue = 1024;

// Queue error codes as the CP firmware reports them in the queue's inactive signal; ROCr 5.2.3
// (AqlQueue::DynamicScratchHandler) maps them to the status passed to the queue error callback.
constexpr int64_t kErrInvalidDim = 2;          // HSA_STATUS_ERROR_INCOMPATIBLE_ARGUMENTS
constexpr int64_t kErrInvalidCode = 8;         // HSA_STATUS_ERROR_INVALID_CODE_OBJECT
constexpr int64_t kErrInvalidFormat = 32;      // HSA_STATUS_ERROR_INVALID_PACKET_FORMAT
constexpr int64_t kErrInvalidVendor = 256;     // HSA_STATUS_ERROR_INVALID_PACKET_FORMAT
constexpr int64_t kErrMemViolation = 0x20000000;  // HSA_STATUS_ERROR_MEMORY_APERTURE_VIOLATION

uint32_t StatusOf(int64_t code) {
  switch (code) {
    case kErrInvalidDim: return HSA_STATUS_ERROR_INCOMPATIBLE_ARGUMENTS;
    case kErrInvalidCode: return HSA_STATUS_ERROR_INVALID_CODE_OBJECT;
    case kErrMemViolation: return HSA_STATUS_ERROR_MEMORY_APERTURE_VIOLATION;
    default: return HSA_STATUS_ERROR_INVALID_PACKET_FORMAT;
  }
}

// ROCr's blit kernels (amd_blit_kernel.cpp), as it lays out their kernarg segment.
struct BlitCopyAligned {
  uint64_t phase1_src_start, phase1_dst_start, phase2_src_start, phase2_dst_start;
  uint64_t phase3_src_start, phase3_dst_start, phase4_src_start, phase4_dst_start;
  uint64_t phase4_src_end, phase4_dst_end;
  uint32_t num_workitems;
};
struct BlitCopyMisaligned {
  uint64_t phase1_src_start, phase1_dst_start, phase2_src_start, phase2_dst_start;
  uint64_t phase2_src_end, phase2_dst_end;
  uint32_t num_workitems;
};
struct BlitFill {
  uint64_t phase1_dst_start, phase2_dst_start, phase2_dst_end;
  uint32_t fill_value, num_workitems;
};

enum class Blit { kNone, kCopyAligned, kCopyMisaligned, kFill };

// ROCr writes an amd_kernel_code_t with zero version/machine fields, the code right after the
// header, and granulated SGPR/VGPR counts that identify the kernel: CopyAligned 3/2,
// CopyMisaligned 2/2, Fill 2/1 (from 32/12, 23/10, 19/8 registers).
Blit RecogniseBlit(const uint8_t* kc) {
  uint64_t zero[2];
  memcpy(zero, kc, 16);
  int64_t entry;
  memcpy(&entry, kc + offsetof(amd_kernel_code_t, kernel_code_entry_byte_offset), 8);
  if (zero[0] != 0 || zero[1] != 0 || entry != static_cast<int64_t>(sizeof(amd_kernel_code_t))) {
    return Blit::kNone;
  }
  uint32_t rsrc1;
  memcpy(&rsrc1, kc + offsetof(amd_kernel_code_t, compute_pgm_rsrc1), 4);
  uint32_t vgprs = rsrc1 & 0x3f;
  uint32_t sgprs = (rsrc1 >> 6) & 0xf;
  if (sgprs == 3 && vgprs == 2) return Blit::kCopyAligned;
  if (sgprs == 2 && vgprs == 2) return Blit::kCopyMisaligned;
  if (sgprs == 2 && vgprs == 1) return Blit::kFill;
  return Blit::kNone;
}

uint64_t BlitNs(const Params& p, uint64_t bytes) {
  uint64_t bw = p.blit_bytes_per_us > 0 ? p.blit_bytes_per_us : 1;
  return std::max<uint64_t>(1, bytes * 1000 / bw);
}

void RaiseQueueError(CpQueue& q, Device& dev, int64_t code, uint64_t index, uint64_t now,
                     const char* what) {
  q.error = true;
  SetQueueError(q.cfg.kfd_queue_id);
  SIM_LOG(kWarn, "queue %u: %s at packet %llu: queue stopped (error code 0x%llx)",
          q.cfg.kfd_queue_id, what, (unsigned long long)index, (unsigned long long)code);
  dev.TraceEvent(HSAPREEMPT_SIM_EV_QUEUE_ERROR, q.cfg.slot, index, StatusOf(code), now);
  if (q.amd_queue == nullptr) return;
  // As the firmware does: post the error code in the queue's inactive signal and raise its event.
  // ROCr's handler then suspends the queue and calls the application's error callback.
  hsa_signal_t sig;
  if (!SafeRead(&q.amd_queue->queue_inactive_signal, &sig, sizeof(sig)) || sig.handle == 0) return;
  amd_signal_t s;
  if (!SafeRead(reinterpret_cast<void*>(sig.handle), &s, sizeof(s))) return;
  amd_signal_t* live = reinterpret_cast<amd_signal_t*>(sig.handle);
  __atomic_store_n(&live->value, code, __ATOMIC_RELEASE);
  if (s.event_mailbox_ptr != 0) SignalEventFromDevice(s.event_mailbox_ptr, s.event_id);
}

// Decrements a completion signal the way the CP's end-of-packet release does.
void CompleteSignal(uint64_t handle, const DispatchTimes& t, CompletionLog& log) {
  if (handle == 0) return;
  amd_signal_t s;
  if (!SafeRead(reinterpret_cast<void*>(handle), &s, sizeof(s)) || s.kind != AMD_SIGNAL_KIND_USER) {
    SIM_LOG(kWarn, "completion signal 0x%llx is not a valid amd_signal_t: not signalled",
            (unsigned long long)handle);
    return;
  }
  amd_signal_t* live = reinterpret_cast<amd_signal_t*>(handle);
  // Timestamps first, so a waiter that sees the new value also sees them.
  live->start_ts = t.start_ns;
  live->end_ts = t.end_ns;
  log.Record(handle, t.end_ns);
  __atomic_fetch_sub(&live->value, 1, __ATOMIC_SEQ_CST);
  if (s.event_mailbox_ptr != 0) SignalEventFromDevice(s.event_mailbox_ptr, s.event_id);
}

void ApplyEffect(const Effect& e) {
  switch (e.kind) {
    case Effect::kNone:
      break;
    case Effect::kConvention: {  // a: done_ptr, b: done_value, c: order_counter, d: order_slot
      if (e.c != 0) {
        uint32_t probe;
        if (SafeRead(reinterpret_cast<void*>(e.c), &probe, sizeof(probe))) {
          uint32_t ticket = __atomic_fetch_add(reinterpret_cast<uint32_t*>(e.c), 1, __ATOMIC_SEQ_CST);
          if (e.d != 0) SafeWrite(reinterpret_cast<void*>(e.d), &ticket, sizeof(ticket));
        }
      }
      if (e.a != 0) SafeWrite(reinterpret_cast<void*>(e.a), &e.b, sizeof(e.b));
      break;
    }
    case Effect::kCopy: {  // a: dst, b: src, c: bytes
      uint8_t probe;
      if (e.c == 0) break;
      if (!SafeRead(reinterpret_cast<void*>(e.b), &probe, 1) ||
          !SafeRead(reinterpret_cast<void*>(e.b + e.c - 1), &probe, 1) ||
          !SafeRead(reinterpret_cast<void*>(e.a), &probe, 1) ||
          !SafeRead(reinterpret_cast<void*>(e.a + e.c - 1), &probe, 1)) {
        SIM_LOG(kWarn, "blit copy of %llu bytes has an invalid range: skipped",
                (unsigned long long)e.c);
        break;
      }
      memmove(reinterpret_cast<void*>(e.a), reinterpret_cast<void*>(e.b), e.c);
      break;
    }
    case Effect::kFill: {  // a: dst, b: value, c: bytes (multiple of 4)
      uint8_t probe;
      if (e.c < 4) break;
      if (!SafeRead(reinterpret_cast<void*>(e.a), &probe, 1) ||
          !SafeRead(reinterpret_cast<void*>(e.a + e.c - 1), &probe, 1)) {
        SIM_LOG(kWarn, "blit fill of %llu bytes has an invalid range: skipped",
                (unsigned long long)e.c);
        break;
      }
      uint32_t v = static_cast<uint32_t>(e.b);
      uint32_t* p = reinterpret_cast<uint32_t*>(e.a);
      std::fill(p, p + e.c / 4, v);
      break;
    }
    case Effect::kPatternFill:  // HIP's fill kernels (cp_hip_blit.cpp)
      ApplyPatternFill(e);
      break;
  }
}

bool Satisfies(int64_t value, uint32_t cond, int64_t cmp) {
  switch (cond) {
    case HSA_SIGNAL_CONDITION_EQ: return value == cmp;
    case HSA_SIGNAL_CONDITION_NE: return value != cmp;
    case HSA_SIGNAL_CONDITION_LT: return value < cmp;
    case HSA_SIGNAL_CONDITION_GTE: return value >= cmp;
    default: return false;
  }
}

// Reads a dependency signal's value; false if the handle is unreadable.
bool SignalValue(uint64_t handle, int64_t* value) {
  amd_signal_t s;
  if (!SafeRead(reinterpret_cast<void*>(handle), &s, sizeof(s))) return false;
  *value = __atomic_load_n(&reinterpret_cast<amd_signal_t*>(handle)->value, __ATOMIC_ACQUIRE);
  return true;
}

enum class Fetch { kLaunched, kBlocked, kError };

// Barrier-AND/OR: satisfied? `*dep_time` = exact time the dependency was met, if known.
Fetch CheckBarrier(const uint8_t* pkt, bool is_or, const CompletionLog& log, uint64_t* dep_time,
                   int64_t* err) {
  hsa_barrier_and_packet_t b;
  memcpy(&b, pkt, sizeof(b));
  bool any_dep = false, any_met = false, all_met = true;
  uint64_t t_all = 0, t_any = UINT64_MAX;
  for (const hsa_signal_t& s : b.dep_signal) {
    if (s.handle == 0) continue;
    any_dep = true;
    int64_t v;
    if (!SignalValue(s.handle, &v)) {
      *err = kErrMemViolation;
      return Fetch::kError;
    }
    bool met = v == 0;
    uint64_t t = met ? log.Lookup(s.handle) : 0;
    any_met |= met;
    all_met &= met;
    if (met) {
      t_all = std::max(t_all, t);
      t_any = std::min(t_any, t);
    }
  }
  bool ok = !any_dep || (is_or ? any_met : all_met);
  if (!ok) return Fetch::kBlocked;
  *dep_time = !any_dep ? 0 : (is_or ? (t_any == UINT64_MAX ? 0 : t_any) : t_all);
  return Fetch::kLaunched;
}

Fetch PrepareDispatch(const uint8_t* pkt, const Params& prm, KernelWork* work, Effect* effect,
                      int64_t* err) {
  hsa_kernel_dispatch_packet_t d;
  memcpy(&d, pkt, sizeof(d));
  uint32_t dims = d.setup & 0x3;
  if (dims < 1 || d.workgroup_size_x == 0 || d.workgroup_size_y == 0 || d.workgroup_size_z == 0 ||
      d.grid_size_x == 0 || d.grid_size_y == 0 || d.grid_size_z == 0) {
    *err = kErrInvalidDim;
    return Fetch::kError;
  }
  uint64_t wg = uint64_t((d.grid_size_x + d.workgroup_size_x - 1) / d.workgroup_size_x) *
                ((d.grid_size_y + d.workgroup_size_y - 1) / d.workgroup_size_y) *
                ((d.grid_size_z + d.workgroup_size_z - 1) / d.workgroup_size_z);
  work->workgroups = static_cast<uint32_t>(std::min<uint64_t>(wg, UINT32_MAX));
  uint8_t kc[sizeof(amd_kernel_code_t)];
  if (d.kernel_object == 0 || !SafeRead(reinterpret_cast<void*>(d.kernel_object), kc, 64)) {
    *err = kErrInvalidCode;
    return Fetch::kError;
  }
  Blit blit = RecogniseBlit(kc);
  if (blit != Blit::kNone) {
    uint8_t args[sizeof(BlitCopyAligned)];
    size_t need = blit == Blit::kCopyAligned ? sizeof(BlitCopyAligned)
                  : blit == Blit::kCopyMisaligned ? sizeof(BlitCopyMisaligned) : sizeof(BlitFill);
    if (!SafeRead(d.kernarg_address, args, need)) {
      *err = kErrMemViolation;
      return Fetch::kError;
    }
    uint64_t dst, src = 0, bytes, value = 0;
    if (blit == Blit::kCopyAligned) {
      BlitCopyAligned a;
      memcpy(&a, args, sizeof(a));
      dst = a.phase1_dst_start, src = a.phase1_src_start;
      bytes = a.phase4_src_end > src ? a.phase4_src_end - src : 0;
    } else if (blit == Blit::kCopyMisaligned) {
      BlitCopyMisaligned a;
      memcpy(&a, args, sizeof(a));
      dst = a.phase1_dst_start, src = a.phase1_src_start;
      bytes = a.phase2_src_end > src ? a.phase2_src_end - src : 0;
    } else {
      BlitFill a;
      memcpy(&a, args, sizeof(a));
      dst = a.phase1_dst_start, value = a.fill_value;
      bytes = a.phase2_dst_end > dst ? a.phase2_dst_end - dst : 0;
    }
    effect->kind = blit == Blit::kFill ? Effect::kFill : Effect::kCopy;
    effect->a = dst;
    effect->b = blit == Blit::kFill ? value : src;
    effect->c = bytes;
    work->workgroups = 1;
    work->workgroup_ns = BlitNs(prm, bytes);
    return Fetch::kLaunched;
  }
  // Code object v3+ kernel descriptor: kernarg_size at offset 8.
  uint32_t kernarg_size;
  memcpy(&kernarg_size, kc + 8, 4);
  hsapreempt_kernel_args ka;
  if (kernarg_size >= HSAPREEMPT_KERNEL_ARGS_SIZE && d.kernarg_address != nullptr &&
      SafeRead(d.kernarg_address, &ka, sizeof(ka)) && ka.magic == HSAPREEMPT_KERNEL_MAGIC) {
    work->workgroup_ns = ka.workgroup_ns;
    effect->kind = Effect::kConvention;
    effect->a = reinterpret_cast<uint64_t>(ka.done_ptr);
    effect->b = ka.done_value;
    effect->c = reinterpret_cast<uint64_t>(ka.order_counter);
    effect->d = reinterpret_cast<uint64_t>(ka.order_slot);
    return Fetch::kLaunched;
  }
  if (RecogniseHipBlit(d, prm, work, effect)) return Fetch::kLaunched;  // HIP's own blit kernels
  work->workgroup_ns = prm.default_kernel_ns;
  return Fetch::kLaunched;
}

// Fetches and starts the packet at q.fetch. kBlocked: try again later (dependency, device full).
Fetch FetchOne(CpQueue& q, Device& dev, const CompletionLog& log, uint64_t now,
               const uint8_t* pkt, uint16_t header, int64_t* err) {
  const Params& prm = dev.params();
  uint32_t type = (header >> HSA_PACKET_HEADER_TYPE) & 0xff;
  bool barrier = (header >> HSA_PACKET_HEADER_BARRIER) & 1;
  // A barrier-bit packet behind device dispatches only is handed to the device at once: the
  // device starts it when they have ended, at the modelled time (as the real CP, which has fetched
  // it and waits in hardware), not when this thread wakes up to notice their ends. A barrier
  // packet the CP completes itself (Level-1's markers, HIP's event barriers) goes as a cp_only
  // entry.
  bool device_barrier = false;
  if (barrier && !q.inflight.empty()) {
    for (const InflightPacket& p : q.inflight) {
      if (p.handle == 0 && !p.done) return Fetch::kBlocked;
    }
    device_barrier = true;
  }
  uint64_t dep_end = barrier ? q.last_end_ns : 0;

  InflightPacket f;
  f.index = q.fetch;
  memcpy(&f.signal, pkt + 56, sizeof(f.signal));  // completion_signal: same offset in every type
  uint64_t dep_time = 0;
  switch (type) {
    case HSA_PACKET_TYPE_KERNEL_DISPATCH: {
      KernelWork work;
      work.packet_index = q.fetch;
      work.seen_ns = q.seen_ns;
      work.barrier = device_barrier;
      work.barrier_gap_ns = prm.cp_dispatch_ns;
      Fetch r = PrepareDispatch(pkt, prm, &work, &f.effect, err);
      if (r != Fetch::kLaunched) return r;
      uint64_t not_before = std::max({q.seen_ns, dep_end, q.last_launch_ns}) + prm.cp_dispatch_ns;
      f.handle = dev.Launch(q.cfg.slot, work, not_before);
      if (f.handle == 0) return Fetch::kBlocked;  // device dispatch table full: retry
      f.gated = device_barrier;
      q.last_launch_ns = not_before;
      break;
    }
    case HSA_PACKET_TYPE_BARRIER_AND:
    case HSA_PACKET_TYPE_BARRIER_OR: {
      Fetch r = CheckBarrier(pkt, type == HSA_PACKET_TYPE_BARRIER_OR, log, &dep_time, err);
      if (r == Fetch::kBlocked) q.dep_waited = true;
      if (r != Fetch::kLaunched) return r;
      break;
    }
    case HSA_PACKET_TYPE_VENDOR_SPECIFIC: {
      uint8_t format = pkt[2];
      if (format == HSA_AMD_PACKET_TYPE_BARRIER_VALUE) {
        hsa_amd_barrier_value_packet_t b;
        memcpy(&b, pkt, sizeof(b));
        if (b.signal.handle != 0) {
          int64_t v;
          if (!SignalValue(b.signal.handle, &v)) {
            *err = kErrMemViolation;
            return Fetch::kError;
          }
          if (!Satisfies(v & b.mask, b.cond, b.value)) {
            q.dep_waited = true;
            return Fetch::kBlocked;
          }
          dep_time = log.Lookup(b.signal.handle);
        }
      } else if (format != 1) {  // 1: PM4 indirect buffer (ROCr's icache flush): nothing to do
        *err = kErrInvalidVendor;
        return Fetch::kError;
      }
      break;
    }
    default:  // agent dispatch (not for a GPU) or an unknown type
      *err = kErrInvalidFormat;
      return Fetch::kError;
  }
  if (f.handle == 0) {
    // Packets the CP completes itself: after its per-packet cost, once the dependency is met
    // (exactly when a signal this CP completed met it; else when the CP saw it met).
    if (dep_time == 0 && q.dep_waited) dep_time = NowNs();  // seen met just now
    uint64_t t = std::max({q.seen_ns, dep_end, dep_time, q.last_launch_ns}) +
                 prm.cp_dispatch_ns;
    if (device_barrier) {
      // Behind device dispatches: the device completes it when they have ended (+ CP cost).
      KernelWork work;
      work.packet_index = q.fetch;
      work.seen_ns = q.seen_ns;
      work.cp_only = true;
      work.barrier = true;
      work.barrier_gap_ns = prm.cp_dispatch_ns;
      f.handle = dev.Launch(q.cfg.slot, work, t);
      if (f.handle == 0) return Fetch::kBlocked;  // device dispatch table full: retry
      f.gated = true;
    } else {
      f.local_end = t;
    }
    q.last_launch_ns = t;
  }
  q.inflight.push_back(f);
  return Fetch::kLaunched;
}

}  // namespace

void CompletionLog::Record(uint64_t signal, uint64_t end_ns) {
  int i = static_cast<int>((signal >> 6) % kSize);
  sig_[i] = signal;
  end_[i] = end_ns;
}

uint64_t CompletionLog::Lookup(uint64_t signal) const {
  int i = static_cast<int>((signal >> 6) % kSize);
  return sig_[i] == signal ? end_[i] : 0;
}

amd_queue_t* FindAmdQueue(volatile uint64_t* read_ptr, const uint8_t* ring) {
  uint64_t base = reinterpret_cast<uint64_t>(read_ptr) - offsetof(amd_queue_t, read_dispatch_id);
  amd_queue_t q;
  if (!SafeRead(reinterpret_cast<void*>(base), &q, sizeof(q))) return nullptr;
  if (q.read_dispatch_id_field_base_byte_offset != offsetof(amd_queue_t, read_dispatch_id) ||
      q.hsa_queue.base_address != ring) {
    return nullptr;
  }
  return reinterpret_cast<amd_queue_t*>(base);
}

namespace {

void Finish(InflightPacket& f, CompletionLog& log) {
  ApplyEffect(f.effect);
  CompleteSignal(f.signal, f.times, log);
  f.signalled = true;
}

bool HeaderValid(const CpQueue& q, uint64_t index) {
  const uint8_t* pkt = q.cfg.ring + (index & (q.cfg.ring_packets - 1)) * kPacketBytes;
  uint16_t header = __atomic_load_n(reinterpret_cast<const uint16_t*>(pkt), __ATOMIC_ACQUIRE);
  return ((header >> HSA_PACKET_HEADER_TYPE) & 0xff) != HSA_PACKET_TYPE_INVALID;
}

// Records when packets at and beyond `fetch` first showed a valid header. The clock is read after
// seeing the header (not the iteration's `now`, which predates completions this very iteration
// signalled and the packets their waiters wrote since), so an arrival is never stamped early.
void ScanArrivals(CpQueue& q, uint64_t write) {
  if (q.scan_next < q.fetch) {
    q.scan_next = q.fetch;
    q.valid_seen_ns.clear();
  }
  while (q.scan_next < write && q.scan_next - q.fetch < q.cfg.ring_packets &&
         HeaderValid(q, q.scan_next)) {
    q.valid_seen_ns.push_back(NowNs());
    ++q.scan_next;
  }
}

}  // namespace

bool ProcessQueue(CpQueue& q, Device& dev, CompletionLog& log, uint64_t now, uint64_t* next_local) {
  bool progress = false;
  // 1. Which packets ended. A gated packet behind one that has not ended cannot have started, nor
  // can anything behind it (the device starts a queue's packets in order): stop there, so a long
  // pass handed over at once costs one poll per iteration, not one per packet.
  bool unended = false;
  for (InflightPacket& f : q.inflight) {
    if (f.done) continue;
    if (f.gated && unended) break;
    if (f.handle != 0) {
      if (!dev.Poll(f.handle, now, &f.times)) {
        unended = true;
        continue;
      }
    } else {
      if (now < f.local_end) {
        *next_local = std::min(*next_local, f.local_end);
        unended = true;
        continue;
      }
      f.times.start_ns = f.times.end_ns = f.local_end;
    }
    f.done = true;
    progress = true;
  }
  // 2. Retire in order: invalidate the slot and publish the read index (frees the slot) before
  // signalling, so whoever sees the signal also sees the read index past the packet.
  const uint32_t mask = q.cfg.ring_packets - 1;
  while (!q.inflight.empty() && q.inflight.front().done) {
    InflightPacket& f = q.inflight.front();
    uint16_t* header = reinterpret_cast<uint16_t*>(q.cfg.ring + (f.index & mask) * kPacketBytes);
    __atomic_store_n(header, uint16_t(HSA_PACKET_TYPE_INVALID << HSA_PACKET_HEADER_TYPE),
                     __ATOMIC_RELAXED);
    __atomic_store_n(q.cfg.read_ptr, f.index + 1, __ATOMIC_RELEASE);
    q.last_end_ns = std::max(q.last_end_ns, f.times.end_ns);
    if (!f.signalled) Finish(f, log);
    q.inflight.pop_front();
  }
  // Packets that ended before an older one (no barrier bit) signal now and retire later.
  for (InflightPacket& f : q.inflight) {
    if (f.done && !f.signalled) Finish(f, log);
  }
  // 3. Fetch while the queue may run.
  uint64_t write = __atomic_load_n(q.cfg.write_ptr, __ATOMIC_ACQUIRE);
  ScanArrivals(q, write);
  // Nothing new is the common case: decide it before taking the device lock for QueueRunnable.
  while (!q.error && q.fetch < write &&
         q.inflight.size() < std::min<size_t>(kMaxInflightPerQueue, q.cfg.ring_packets) &&
         dev.QueueRunnable(q.cfg.slot)) {
    const uint8_t* pkt = q.cfg.ring + (q.fetch & mask) * kPacketBytes;
    uint16_t header = __atomic_load_n(reinterpret_cast<const uint16_t*>(pkt), __ATOMIC_ACQUIRE);
    if (((header >> HSA_PACKET_HEADER_TYPE) & 0xff) == HSA_PACKET_TYPE_INVALID) break;
    if (q.seen_index != q.fetch) {
      q.seen_index = q.fetch;
      q.seen_ns = q.valid_seen_ns.empty() ? NowNs() : q.valid_seen_ns.front();
    }
    uint8_t copy[kPacketBytes];
    memcpy(copy, pkt, sizeof(copy));
    int64_t err = 0;
    Fetch r = FetchOne(q, dev, log, now, copy, header, &err);
    if (r == Fetch::kBlocked) break;
    if (r == Fetch::kError) {
      static const char* const kWhat[] = {"invalid packet"};
      const char* what = err == kErrInvalidDim ? "invalid dispatch dimensions"
                         : err == kErrInvalidCode ? "invalid kernel object"
                         : err == kErrMemViolation ? "unreadable packet argument"
                         : err == kErrInvalidVendor ? "unknown vendor packet format"
                                                    : kWhat[0];
      RaiseQueueError(q, dev, err, q.fetch, now, what);
      progress = true;
      break;
    }
    ++q.fetch;
    if (!q.valid_seen_ns.empty()) q.valid_seen_ns.pop_front();
    q.dep_waited = false;
    progress = true;
  }
  return progress;
}

}  // namespace simdev
