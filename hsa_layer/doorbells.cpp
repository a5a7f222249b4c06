// The signal-store wrappers: the submission path. Every signal store of the application passes
// here; a store to one of our doorbell signals runs XQueue::OnDoorbell on the calling thread,
// every other store goes straight to the runtime.
//
// We do not store the value into our doorbell signal: it is a default (polling) signal nobody
// waits on, so the store would only cost time.
#include "hsa_layer/doorbell_set.h"
#include "hsa_layer/tables.h"
#include "hsa_layer/wrappers.h"

namespace hsapreempt::hsa {
namespace {

// True if `signal` was one of our doorbells and the store has been handled.
inline bool Doorbell(hsa_signal_t signal, hsa_signal_value_t value) {
  DoorbellSet* set = DoorbellSet::Instance();
  if (__builtin_expect(set->empty(), 1)) return false;
  QueueRecord* record = set->Acquire(signal.handle);
  if (record == nullptr) return false;
  record->xqueue->OnDoorbell(static_cast<uint64_t>(value));
  DoorbellSet::Release(record);
  return true;
}

}  // namespace

void SignalStoreRelaxed(hsa_signal_t signal, hsa_signal_value_t value) {
  if (!Doorbell(signal, value)) Saved().core.hsa_signal_store_relaxed_fn(signal, value);
}

void SignalStoreScrelease(hsa_signal_t signal, hsa_signal_value_t value) {
  if (!Doorbell(signal, value)) Saved().core.hsa_signal_store_screlease_fn(signal, value);
}

void SignalSilentStoreRelaxed(hsa_signal_t signal, hsa_signal_value_t value) {
  if (!Doorbell(signal, value)) Saved().core.hsa_signal_silent_store_relaxed_fn(signal, value);
}

void SignalSilentStoreScrelease(hsa_signal_t signal, hsa_signal_value_t value) {
  if (!Doorbell(signal, value)) Saved().core.hsa_signal_silent_store_screlease_fn(signal, value);
}

}  // namespace hsapreempt::hsa
