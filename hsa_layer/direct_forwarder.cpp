#include "hsa_layer/direct_forwarder.h"

#include <sched.h>

#include <atomic>
#include <cstring>

#include "common/clock.h"

namespace hsapreempt::hsa {
namespace {

constexpr size_t kPacketBytes = 64;
static_assert(sizeof(hsa_kernel_dispatch_packet_t) == kPacketBytes, "AQL packet size");
static_assert(sizeof(hsa_barrier_and_packet_t) == kPacketBytes, "AQL packet size");

uint16_t LoadHeader(const uint8_t* slot) {
  return __atomic_load_n(reinterpret_cast<const uint16_t*>(slot), __ATOMIC_ACQUIRE);
}

}  // namespace

std::unique_ptr<xq::XQueue> DirectForwarder::Create(const xq::RuntimeOps* ops, hsa_queue_t* soft,
                                                    hsa_queue_t* hw, xq::Listener*) {
  if (ops == nullptr || soft == nullptr || hw == nullptr || soft->size != hw->size) return nullptr;
  return std::unique_ptr<xq::XQueue>(new DirectForwarder(*ops, soft, hw));
}

void DirectForwarder::OnDoorbell(uint64_t) {
  std::lock_guard<std::mutex> lock(mu_);
  auto* soft_base = static_cast<uint8_t*>(soft_->base_address);
  auto* hw_base = static_cast<uint8_t*>(hw_->base_address);
  const uint64_t mask = soft_->size - 1;
  uint64_t read = ops_.load_read_index_scacquire(soft_);
  const uint64_t write = ops_.load_write_index_scacquire(soft_);
  uint64_t last = UINT64_MAX;
  for (; read < write; ++read) {
    uint8_t* src = soft_base + (read & mask) * kPacketBytes;
    if ((LoadHeader(src) & 0xff) == HSA_PACKET_TYPE_INVALID) break;  // not yet published
    const uint64_t slot = ops_.add_write_index_screlease(hw_, 1);
    while (slot - ops_.load_read_index_scacquire(hw_) >= hw_->size) sched_yield();
    uint8_t* dst = hw_base + (slot & mask) * kPacketBytes;
    std::memcpy(dst + 4, src + 4, kPacketBytes - 4);
    const uint32_t header_setup = __atomic_load_n(reinterpret_cast<uint32_t*>(src), __ATOMIC_ACQUIRE);
    __atomic_store_n(reinterpret_cast<uint32_t*>(src), uint32_t{HSA_PACKET_TYPE_INVALID},
                     __ATOMIC_RELAXED);
    __atomic_store_n(reinterpret_cast<uint32_t*>(dst), header_setup, __ATOMIC_RELEASE);
    last = slot;
    ++forwarded_;
  }
  if (last != UINT64_MAX) {
    ops_.store_read_index_screlease(soft_, read);
    ops_.signal_store_screlease(hw_->doorbell_signal, static_cast<hsa_signal_value_t>(last));
  }
}

common::Status DirectForwarder::Drain(uint64_t timeout_ns) {
  OnDoorbell(0);
  const uint64_t deadline = common::MonotonicRawNs() + timeout_ns;
  while (ops_.load_read_index_scacquire(hw_) < ops_.load_write_index_scacquire(hw_)) {
    if (common::MonotonicRawNs() > deadline) {
      return common::Status::Error(common::Status::Code::kBusy, "drain timed out");
    }
    sched_yield();
  }
  return common::Status::Ok();
}

xq::XQueueStats DirectForwarder::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  xq::XQueueStats s;
  s.submitted = s.forwarded = forwarded_;
  return s;
}

}  // namespace hsapreempt::hsa
