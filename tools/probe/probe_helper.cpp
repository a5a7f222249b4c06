// hsapreempt-probe-helper: the part of `hsapreempt probe` that needs ROCr, run as a scratch child
// process so the probe itself never loads ROCr and nothing it tries (debug-trap enable, queue
// deactivation) outlives the probe.
//
// It initialises HSA, creates one queue through the real ROCr with kfd_ctl's queue-id mapping
// around it (exactly as hsa_layer does), then tries every lever FOR REAL on that queue through the
// same lever classes the library uses: UPDATE_QUEUE 0% then 100%, SET_CU_MASK restricted then
// full, and — on KFD 1.13+ — runtime enable (before the queue), debug-trap enable, the snapshot
// mapping, SUSPEND then RESUME. It
// prints one JSON document on stdout and exits 0 if it could report (even "nothing works").
//
// usage: hsapreempt-probe-helper [--queue-packets N] [--repeat N]
#include <dlfcn.h>
#include <unistd.h>
#include <hsa/hsa.h>
#include <hsa/hsa_ext_amd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <chrono>
#include <thread>

#include "common/clock.h"
#include "hsapreempt/sim_device.h"
#include "kfd_ctl/device.h"
#include "kfd_ctl/queue_id_map.h"
#include "kfd_ctl/sysfs.h"
#include "levels/levers.h"
#include "levels/select.h"
#include "tools/support/json.h"

