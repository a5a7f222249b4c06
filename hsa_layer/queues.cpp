// Queue virtualization: hsa_queue_create hands the application a soft queue whose doorbell is
// ours, backed by a hardware queue of ours (docs/ARCHITECTURE.md, "Interception"). Every other
// queue-taking API maps the application's queue to the hardware queue.
#include <hsa_ext_amd.h>

#include <mutex>
#include <string>

#include "common/log.h"
#include "hsa_layer/doorbell_set.h"
#include "hsa_layer/glue.h"
#include "hsa_layer/state.h"
#include "hsa_layer/tables.h"
#include "hsa_layer/wrappers.h"

namespace hsapreempt::hsa {
namespace {

constexpr uint64_t kDestroyDrainNs = 2'000'000'000;  // hsa_queue_destroy waits at most this

const CoreApiTable& Core() { return Saved().core; }
const AmdExtTable& Amd() { return Saved().amd_ext; }

// The queue-error trampoline: ROCr reports errors on the hardware queue; the application must
// hear about the queue it knows.
void ErrorTrampoline(hsa_status_t status, hsa_queue_t* source, void* data) {
  auto* record = static_cast<QueueRecord*>(data);
  if (record == nullptr) return;
  // The device stopped this queue: nothing more will be consumed, so destroy must not wait.
  record->errored.store(true, std::memory_order_release);
  if (record->app_callback == nullptr) return;
  hsa_queue_t* visible = record->app_queue != nullptr ? record->app_queue : source;
  record->app_callback(status, visible, record->app_data);
}

bool IsGpuAgent(hsa_agent_t agent) {
  hsa_device_type_t type = HSA_DEVICE_TYPE_CPU;
  return Core().hsa_agent_get_info_fn(agent, HSA_AGENT_INFO_DEVICE, &type) ==
             HSA_STATUS_SUCCESS &&
         type == HSA_DEVICE_TYPE_GPU;
}

// A host region for soft rings: global, fine-grained (or kernarg), allocatable, on a CPU agent.
// Only the host reads the soft ring (the submission path copies it), so any such region will do.
hsa_status_t FindRegionCb(hsa_region_t region, void* data) {
  hsa_region_segment_t segment;
  if (Core().hsa_region_get_info_fn(region, HSA_REGION_INFO_SEGMENT, &segment) !=
          HSA_STATUS_SUCCESS ||
      segment != HSA_REGION_SEGMENT_GLOBAL) {
    return HSA_STATUS_SUCCESS;
  }
  bool alloc = false;
  uint32_t flags = 0;
  Core().hsa_region_get_info_fn(region, HSA_REGION_INFO_RUNTIME_ALLOC_ALLOWED, &alloc);
  Core().hsa_region_get_info_fn(region, HSA_REGION_INFO_GLOBAL_FLAGS, &flags);
  if (alloc && (flags & (HSA_REGION_GLOBAL_FLAG_FINE_GRAINED | HSA_REGION_GLOBAL_FLAG_KERNARG))) {
    *static_cast<hsa_region_t*>(data) = region;
    return HSA_STATUS_INFO_BREAK;
  }
  return HSA_STATUS_SUCCESS;
}

hsa_status_t FindCpuRegionCb(hsa_agent_t agent, void* data) {
  hsa_device_type_t type = HSA_DEVICE_TYPE_GPU;
  if (Core().hsa_agent_get_info_fn(agent, HSA_AGENT_INFO_DEVICE, &type) != HSA_STATUS_SUCCESS ||
      type != HSA_DEVICE_TYPE_CPU) {
    return HSA_STATUS_SUCCESS;
  }
  Core().hsa_agent_iterate_regions_fn(agent, FindRegionCb, data);
  return static_cast<hsa_region_t*>(data)->handle != 0 ? HSA_STATUS_INFO_BREAK
                                                        : HSA_STATUS_SUCCESS;
}

hsa_region_t SoftRingRegion(hsa_agent_t gpu) {
  hsa_region_t region{0};
  Core().hsa_iterate_agents_fn(FindCpuRegionCb, &region);
  if (region.handle == 0) Core().hsa_agent_iterate_regions_fn(gpu, FindRegionCb, &region);
  return region;
}

// Builds the soft queue, doorbell and XQueue over `record->hw`. On failure undoes its own
// partial work, leaves the record in passthrough form and returns why.
bool Virtualize(hsa_agent_t agent, uint32_t size, hsa_queue_type32_t type,
                const levels::HwQueueIdentity& identity, QueueRecord* record, std::string* why) {
  const common::Config& config = State().config;
  if (type != HSA_QUEUE_TYPE_MULTI && type != HSA_QUEUE_TYPE_SINGLE) {
    *why = "queue type " + std::to_string(type) + " has no soft-queue equivalent";
    return false;
  }
  hsa_region_t region = SoftRingRegion(agent);
  if (region.handle == 0) {
    *why = "no host region for the soft ring";
    return false;
  }
  // A default (non-interrupt) signal: nothing waits on a doorbell, so no event is needed.
  hsa_signal_t doorbell{0};
  if (Amd().hsa_amd_signal_create_fn(0, 0, nullptr, HSA_AMD_SIGNAL_AMD_GPU_ONLY, &doorbell) !=
      HSA_STATUS_SUCCESS) {
    *why = "creating the doorbell signal failed";
    return false;
  }
  hsa_queue_t* soft = nullptr;
  hsa_status_t st = Core().hsa_soft_queue_create_fn(region, size, type, record->hw->features,
                                                    doorbell, &soft);
  if (st != HSA_STATUS_SUCCESS) {
    Core().hsa_signal_destroy_fn(doorbell);
    *why = "hsa_soft_queue_create failed (status " + std::to_string(st) + ")";
    return false;
  }
  std::string lever_why;
  std::unique_ptr<levels::Lever> lever = glue::SelectLever(identity, config, &lever_why);
  SerializedLever* lever_raw = nullptr;
  if (!lever || lever->kind() == levels::LeverKind::kNone) {
    HP_LOG_ONCE(kInfo, "queues run on Level-1 only: %s", lever_why.c_str());
  } else {
    auto wrapped = std::make_unique<SerializedLever>(std::move(lever));
    lever_raw = wrapped.get();
    lever = std::move(wrapped);
  }
  xq::XQueueOptions options;
  options.hold_enabled = config.level != common::LevelChoice::kNone;
  options.threshold = config.threshold;
  options.batch = config.batch;
  options.slack_ns = config.l1_slack_us * 1000;
  sched::Scheduler* scheduler = glue::Scheduler();
  std::unique_ptr<xq::XQueue> xqueue =
      glue::MakeXQueue(&State().ops, soft, record->hw, options, scheduler, std::move(lever));
  if (!xqueue) {
    Core().hsa_queue_destroy_fn(soft);
    Core().hsa_signal_destroy_fn(doorbell);
    *why = "creating the software queue failed";
    return false;
  }
  record->soft = soft;
  record->doorbell = doorbell;
  record->lever = lever_raw;
  record->xqueue = std::move(xqueue);
  record->app_queue = soft;
  if (!DoorbellSet::Instance()->Insert(doorbell.handle, record)) {
    record->xqueue.reset();
    record->soft = nullptr;
    record->lever = nullptr;
    record->doorbell.handle = 0;
    record->app_queue = record->hw;
    Core().hsa_queue_destroy_fn(soft);
    Core().hsa_signal_destroy_fn(doorbell);
    *why = "too many queues for the doorbell set";
    return false;
  }
  record->attrs.priority = config.priority;
  record->attrs.weight = config.weight;
  record->attrs.deadline_us = config.deadline_us;
  if (scheduler != nullptr) {
    scheduler->AddQueue(record->xqueue.get(), record->attrs);
    record->scheduled = true;
  }
  return true;
}

// Holds the record of an application queue (if it is ours) for the duration of one wrapper call,
// so a concurrent hsa_queue_destroy waits instead of tearing the queue down under us.
class Held {
 public:
  explicit Held(const hsa_queue_t* queue)
      : record_(queue != nullptr && State().active.load(std::memory_order_acquire)
                    ? QueueRegistry::Instance()->Acquire(queue)
                    : nullptr) {}
  ~Held() {
    if (record_ != nullptr) QueueRegistry::Release(record_);
  }
  Held(const Held&) = delete;
  Held& operator=(const Held&) = delete;
  // The queue to hand to ROCr: our hardware queue, or the caller's own if not ours.
  hsa_queue_t* hw(const hsa_queue_t* queue) const {
    return record_ != nullptr ? record_->hw : const_cast<hsa_queue_t*>(queue);
  }
  SerializedLever* lever() const { return record_ != nullptr ? record_->lever : nullptr; }

