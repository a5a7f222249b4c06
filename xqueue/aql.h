// AQL packet helpers used by the XQueue (internal to xqueue/ and its tests).
//
// AQL publication protocol (HSA spec 2.8): a producer writes the packet body, then publishes the
// first 32-bit word (16-bit header + 16-bit setup) with a release store; a consumer loads the header
// with acquire and treats the slot as empty while its type is INVALID. The completion signal is at
// byte 56 and barrier dependencies at bytes 8..47 in every packet type we read.
#ifndef XQUEUE_AQL_H_
#define XQUEUE_AQL_H_

#include <hsa.h>

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace hsapreempt::xq::aql {

constexpr size_t kPacketBytes = 64;
constexpr size_t kCompletionSignalOffset = 56;
constexpr size_t kDepSignalOffset = 8;
constexpr int kDepSignals = 5;
constexpr uint16_t kInvalidHeader = HSA_PACKET_TYPE_INVALID << HSA_PACKET_HEADER_TYPE;

static_assert(sizeof(hsa_kernel_dispatch_packet_t) == kPacketBytes, "AQL packet size");
static_assert(sizeof(hsa_barrier_and_packet_t) == kPacketBytes, "AQL packet size");
static_assert(sizeof(hsa_barrier_or_packet_t) == kPacketBytes, "AQL packet size");
static_assert(offsetof(hsa_kernel_dispatch_packet_t, completion_signal) == kCompletionSignalOffset,
              "completion signal offset (dispatch)");
static_assert(offsetof(hsa_barrier_and_packet_t, completion_signal) == kCompletionSignalOffset,
              "completion signal offset (barrier-and)");
static_assert(offsetof(hsa_barrier_or_packet_t, completion_signal) == kCompletionSignalOffset,
              "completion signal offset (barrier-or)");
static_assert(offsetof(hsa_agent_dispatch_packet_t, completion_signal) == kCompletionSignalOffset,
              "completion signal offset (agent dispatch)");
static_assert(offsetof(hsa_barrier_and_packet_t, dep_signal) == kDepSignalOffset, "deps offset");
static_assert(offsetof(hsa_barrier_or_packet_t, dep_signal) == kDepSignalOffset, "deps offset");

inline uint32_t HeaderType(uint16_t header) {
  return (header >> HSA_PACKET_HEADER_TYPE) & ((1u << HSA_PACKET_HEADER_WIDTH_TYPE) - 1);
}
inline bool HeaderBarrierBit(uint16_t header) { return (header >> HSA_PACKET_HEADER_BARRIER) & 1u; }
inline bool IsBarrierAndOr(uint16_t header) {
  uint32_t t = HeaderType(header);
  return t == HSA_PACKET_TYPE_BARRIER_AND || t == HSA_PACKET_TYPE_BARRIER_OR;
}

inline uint16_t LoadHeaderAcquire(const uint8_t* slot) {
  return __atomic_load_n(reinterpret_cast<const uint16_t*>(slot), __ATOMIC_ACQUIRE);
}
inline void StoreHeaderRelease(uint8_t* slot, uint16_t header) {
  __atomic_store_n(reinterpret_cast<uint16_t*>(slot), header, __ATOMIC_RELEASE);
}

// Copies a published packet: body (bytes 4..63) first, then header+setup with one release store,
// so a consumer that sees the header sees the whole packet. `src` must already be known published
// (its header loaded with acquire).
inline void CopyPacket(uint8_t* dst, const uint8_t* src) {
  memcpy(dst + 4, src + 4, kPacketBytes - 4);
  uint32_t word = __atomic_load_n(reinterpret_cast<const uint32_t*>(src), __ATOMIC_RELAXED);
  __atomic_store_n(reinterpret_cast<uint32_t*>(dst), word, __ATOMIC_RELEASE);
}

inline hsa_signal_t CompletionSignal(const uint8_t* slot) {
  hsa_signal_t s;
  memcpy(&s, slot + kCompletionSignalOffset, sizeof(s));
  return s;
}

inline hsa_signal_t DepSignal(const uint8_t* slot, int i) {
  hsa_signal_t s;
  memcpy(&s, slot + kDepSignalOffset + i * sizeof(hsa_signal_t), sizeof(s));
  return s;
}

// The completion marker: barrier-AND, barrier bit (so it completes only after every earlier packet
// of the queue has completed), no dependencies, completion signal ours. Fence scopes are NONE: we
// only need to know *that* earlier packets completed, not to see their memory, and a system-scope
// release would cost a cache write-back per marker on real hardware.
inline void WriteMarker(uint8_t* dst, hsa_signal_t signal) {
  memset(dst + 4, 0, kPacketBytes - 4);
  memcpy(dst + kCompletionSignalOffset, &signal, sizeof(signal));
  uint16_t header = (HSA_PACKET_TYPE_BARRIER_AND << HSA_PACKET_HEADER_TYPE) |
                    (1u << HSA_PACKET_HEADER_BARRIER) |
                    (HSA_FENCE_SCOPE_NONE << HSA_PACKET_HEADER_SCACQUIRE_FENCE_SCOPE) |
                    (HSA_FENCE_SCOPE_NONE << HSA_PACKET_HEADER_SCRELEASE_FENCE_SCOPE);
  __atomic_store_n(reinterpret_cast<uint32_t*>(dst), static_cast<uint32_t>(header),
                   __ATOMIC_RELEASE);
}

}  // namespace hsapreempt::xq::aql

#endif  // XQUEUE_AQL_H_