namespace hsapreempt::tools {
namespace {

using common::Status;
using json::Writer;

struct Gpu {
  hsa_agent_t agent{0};
  std::string name;
  uint32_t cus = 0;
  uint32_t queue_max = 0;
};

hsa_status_t FindGpu(hsa_agent_t agent, void* data) {
  hsa_device_type_t type;
  if (hsa_agent_get_info(agent, HSA_AGENT_INFO_DEVICE, &type) != HSA_STATUS_SUCCESS) {
    return HSA_STATUS_SUCCESS;
  }
  if (type != HSA_DEVICE_TYPE_GPU) return HSA_STATUS_SUCCESS;
  auto* gpu = static_cast<Gpu*>(data);
  gpu->agent = agent;
  char name[64] = {0};
  hsa_agent_get_info(agent, HSA_AGENT_INFO_NAME, name);
  gpu->name = name;
  hsa_agent_get_info(agent, static_cast<hsa_agent_info_t>(HSA_AMD_AGENT_INFO_COMPUTE_UNIT_COUNT),
                     &gpu->cus);
  hsa_agent_get_info(agent, HSA_AGENT_INFO_QUEUE_MAX_SIZE, &gpu->queue_max);
  return HSA_STATUS_INFO_BREAK;
}

// One lever tried: engage then release (`repeat` times, stopping at the first failure), with the
// Status of each and the ioctl time.
void WriteTry(Writer* w, const char* name, levels::Lever* lever, const std::string& skipped,
              int repeat) {
  w->Key(name).BeginObject();
  if (lever == nullptr) {
    w->Field("tried", false).Field("ok", false).Field("error", skipped);
    w->EndObject();
    return;
  }
  Status engage, release;
  int cycles = 0;
  for (; cycles < repeat; ++cycles) {
    engage = lever->Engage();
    release = engage.ok() ? lever->Release() : Status::Ok();
    if (!engage.ok() || !release.ok()) break;
  }
  const Status& bad = !engage.ok() ? engage : release;
  levels::LeverStats st = lever->stats();
  w->Field("tried", true).Field("ok", engage.ok() && release.ok());
  w->Field("engage", engage.ok() ? std::string("ok") : engage.ToString());
  w->Field("release", engage.ok() ? (release.ok() ? std::string("ok") : release.ToString())
                                  : std::string("not attempted"));
  w->Field("error", bad.ok() ? std::string() : bad.ToString());
  w->Field("errno", bad.err());
  w->Field("code", bad.ok() ? "ok" : common::CodeName(bad.code()));
  w->Field("cycles", cycles);
  w->Field("ioctls", st.ioctls);
  w->Field("ioctl_us_mean", st.ioctls ? static_cast<double>(st.ioctl_ns_total) / 1000.0 / st.ioctls : 0.0);
  w->Field("ioctl_us_total", static_cast<double>(st.ioctl_ns_total) / 1000.0);
  w->Field("ioctl_us_max", static_cast<double>(st.ioctl_ns_max) / 1000.0);
  w->EndObject();
}

void WriteMapping(Writer* w, const char* key, const kfd::QueueMapping& m) {
  w->Key(key).BeginObject();
  w->Field("known", m.known).Field("method", m.method);
  if (m.known) w->Field("queue_id", m.queue_id).Field("gpu_id", m.gpu_id);
  w->EndObject();
}

// On the simulated device the lever's effect is visible in the device trace: the queue went
// inactive (UPDATE_QUEUE 0%), debug-suspended, or had its CU mask set. On a real GPU there is no
// such trace; the ioctl's success is all we can report.
using TraceReadFn = size_t (*)(uint64_t*, hsapreempt_sim_event*, size_t);

TraceReadFn TraceRead() {
  return reinterpret_cast<TraceReadFn>(dlsym(RTLD_DEFAULT, "hsapreempt_sim_trace_read"));
}

// Advances `cursor` past every event held now.
void TraceSkip(uint64_t* cursor) {
  TraceReadFn read = TraceRead();
  if (read == nullptr) return;
  hsapreempt_sim_event ev[256];
  while (read(cursor, ev, 256) == 256) {
  }
}

// Events of `kind` for (this process, queue) since `cursor`: how many had `value` (engaged) and,
// in *other, how many had `other_value` (released).
int TraceCount(uint64_t* cursor, uint32_t queue_id, uint32_t kind, uint64_t value,
               uint64_t other_value, int* other) {
  TraceReadFn read = TraceRead();
  if (read == nullptr) return -1;
  int n = 0;
  *other = 0;
  hsapreempt_sim_event ev[256];
  for (;;) {
    size_t got = read(cursor, ev, 256);
    for (size_t i = 0; i < got; ++i) {
      if (ev[i].pid != static_cast<uint32_t>(getpid()) || ev[i].queue_id != queue_id ||
          ev[i].kind != kind) {
        continue;
      }
      if (ev[i].value == value) ++n;
      if (ev[i].value == other_value) ++*other;
    }
    if (got < 256) break;
  }
  return n;
}

void WriteEffect(Writer* w, const char* name, int seen, int undone, int expected) {
  w->Key(name).BeginObject();
  if (seen < 0) {
    w->Field("checked", false).Field("why", "no device trace (real GPU)");
  } else {
    w->Field("checked", true).Field("engaged_events", seen).Field("released_events", undone);
    w->Field("expected_at_least", expected);
    w->Field("seen", seen >= expected && undone >= expected);
  }
  w->EndObject();
}

int Main(int argc, char** argv) {
  uint32_t packets = 4096;
  int repeat = 1;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--queue-packets" && i + 1 < argc) {
      packets = static_cast<uint32_t>(std::strtoul(argv[++i], nullptr, 10));
    } else if (a == "--repeat" && i + 1 < argc) {
      repeat = std::max(1, std::min(100000, std::atoi(argv[++i])));
    } else {
      std::fprintf(stderr, "usage: hsapreempt-probe-helper [--queue-packets N] [--repeat N]\n");
      return 2;
    }
  }
  Writer w;
  w.BeginObject();
  hsa_status_t st = hsa_init();
  w.Field("hsa_init", st == HSA_STATUS_SUCCESS ? std::string("ok")
                                               : "failed (status " + std::to_string(st) + ")");
  // The simulated device describes itself once its thunk is loaded (by hsa_init).
  using DescribeFn = const char* (*)();
  auto describe = reinterpret_cast<DescribeFn>(dlsym(RTLD_DEFAULT, "hsapreempt_sim_describe"));
  w.Field("simulated", describe != nullptr);
  w.Field("sim_describe", describe && describe() ? describe() : "");
  // KFD needs no ROCr (our own descriptor, or the simulated thunk that hsa_init loaded): report it
  // even when hsa_init failed, it often says why.
  kfd::Device& dev = kfd::Device::Get();
  kfd::Capabilities caps = dev.capabilities();
  w.Key("kfd").BeginObject();
  w.Field("available", caps.available).Field("backend", caps.backend);
  w.Field("why_unavailable", caps.why_unavailable);
  w.Field("version", caps.available ? caps.version.ToString() : "");
  w.Field("major", caps.version.major).Field("minor", caps.version.minor);
  w.Field("dbg_trap_abi", caps.dbg_trap_abi);
  w.Field("sysfs_root", dev.SysfsRoot());
  w.EndObject();
  if (st != HSA_STATUS_SUCCESS) {
    w.EndObject();
    std::printf("%s\n", w.str().c_str());
    return 0;
  }
  uint16_t major = 0, minor = 0;
  hsa_system_get_info(HSA_SYSTEM_INFO_VERSION_MAJOR, &major);
  hsa_system_get_info(HSA_SYSTEM_INFO_VERSION_MINOR, &minor);
  w.Field("hsa_version", std::to_string(major) + "." + std::to_string(minor));