 private:
  QueueRecord* const record_;
};

void ReportReassert(const common::Status& s) {
  if (!s.ok()) {
    HP_LOG_ONCE(kWarn, "re-applying a queue's suspension after the application changed it: %s",
                s.ToString().c_str());
  }
}

}  // namespace

hsa_status_t QueueCreate(hsa_agent_t agent, uint32_t size, hsa_queue_type32_t type,
                         void (*callback)(hsa_status_t, hsa_queue_t*, void*), void* data,
                         uint32_t private_segment_size, uint32_t group_segment_size,
                         hsa_queue_t** queue) {
  auto original = Core().hsa_queue_create_fn;
  if (!State().active.load(std::memory_order_acquire) || queue == nullptr || !IsGpuAgent(agent)) {
    return original(agent, size, type, callback, data, private_segment_size, group_segment_size,
                    queue);
  }
  QueueRecord* record = NewRecord();
  if (record == nullptr) {
    HP_LOG_ONCE(kWarn, "out of memory for a queue record; queues pass through unscheduled");
    return original(agent, size, type, callback, data, private_segment_size, group_segment_size,
                    queue);
  }
  record->app_callback = callback;
  record->app_data = data;

  uint32_t cu_count = 0;
  Core().hsa_agent_get_info_fn(agent, static_cast<hsa_agent_info_t>(HSA_AMD_AGENT_INFO_COMPUTE_UNIT_COUNT),
                               &cu_count);
  hsa_queue_t* hw = nullptr;
  glue::BeginQueueCreate();
  hsa_status_t st = original(agent, size, type, callback ? ErrorTrampoline : nullptr,
                             callback ? record : nullptr, private_segment_size,
                             group_segment_size, &hw);
  const bool ok = st == HSA_STATUS_SUCCESS && hw != nullptr;
  levels::HwQueueIdentity identity =
      glue::EndQueueCreate(ok ? reinterpret_cast<uint64_t>(hw->base_address) : 0,
                           ok ? uint64_t{hw->size} * 64 : 0);
  identity.cu_count = cu_count;
  if (!ok) {
    RecycleRecord(record);
    return st;
  }
  record->hw = hw;
  record->app_queue = hw;
  std::string why;
  if (!Virtualize(agent, hw->size, type, identity, record, &why)) {
    HP_LOG_ONCE(kWarn, "queue %p passes through unscheduled: %s", static_cast<void*>(hw),
                why.c_str());
  }
  QueueRegistry::Instance()->Add(record);
  HP_LOG(kDebug, "queue created: app %p hw %p size %u lever %s", static_cast<void*>(record->app_queue),
         static_cast<void*>(hw), hw->size,
         record->xqueue ? glue::LeverName(record->xqueue->lever_kind()) : "-");
  *queue = record->app_queue;
  return HSA_STATUS_SUCCESS;
}

hsa_status_t QueueDestroy(hsa_queue_t* queue) {
  QueueRecord* record = queue != nullptr ? QueueRegistry::Instance()->Take(queue) : nullptr;
  if (record == nullptr) return Core().hsa_queue_destroy_fn(queue);
  return TearDown(record, kDestroyDrainNs);
}

hsa_status_t QueueInactivate(hsa_queue_t* queue) {
  Held held(queue);
  return Core().hsa_queue_inactivate_fn(held.hw(queue));
}

hsa_status_t QueueCuSetMask(const hsa_queue_t* queue, uint32_t count, const uint32_t* mask) {
  Held held(queue);
  auto original = Amd().hsa_amd_queue_cu_set_mask_fn;
  SerializedLever* lever = held.lever();
  if (lever == nullptr) return original(held.hw(queue), count, mask);
  // The lever restores this mask on release and restricts within it while engaged.
  return lever->Locked([&](levels::Lever* l) {
    if (mask != nullptr && count % 32 == 0) l->NoteCuMask(mask, count);
    hsa_status_t st = original(held.hw(queue), count, mask);
    if (st == HSA_STATUS_SUCCESS && l->engaged()) ReportReassert(l->Reassert());
    return st;
  });
}

hsa_status_t QueueCuGetMask(const hsa_queue_t* queue, uint32_t count, uint32_t* mask) {
  Held held(queue);
  return Amd().hsa_amd_queue_cu_get_mask_fn(held.hw(queue), count, mask);
}

hsa_status_t ProfilingSetProfilerEnabled(hsa_queue_t* queue, int enable) {
  Held held(queue);
  return Amd().hsa_amd_profiling_set_profiler_enabled_fn(held.hw(queue), enable);
}

hsa_status_t QueueSetPriority(hsa_queue_t* queue, hsa_amd_queue_priority_t priority) {
  Held held(queue);
  auto original = Amd().hsa_amd_queue_set_priority_fn;
  SerializedLever* lever = held.lever();
  if (lever == nullptr) return original(held.hw(queue), priority);
  return lever->Locked([&](levels::Lever* l) {
    l->NoteHsaPriority(static_cast<int>(priority));
    // The real call is UPDATE_QUEUE at 100%: it would re-activate a queue Level-2 deactivated.
    // While a queue-update lever is engaged the priority is only recorded (the lever sends it
    // with the reactivation); otherwise apply it, then put any engaged lever back.
    if (l->engaged() && l->kind() == levels::LeverKind::kUpdateQueue) return HSA_STATUS_SUCCESS;
    hsa_status_t st = original(held.hw(queue), priority);
    if (st == HSA_STATUS_SUCCESS && l->engaged()) ReportReassert(l->Reassert());
    return st;
  });
}

hsa_status_t TearDown(QueueRecord* record, uint64_t drain_timeout_ns) {
  QueueRegistry::WaitUnused(record);
  sched::Scheduler* scheduler = glue::Scheduler();
  if (record->scheduled && scheduler != nullptr) scheduler->RemoveQueue(record->xqueue.get());
  record->scheduled = false;
  if (record->doorbell.handle != 0) {
    // From here on no application thread is inside OnDoorbell for this queue.
    DoorbellSet::Instance()->Remove(record->doorbell.handle, record);
  }
  if (record->xqueue) {
    // A queue the device stopped after an error never consumes again: do not wait for it.
    if (record->errored.load(std::memory_order_acquire)) drain_timeout_ns = 0;
    common::Status s = record->xqueue->Drain(drain_timeout_ns);
    // Destroying a queue with work in flight is the application's right (without the tool the
    // work would be cut off too): worth a note, not a warning.
    if (!s.ok() && !record->errored.load(std::memory_order_acquire)) {
      HP_LOG(kInfo, "queue %p destroyed with work still in flight: %s",
             static_cast<void*>(record->app_queue), s.ToString().c_str());
    }
  }
  // The hardware queue goes first: the XQueue's marker signals must outlive every packet the
  // hardware could still process.
  hsa_status_t st = Core().hsa_queue_destroy_fn(record->hw);
  record->xqueue.reset();
  if (record->soft != nullptr) Core().hsa_queue_destroy_fn(record->soft);
  if (record->doorbell.handle != 0) Core().hsa_signal_destroy_fn(record->doorbell);
  RecycleRecord(record);
  return st;
}

}  // namespace hsapreempt::hsa
