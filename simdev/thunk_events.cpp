// Thunk API: events. As in KFD, a signal event owns a slot in a per-process event page (the
// "mailbox" whose address ROCr stores in amd_signal_t.event_mailbox_ptr); the CP writes the event
// id there and raises the event. Events are auto-reset unless created ManualReset: a wait that
// is satisfied resets the auto-reset events it consumed.
#include <sys/mman.h>

#include <chrono>
#include <condition_variable>
#include <cstring>
#include <mutex>

#include "simdev/log.h"
#include "simdev/thunk_internal.h"

namespace simdev {
namespace {

constexpr uint32_t kMaxEvents = 4096;  // KFD's signal event limit

struct EventRec {
  bool in_use = false;
  bool manual_reset = false;
  bool signaled = false;
};

// One thread inside hsaKmtWaitOnMultipleEvents.
struct Waiter {
  const uint32_t* ids;  // copied: an HsaEvent may be destroyed while someone waits on it
  HSAuint32 n;
  bool* activated;  // per event
  Waiter* next;
};

struct EventTable {
  std::mutex mu;
  std::condition_variable cv;
  Waiter* waiters = nullptr;
  EventRec rec[kMaxEvents];
  uint32_t next_hint = 1;
  uint64_t* page = nullptr;  // kMaxEvents mailbox slots
};

// Never destroyed (the async-events thread of ROCr may still wait at exit); replaced in a child.
EventTable* g_table = new EventTable();

EventTable& T() { return *g_table; }

uint64_t* Page() {
  EventTable& t = T();
  if (t.page == nullptr) {
    void* p = mmap(nullptr, kMaxEvents * sizeof(uint64_t), PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return nullptr;
    t.page = static_cast<uint64_t*>(p);
  }
  return t.page;
}

bool ValidId(uint32_t id) { return id > 0 && id < kMaxEvents; }

// Requires t.mu.
bool Satisfied(const Waiter& w, bool wait_all) {
  bool any = false, all = true;
  for (HSAuint32 i = 0; i < w.n; ++i) {
    any |= w.activated[i];
    all &= w.activated[i];
  }
  return wait_all ? all : any;
}

// Requires t.mu. As KFD's set_event(): activate every waiter on `id`; an auto-reset event stays
// signalled only when no one was waiting.
void SetLocked(EventTable& t, uint32_t id) {
  bool had_waiter = false;
  for (Waiter* w = t.waiters; w != nullptr; w = w->next) {
    for (HSAuint32 i = 0; i < w->n; ++i) {
      if (w->ids[i] == id) {
        w->activated[i] = true;
        had_waiter = true;
      }
    }
  }
  t.rec[id].signaled = t.rec[id].manual_reset || !had_waiter;
  if (had_waiter) t.cv.notify_all();
}

}  // namespace

void ResetEventsInChild() {
  // The parent's page stays mapped in the child (copy-on-write) and is simply abandoned.
  g_table = new EventTable();
}

void SignalEventFromDevice(uint64_t mailbox, uint32_t id) {
  EventTable& t = T();
  std::lock_guard<std::mutex> lock(t.mu);
  uint64_t base = reinterpret_cast<uint64_t>(t.page);
  if (t.page == nullptr || mailbox < base || mailbox >= base + kMaxEvents * sizeof(uint64_t) ||
      (mailbox - base) % sizeof(uint64_t) != 0) {
    return;  // another process's mailbox (e.g. an IPC signal): its address means nothing here
  }
  if (!ValidId(id) || !t.rec[id].in_use) return;
  __atomic_store_n(reinterpret_cast<uint64_t*>(mailbox), uint64_t(id), __ATOMIC_RELEASE);
  SetLocked(t, id);
}

SIM_EXPORT HSAKMT_STATUS hsaKmtCreateEvent(HsaEventDescriptor* desc, bool manual_reset,
                                           bool is_signaled, HsaEvent** event) {
  if (desc == nullptr || event == nullptr) return HSAKMT_STATUS_INVALID_PARAMETER;
  EventTable& t = T();
  std::lock_guard<std::mutex> lock(t.mu);
  uint64_t* page = Page();
  if (page == nullptr) return HSAKMT_STATUS_NO_MEMORY;
  uint32_t id = 0;
  for (uint32_t k = 0; k < kMaxEvents - 1; ++k) {
    uint32_t cand = 1 + (t.next_hint - 1 + k) % (kMaxEvents - 1);
    if (!t.rec[cand].in_use) {
      id = cand;
      break;
    }
  }
  if (id == 0) {
    SIM_LOG(kWarn, "hsaKmtCreateEvent: all %u events of this process are in use", kMaxEvents - 1);
    return HSAKMT_STATUS_OUT_OF_RESOURCES;
  }
  t.next_hint = id + 1 < kMaxEvents ? id + 1 : 1;
  HsaEvent* e = new HsaEvent();
  memset(e, 0, sizeof(*e));
  e->EventId = id;
  e->EventData.EventType = desc->EventType;
  e->EventData.HWData1 = id;
  e->EventData.HWData2 = reinterpret_cast<uint64_t>(&page[id]);
  e->EventData.HWData3 = sizeof(uint64_t);
  page[id] = 0;
  t.rec[id] = EventRec{true, manual_reset, is_signaled};
  *event = e;
  return HSAKMT_STATUS_SUCCESS;
}

SIM_EXPORT HSAKMT_STATUS hsaKmtDestroyEvent(HsaEvent* event) {
  if (event == nullptr) return HSAKMT_STATUS_INVALID_HANDLE;
  EventTable& t = T();
  {
    std::lock_guard<std::mutex> lock(t.mu);
    if (!ValidId(event->EventId) || !t.rec[event->EventId].in_use) {
      return HSAKMT_STATUS_INVALID_HANDLE;
    }
    t.rec[event->EventId] = EventRec{};
  }
  delete event;
  return HSAKMT_STATUS_SUCCESS;
}

SIM_EXPORT HSAKMT_STATUS hsaKmtSetEvent(HsaEvent* event) {
  if (event == nullptr) return HSAKMT_STATUS_INVALID_HANDLE;
  EventTable& t = T();
  std::lock_guard<std::mutex> lock(t.mu);
  uint32_t id = event->EventId;
  if (!ValidId(id) || !t.rec[id].in_use) return HSAKMT_STATUS_INVALID_HANDLE;
  SetLocked(t, id);
  return HSAKMT_STATUS_SUCCESS;
}

SIM_EXPORT HSAKMT_STATUS hsaKmtResetEvent(HsaEvent* event) {
  if (event == nullptr) return HSAKMT_STATUS_INVALID_HANDLE;
  EventTable& t = T();
  std::lock_guard<std::mutex> lock(t.mu);
  uint32_t id = event->EventId;
  if (!ValidId(id) || !t.rec[id].in_use) return HSAKMT_STATUS_INVALID_HANDLE;
  t.rec[id].signaled = false;
  return HSAKMT_STATUS_SUCCESS;
}

SIM_EXPORT HSAKMT_STATUS hsaKmtQueryEventState(HsaEvent* event) {
  if (event == nullptr) return HSAKMT_STATUS_INVALID_HANDLE;
  return HSAKMT_STATUS_SUCCESS;
}

SIM_EXPORT HSAKMT_STATUS hsaKmtWaitOnMultipleEvents(HsaEvent* events[], HSAuint32 n, bool wait_all,
                                                    HSAuint32 milliseconds) {
  if (events == nullptr || n == 0 || n > kMaxEvents) return HSAKMT_STATUS_INVALID_PARAMETER;
  for (HSAuint32 i = 0; i < n; ++i) {
    if (events[i] == nullptr) return HSAKMT_STATUS_INVALID_HANDLE;
  }
  EventTable& t = T();
  std::unique_lock<std::mutex> lock(t.mu);
  for (HSAuint32 i = 0; i < n; ++i) {
    uint32_t id = events[i]->EventId;
    if (!ValidId(id) || !t.rec[id].in_use) return HSAKMT_STATUS_INVALID_HANDLE;
  }
  bool activated_small[16];
  uint32_t ids_small[16];
  bool* activated = n <= 16 ? activated_small : new bool[n];
  uint32_t* ids = n <= 16 ? ids_small : new uint32_t[n];
  // As KFD's init_event_waiter(): already-signalled events activate the wait and are consumed.
  for (HSAuint32 i = 0; i < n; ++i) {
    ids[i] = events[i]->EventId;
    EventRec& r = t.rec[ids[i]];
    activated[i] = r.signaled;
    if (r.signaled && !r.manual_reset) r.signaled = false;
  }
  Waiter self{ids, n, activated, t.waiters};
  t.waiters = &self;
  auto ready = [&] { return Satisfied(self, wait_all); };
  bool ok = true;
  if (milliseconds == HSA_EVENTTIMEOUT_INFINITE) {
    t.cv.wait(lock, ready);
  } else {
    ok = t.cv.wait_for(lock, std::chrono::milliseconds(milliseconds), ready);
  }
  for (Waiter** p = &t.waiters; *p != nullptr; p = &(*p)->next) {
    if (*p == &self) {
      *p = self.next;
      break;
    }
  }
  if (activated != activated_small) delete[] activated;
  if (ids != ids_small) delete[] ids;
  return ok ? HSAKMT_STATUS_SUCCESS : HSAKMT_STATUS_WAIT_TIMEOUT;
}

SIM_EXPORT HSAKMT_STATUS hsaKmtWaitOnEvent(HsaEvent* event, HSAuint32 milliseconds) {
  if (event == nullptr) return HSAKMT_STATUS_INVALID_HANDLE;
  HsaEvent* one[1] = {event};
  return hsaKmtWaitOnMultipleEvents(one, 1, true, milliseconds);
}

}  // namespace simdev
