#include "hsa_layer/tables.h"

#include <algorithm>
#include <cstring>

#include "hsa_layer/wrappers.h"

namespace hsapreempt::hsa {
namespace {

SavedTables g_saved;  // trivially destructible: safe to use during exit

#define CORE_SLOT(name) offsetof(CoreApiTable, name##_fn)
#define AMD_SLOT(name) offsetof(AmdExtTable, name##_fn)

// Slots the tool calls or wraps; a runtime table lacking any of them is refused.
constexpr size_t kRequiredCore[] = {
    CORE_SLOT(hsa_shut_down), CORE_SLOT(hsa_iterate_agents), CORE_SLOT(hsa_agent_get_info),
    CORE_SLOT(hsa_queue_create), CORE_SLOT(hsa_soft_queue_create), CORE_SLOT(hsa_queue_destroy),
    CORE_SLOT(hsa_queue_inactivate), CORE_SLOT(hsa_queue_load_read_index_scacquire),
    CORE_SLOT(hsa_queue_load_write_index_scacquire), CORE_SLOT(hsa_queue_add_write_index_screlease),
    CORE_SLOT(hsa_queue_store_read_index_screlease), CORE_SLOT(hsa_agent_iterate_regions),
    CORE_SLOT(hsa_region_get_info), CORE_SLOT(hsa_signal_create), CORE_SLOT(hsa_signal_destroy),
    CORE_SLOT(hsa_signal_load_scacquire), CORE_SLOT(hsa_signal_store_relaxed),
    CORE_SLOT(hsa_signal_store_screlease), CORE_SLOT(hsa_signal_silent_store_relaxed),
    CORE_SLOT(hsa_signal_silent_store_screlease)};
constexpr size_t kRequiredAmd[] = {AMD_SLOT(hsa_amd_profiling_set_profiler_enabled),
                                   AMD_SLOT(hsa_amd_queue_cu_set_mask),
                                   AMD_SLOT(hsa_amd_signal_create),
                                   AMD_SLOT(hsa_amd_queue_set_priority)};

template <typename Table, typename Fn>
size_t SlotOffset(const Table* table, Fn Table::*slot) {
  return static_cast<size_t>(reinterpret_cast<const char*>(&(table->*slot)) -
                             reinterpret_cast<const char*>(table));
}

// Installs `wrapper` into `slot` of a live table whose size is `bytes` (skipped if absent).
template <typename Table, typename Fn>
void Install(Table* table, uint32_t bytes, Fn Table::*slot, Fn wrapper) {
  if (HasSlot(bytes, SlotOffset(table, slot))) table->*slot = wrapper;
}

template <typename Table, typename Fn>
void Uninstall(Table* table, uint32_t bytes, Fn Table::*slot, Fn wrapper, const Table& saved) {
  if (HasSlot(bytes, SlotOffset(table, slot)) && table->*slot == wrapper) {
    table->*slot = saved.*slot;
  }
}

// One list of (slot, wrapper) pairs serves install and uninstall.
template <typename CoreOp, typename AmdOp>
void ForEachWrapper(CoreOp core, AmdOp amd) {
  core(&CoreApiTable::hsa_queue_create_fn, &QueueCreate);
  core(&CoreApiTable::hsa_queue_destroy_fn, &QueueDestroy);
  core(&CoreApiTable::hsa_queue_inactivate_fn, &QueueInactivate);
  core(&CoreApiTable::hsa_shut_down_fn, &ShutDown);
  core(&CoreApiTable::hsa_signal_store_relaxed_fn, &SignalStoreRelaxed);
  core(&CoreApiTable::hsa_signal_store_screlease_fn, &SignalStoreScrelease);
  core(&CoreApiTable::hsa_signal_silent_store_relaxed_fn, &SignalSilentStoreRelaxed);
  core(&CoreApiTable::hsa_signal_silent_store_screlease_fn, &SignalSilentStoreScrelease);
  amd(&AmdExtTable::hsa_amd_queue_cu_set_mask_fn, &QueueCuSetMask);
  amd(&AmdExtTable::hsa_amd_queue_cu_get_mask_fn, &QueueCuGetMask);
  amd(&AmdExtTable::hsa_amd_queue_set_priority_fn, &QueueSetPriority);
  amd(&AmdExtTable::hsa_amd_profiling_set_profiler_enabled_fn, &ProfilingSetProfilerEnabled);
}

}  // namespace

const SavedTables& Saved() { return g_saved; }

bool SaveTables(const HsaApiTable* table, std::string* why) {
  if (table == nullptr || table->core_ == nullptr || table->amd_ext_ == nullptr) {
    *why = "the runtime passed no core or AMD extension API table";
    return false;
  }
  if (table->version.major_id != HSA_API_TABLE_MAJOR_VERSION ||
      table->core_->version.major_id != HSA_CORE_API_TABLE_MAJOR_VERSION ||
      table->amd_ext_->version.major_id != HSA_AMD_EXT_API_TABLE_MAJOR_VERSION) {
    *why = "unknown API table major version (root " + std::to_string(table->version.major_id) +
           ", core " + std::to_string(table->core_->version.major_id) + ", amd_ext " +
           std::to_string(table->amd_ext_->version.major_id) + "; this build knows 1)";
    return false;
  }
  const uint32_t core_bytes = table->core_->version.minor_id;
  const uint32_t amd_bytes = table->amd_ext_->version.minor_id;
  for (size_t off : kRequiredCore) {
    if (!HasSlot(core_bytes, off) ||
        *reinterpret_cast<void* const*>(reinterpret_cast<const char*>(table->core_) + off) ==
            nullptr) {
      *why = "the runtime's core API table (" + std::to_string(core_bytes) +
             " bytes) lacks a slot the tool needs (offset " + std::to_string(off) + ")";
      return false;
    }
  }
  for (size_t off : kRequiredAmd) {
    if (!HasSlot(amd_bytes, off) ||
        *reinterpret_cast<void* const*>(reinterpret_cast<const char*>(table->amd_ext_) + off) ==
            nullptr) {
      *why = "the runtime's AMD extension API table (" + std::to_string(amd_bytes) +
             " bytes) lacks a slot the tool needs (offset " + std::to_string(off) + ")";
      return false;
    }
  }
  SavedTables saved;
  std::memcpy(&saved.core, table->core_, std::min<size_t>(core_bytes, sizeof(CoreApiTable)));
  std::memcpy(&saved.amd_ext, table->amd_ext_,
              std::min<size_t>(amd_bytes, sizeof(AmdExtTable)));
  saved.core_bytes = core_bytes;
  saved.amd_ext_bytes = amd_bytes;
  g_saved = saved;
  return true;
}

void InstallWrappers(HsaApiTable* table) {
  const uint32_t cb = table->core_->version.minor_id, ab = table->amd_ext_->version.minor_id;
  ForEachWrapper([&](auto slot, auto fn) { Install(table->core_, cb, slot, fn); },
                 [&](auto slot, auto fn) { Install(table->amd_ext_, ab, slot, fn); });
}

void UninstallWrappers(HsaApiTable* table) {
  if (table == nullptr || table->core_ == nullptr || table->amd_ext_ == nullptr) return;
  const uint32_t cb = table->core_->version.minor_id, ab = table->amd_ext_->version.minor_id;
  ForEachWrapper(
      [&](auto slot, auto fn) { Uninstall(table->core_, cb, slot, fn, g_saved.core); },
      [&](auto slot, auto fn) { Uninstall(table->amd_ext_, ab, slot, fn, g_saved.amd_ext); });
}

}  // namespace hsapreempt::hsa
