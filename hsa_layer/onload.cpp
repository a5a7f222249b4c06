// The tool's entry points (OnLoad / OnUnload, called by ROCr's HSA_TOOLS_LIB loader), the exit
// and fork handlers, and hsa_shut_down.
//
// Failure policy: the host program must keep running. If the configuration disables the tool or
// the runtime's tables lack a slot we need, OnLoad logs one line and returns true WITHOUT
// installing anything: the program runs exactly as without the tool. (Returning false would make
// ROCr list us as a failed tool to later tools and dlclose us, and the public C API would vanish;
// staying loaded but inert is simpler to reason about and reports -ENODEV through that API.)
#include <dlfcn.h>
#include <pthread.h>
#include <unistd.h>

#include <cstdlib>
#include <mutex>
#include <new>
#include <string>

#include "common/clock.h"
#include "common/log.h"
#include "hsa_layer/doorbell_set.h"
#include "hsa_layer/glue.h"
#include "hsa_layer/state.h"
#include "hsa_layer/tables.h"
#include "hsa_layer/wrappers.h"

namespace hsapreempt::hsa {
namespace {

constexpr uint64_t kUnloadDrainNs = 1'000'000'000;  // all queues together, at unload / exit
std::mutex g_lifecycle;                             // OnLoad / OnUnload / exit (not the hot path)
bool g_handlers_registered = false;                 // atexit + pthread_atfork (once per process)
pid_t g_owner_pid = 0;                              // the process whose queues we virtualized

void FillOps() {
  const CoreApiTable& c = Saved().core;
  xq::RuntimeOps& ops = State().ops;
  ops.load_write_index_scacquire = c.hsa_queue_load_write_index_scacquire_fn;
  ops.load_read_index_scacquire = c.hsa_queue_load_read_index_scacquire_fn;
  ops.store_read_index_screlease = c.hsa_queue_store_read_index_screlease_fn;
  ops.add_write_index_screlease = c.hsa_queue_add_write_index_screlease_fn;
  ops.signal_store_screlease = c.hsa_signal_store_screlease_fn;
  ops.signal_load_scacquire = c.hsa_signal_load_scacquire_fn;
  ops.signal_create = c.hsa_signal_create_fn;
  ops.signal_destroy = c.hsa_signal_destroy_fn;
}

// Stops scheduling and returns every queue to plain forwarding. Caller holds g_lifecycle.
void QuiesceLocked(bool tear_down) {
  if (!State().active.exchange(false)) return;
  if (sched::Scheduler* s = glue::Scheduler()) s->Stop();  // resumes every queue, joins thread
  // One budget for every queue, so exit stays bounded however many queues the program left.
  const uint64_t deadline = common::MonotonicRawNs() + kUnloadDrainNs;
  for (QueueRecord* r : QueueRegistry::Instance()->TakeAll()) {
    const uint64_t now = common::MonotonicRawNs();
    const uint64_t budget = now < deadline ? deadline - now : 0;
    if (tear_down) {
      TearDown(r, budget);
    } else if (r->xqueue) {
      // Exit: hand whatever is held to the hardware ring without waiting (KFD destroys the queues
      // of an exiting process anyway, so waiting would only delay exit); do not destroy (the
      // runtime may already be tearing down).
      r->xqueue->Drain(0);
    }
  }
}

void AtExit() {
  // A forked child exiting must not touch the parent's queues (it has no CP to wait for, and the
  // queues belong to the parent's address space on the device).
  if (getpid() != g_owner_pid) return;
  std::lock_guard<std::mutex> lock(g_lifecycle);
  QuiesceLocked(/*tear_down=*/false);
  // Nothing of ours may call into ROCr once its own exit-time teardown starts.
  glue::StopPumpForExit();
}

// fork(): no prepare handler takes our locks. Each of them guards only our own bookkeeping and
// is never held while calling another layer, and the child (single-threaded, unable to use the
// parent's GPU queues, which KFD binds to the parent) only needs them unlocked: it re-creates
// them. Taking them in a prepare handler instead would order them against the siblings' fork
// handlers and locks and risk a deadlock.
void ForkChild() {
  new (&g_lifecycle) std::mutex();
  QueueRegistry::Instance()->ResetAfterFork();
  DoorbellSet::Instance()->ResetAfterFork();
  // The scheduler forgets its thread and board membership; xqueue's own atfork handlers
  // re-initialise its pump and queue locks.
  if (sched::Scheduler* s = glue::Scheduler()) s->AtForkChild();
}

// ROCr dlopens tools RTLD_LOCAL, so dlsym(RTLD_DEFAULT, "hsapreempt_...") would not find the
// public C API. Re-opening ourselves with RTLD_NOLOAD | RTLD_GLOBAL promotes the already-loaded
// object to the global scope (only OnLoad, OnUnload, HSA_AMD_TOOL_PRIORITY and hsapreempt_* are
// exported, and ROCr looks tools' entry points up by handle, so this shadows nothing).
void PromoteToGlobalScope() {
  Dl_info info;
  if (dladdr(reinterpret_cast<void*>(&PromoteToGlobalScope), &info) == 0 ||
      info.dli_fname == nullptr) {
    return;
  }
  void* self = dlopen(info.dli_fname, RTLD_NOW | RTLD_NOLOAD | RTLD_GLOBAL);
  if (self == nullptr) {
    HP_LOG(kDebug, "public C API not in the global scope: %s", dlerror());
  }
  // The extra reference is kept on purpose (the library is -z nodelete anyway).
}

bool OnLoadImpl(HsaApiTable* table, uint64_t runtime_version) {
  std::lock_guard<std::mutex> lock(g_lifecycle);
  LayerState& state = State();
  if (state.active.load()) return true;  // a second OnLoad without OnUnload: keep the first
  state.config = common::Config::FromEnvironment();
  const common::Config& config = state.config;
  common::SetLogLevel(config.log_level);
  if (!config.log_file.empty() && !common::SetLogFile(config.log_file.c_str())) {
    HP_LOG(kWarn, "cannot open HSAPREEMPT_LOG_FILE=%s; logging to stderr",
           config.log_file.c_str());
  }
  for (const std::string& problem : config.problems) HP_LOG(kWarn, "%s", problem.c_str());
  HP_LOG(kInfo, "loaded into ROCr (tool API %llu): %s",
         static_cast<unsigned long long>(runtime_version), config.Describe().c_str());
  PromoteToGlobalScope();
  if (!config.enable) {
    HP_LOG(kInfo, "HSAPREEMPT_ENABLE=0: not scheduling; every call passes through");
    return true;
  }
  std::string why;
  if (!SaveTables(table, &why)) {
    HP_LOG(kWarn, "not scheduling (every call passes through): %s", why.c_str());
    return true;
  }
  FillOps();
  state.table = table;
  g_owner_pid = getpid();
  if (!g_handlers_registered) {
    g_handlers_registered = true;
    std::atexit(AtExit);
    pthread_atfork(nullptr, nullptr, ForkChild);
  }
  if (config.level == common::LevelChoice::kAuto || config.level == common::LevelChoice::kLevel2) {
    glue::PrepareQueueMapping();
  }
  if (sched::Scheduler* s = glue::Scheduler()) {
    common::Status st = s->Start(config, 0);
    if (!st.ok()) HP_LOG(kWarn, "scheduler: %s", st.ToString().c_str());
  } else {
    HP_LOG(kInfo, "built without the scheduler: queues are virtualized but not scheduled");
  }
  if (!glue::HaveXQueue()) {
    HP_LOG(kInfo, "built without xqueue: packets are forwarded directly, never held");
  }
  state.active.store(true, std::memory_order_release);
  InstallWrappers(table);
  return true;
}

}  // namespace

hsa_status_t ShutDown() {
  // Nothing to do before the runtime's own shutdown: if this is the last reference ROCr calls
  // OnUnload (which quiesces and tears our queues down) before it destroys agents.
  return Saved().core.hsa_shut_down_fn();
}

}  // namespace hsapreempt::hsa

extern "C" {

// Newer ROCr orders tools by this; 5.2.3 ignores it.
__attribute__((visibility("default"))) extern const uint32_t HSA_AMD_TOOL_PRIORITY = 50;

__attribute__((visibility("default"))) bool OnLoad(HsaApiTable* table, uint64_t runtime_version,
                                                   uint64_t failed_tool_count,
                                                   const char* const* failed_tool_names) {
  try {
    return hsapreempt::hsa::OnLoadImpl(table, runtime_version);
  } catch (...) {
    // Out of memory while loading: stay inert rather than let anything escape into ROCr.
    return true;
  }
}

__attribute__((visibility("default"))) void OnUnload() {
  using namespace hsapreempt::hsa;
  try {
    std::lock_guard<std::mutex> lock(g_lifecycle);
    QuiesceLocked(/*tear_down=*/true);
    UninstallWrappers(State().table);
    State().table = nullptr;
  } catch (...) {
  }
}

}  // extern "C"
