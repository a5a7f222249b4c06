// The API-table wrappers hsa_layer installs (queue virtualization, doorbell interception).
// Each has the exact signature of the slot it replaces; each calls the runtime only through
// Saved() and never throws, exits or aborts.
#ifndef HSA_LAYER_WRAPPERS_H_
#define HSA_LAYER_WRAPPERS_H_

#include <hsa.h>
#include <hsa_ext_amd.h>

namespace hsapreempt::hsa {

// Queue wrappers (queues.cpp).
hsa_status_t QueueCreate(hsa_agent_t agent, uint32_t size, hsa_queue_type32_t type,
                         void (*callback)(hsa_status_t, hsa_queue_t*, void*), void* data,
                         uint32_t private_segment_size, uint32_t group_segment_size,
                         hsa_queue_t** queue);
hsa_status_t QueueDestroy(hsa_queue_t* queue);
hsa_status_t QueueInactivate(hsa_queue_t* queue);
hsa_status_t QueueCuSetMask(const hsa_queue_t* queue, uint32_t num_cu_mask_count,
                            const uint32_t* cu_mask);
hsa_status_t QueueCuGetMask(const hsa_queue_t* queue, uint32_t num_cu_mask_count,
                            uint32_t* cu_mask);
hsa_status_t QueueSetPriority(hsa_queue_t* queue, hsa_amd_queue_priority_t priority);
hsa_status_t ProfilingSetProfilerEnabled(hsa_queue_t* queue, int enable);
hsa_status_t ShutDown();

// Doorbell wrappers (doorbells.cpp).
void SignalStoreRelaxed(hsa_signal_t signal, hsa_signal_value_t value);
void SignalStoreScrelease(hsa_signal_t signal, hsa_signal_value_t value);
void SignalSilentStoreRelaxed(hsa_signal_t signal, hsa_signal_value_t value);
void SignalSilentStoreScrelease(hsa_signal_t signal, hsa_signal_value_t value);

}  // namespace hsapreempt::hsa

#endif  // HSA_LAYER_WRAPPERS_H_