  Gpu gpu;
  hsa_iterate_agents(&FindGpu, &gpu);
  w.Key("gpu").BeginObject();
  w.Field("found", gpu.agent.handle != 0).Field("name", gpu.name).Field("compute_units", gpu.cus);
  const uint32_t gfx_major = kfd::GfxMajorFromName(gpu.name);
  w.Field("gfx_major", gfx_major);
  w.Field("scheduler", kfd::SchedulerName(kfd::SchedulerForGfxMajor(gfx_major)));
  w.EndObject();


  // KFD's suspend/resume need the runtime enabled, which only works before the first queue.
  // ROCr 5.2.3's thunk does not do it with the upstream ioctl; a newer runtime has (EBUSY = ok).
  Status runtime = Status::Error(Status::Code::kUnsupported, "needs KFD ioctl 1.13 (Linux 6.5)");
  if (dev.HasDbgTrapAbi()) runtime = dev.RuntimeEnable();
  w.Field("runtime_enable", runtime.ok() ? std::string("ok") : runtime.ToString());

  hsa_queue_t* queue = nullptr;
  kfd::QueueMapping mapping;
  if (gpu.agent.handle != 0) {
    if (gpu.queue_max != 0 && packets > gpu.queue_max) packets = gpu.queue_max;
    // The mapper is local (not the process-wide one) so the environment's opt-ins do not apply:
    // the probe reports what the default sysfs method finds.
    kfd::QueueIdMapper mapper(&dev);
    mapper.BeginQueueCreate();
    st = hsa_queue_create(gpu.agent, packets, HSA_QUEUE_TYPE_MULTI, nullptr, nullptr, UINT32_MAX,
                          UINT32_MAX, &queue);
    if (st == HSA_STATUS_SUCCESS) {
      mapping = mapper.EndQueueCreate(reinterpret_cast<uint64_t>(queue->base_address),
                                      uint64_t{queue->size} * 64);
    } else {
      mapping = mapper.EndQueueCreate(0, 0);
      queue = nullptr;
    }
  }
  w.Field("queue_packets", packets);
  w.Field("queue_create", queue ? std::string("ok") : "failed (status " + std::to_string(st) + ")");
  const uint64_t ring_base = queue ? reinterpret_cast<uint64_t>(queue->base_address) : 0;
  const uint64_t ring_bytes = queue ? uint64_t{queue->size} * 64 : 0;
  w.Key("mapping").BeginObject();
  WriteMapping(&w, "sysfs", mapping);

  kfd::QueueMapping snap;
  snap.method = !dev.HasDbgTrapAbi() ? "none: needs KFD ioctl 1.13 (Linux 6.5)" : "none: not tried";
  Status dbg_enable = Status::Error(Status::Code::kUnsupported,
                                    "needs KFD ioctl 1.13 (Linux 6.5), driver has " +
                                        (caps.available ? caps.version.ToString() : "none"));
  if (queue != nullptr && dev.HasDbgTrapAbi()) {
    // Last, and only in this scratch process: it makes the process its own debugger.
    dbg_enable = dev.DbgTrapEnable();
    if (dbg_enable.ok()) {
      std::vector<kfd::abi::QueueSnapshotEntry> entries;
      Status s = dev.QueueSnapshot(&entries);
      snap = s.ok() ? kfd::QueueIdMapper::FromSnapshot(entries, ring_base, ring_bytes)
                    : kfd::QueueMapping{false, 0, 0, "snapshot: " + s.ToString()};
    } else {
      snap.method = "none: debug-trap enable: " + dbg_enable.ToString();
    }
  }
  WriteMapping(&w, "snapshot", snap);
  w.EndObject();

  // Levers, on a queue whose id is known for sure (a wrong id would hit another queue): the
  // sysfs answer, else the snapshot's (the levers themselves do not depend on how it was found).
  const bool have = queue != nullptr && (mapping.known || snap.known);
  const uint32_t lever_id = mapping.known ? mapping.queue_id : snap.queue_id;
  const std::string no_queue =
      queue == nullptr ? "no queue" : "KFD queue id unknown (" + mapping.method + ")";
  const kfd::QueueRef ref{lever_id, ring_base, ring_bytes};

  struct Effect {
    const char* name;
    int seen;
    int undone;
    int expected;
  };
  int undone = 0;
  std::vector<Effect> effects;
  uint64_t cursor = 0;
  w.Key("levers").BeginObject();
  {
    std::unique_ptr<levels::Lever> l;
    if (have) l = std::make_unique<levels::UpdateQueueLever>(&dev, ref);
    TraceSkip(&cursor);
    WriteTry(&w, "update_queue", l.get(), no_queue, repeat);
    if (l) {
      int seen = TraceCount(&cursor, lever_id, HSAPREEMPT_SIM_EV_QUEUE_ACTIVE, 0, 1, &undone);
      effects.push_back({"update_queue", seen, undone, static_cast<int>(l->stats().engages)});
    }
  }
  {
    std::unique_ptr<levels::Lever> l;
    std::unique_ptr<levels::CuMaskLever> cm;
    if (have) cm = std::make_unique<levels::CuMaskLever>(&dev, lever_id, gpu.cus, 25);
    l.reset(cm.release());
    TraceSkip(&cursor);
    WriteTry(&w, "cu_mask", l.get(), gpu.cus == 0 ? "CU count unknown" : no_queue, repeat);
    // Engaged: 25% of the CUs; the trace records the number of CUs enabled.
    if (l) {
      int seen = TraceCount(&cursor, lever_id, HSAPREEMPT_SIM_EV_CU_MASK, (gpu.cus * 25 + 99) / 100,
                            gpu.cus, &undone);
      effects.push_back({"cu_mask", seen, undone, static_cast<int>(l->stats().engages)});
    }
  }
  {
    std::unique_ptr<levels::Lever> l;
    std::string skipped = !have ? no_queue : dbg_enable.ToString();
    if (have && dbg_enable.ok()) {
      l = std::make_unique<levels::DbgSuspendLever>(&dev, lever_id, levels::GracePeriodKclk(0, 0));
    }
    TraceSkip(&cursor);
    WriteTry(&w, "dbg_suspend", l.get(), skipped, repeat);
    if (l) {
      int seen = TraceCount(&cursor, lever_id, HSAPREEMPT_SIM_EV_QUEUE_SUSPEND, 1, 0, &undone);
      effects.push_back({"dbg_suspend", seen, undone, static_cast<int>(l->stats().engages)});
    }
  }
  w.EndObject();

  w.Key("effects").BeginObject();
  for (const Effect& e : effects) WriteEffect(&w, e.name, e.seen, e.undone, e.expected);
  w.EndObject();
  if (dev.dbg_trap_enabled()) dev.DbgTrapDisable();
  w.EndObject();
  // Report first: the answer must not depend on the clean-up. Then clean up under a watchdog (a
  // scratch process may simply exit; KFD tears its queues down with it).
  std::printf("%s\n", w.str().c_str());
  std::fflush(stdout);
  std::thread([] {
    std::this_thread::sleep_for(std::chrono::seconds(5));
    std::fprintf(stderr, "hsapreempt-probe-helper: clean-up did not finish in 5 s; exiting\n");
    std::_Exit(0);
  }).detach();
  if (queue != nullptr) hsa_queue_destroy(queue);
  hsa_shut_down();
  return 0;
}

}  // namespace
}  // namespace hsapreempt::tools

int main(int argc, char** argv) { return hsapreempt::tools::Main(argc, argv); }
