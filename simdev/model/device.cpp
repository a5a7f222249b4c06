// The shared simulated device: a /dev/shm segment holding the model state (state.h), a robust
// process-shared mutex and a futex generation word; the model itself is Engine (engine.h).
#include "simdev/model/device.h"

#include <fcntl.h>
#include <linux/futex.h>
#include <pthread.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstring>
#include <new>
#include <vector>

#include "simdev/model/device_testing.h"
#include "simdev/model/engine.h"
#include "simdev/model/state.h"
#include "simdev/model/sysfs.h"

namespace simdev {
namespace {

constexpr uint64_t kMagic = 0x315645444d495350ull;  // "PSIMDEV1"
constexpr uint32_t kLayoutVersion = 3;
constexpr uint64_t kReapIntervalNs = 5000000;  // dead-process check at most every 5 ms
constexpr int kAttachWaitMs = 2000;

// Parameters fixed by the segment's creator (the device is shared, so its shape is too).
struct SharedParams {
  char preset[16];
  uint32_t cus, simds_per_cu, max_waves_per_simd, engine_clock_mhz, memory_clock_mhz, xcc,
      slots_per_cu, gpu_id;
  uint64_t vram_bytes, default_kernel_ns, cp_dispatch_ns, blit_bytes_per_us, runlist_update_ns,
      cwsr_save_ns, cwsr_restore_ns;
};

struct Segment {
  uint64_t magic;
  uint32_t layout_version;
  uint32_t reserved;
  uint64_t total_bytes;
  std::atomic<uint32_t> ready;
  uint32_t creator_pid;
  std::atomic<uint32_t> generation;  // futex word
  std::atomic<uint32_t> waiters;
  pthread_mutex_t mutex;
  SharedParams params;
  alignas(64) DeviceState state;
};

void StoreParams(const Params& p, SharedParams* s) {
  memset(s, 0, sizeof(*s));
  snprintf(s->preset, sizeof(s->preset), "%s", p.preset.c_str());
  s->cus = p.cus;
  s->simds_per_cu = p.simds_per_cu;
  s->max_waves_per_simd = p.max_waves_per_simd;
  s->engine_clock_mhz = p.engine_clock_mhz;
  s->memory_clock_mhz = p.memory_clock_mhz;
  s->xcc = p.xcc;
  s->slots_per_cu = p.slots_per_cu;
  s->gpu_id = p.gpu_id;
  s->vram_bytes = p.vram_bytes;
  s->default_kernel_ns = p.default_kernel_ns;
  s->cp_dispatch_ns = p.cp_dispatch_ns;
  s->blit_bytes_per_us = p.blit_bytes_per_us;
  s->runlist_update_ns = p.runlist_update_ns;
  s->cwsr_save_ns = p.cwsr_save_ns;
  s->cwsr_restore_ns = p.cwsr_restore_ns;
}

// Adopts the creator's device shape; keeps this process's own profile, faults and paths.
Params AdoptParams(const Params& mine, const SharedParams& s) {
  Params p = mine;
  p.preset = std::string(s.preset, strnlen(s.preset, sizeof(s.preset)));
  p.cus = s.cus;
  p.simds_per_cu = s.simds_per_cu;
  p.max_waves_per_simd = s.max_waves_per_simd;
  p.engine_clock_mhz = s.engine_clock_mhz;
  p.memory_clock_mhz = s.memory_clock_mhz;
  p.xcc = s.xcc;
  p.slots_per_cu = s.slots_per_cu;
  p.gpu_id = s.gpu_id;
  p.vram_bytes = s.vram_bytes;
  p.default_kernel_ns = s.default_kernel_ns;
  p.cp_dispatch_ns = s.cp_dispatch_ns;
  p.blit_bytes_per_us = s.blit_bytes_per_us;
  p.runlist_update_ns = s.runlist_update_ns;
  p.cwsr_save_ns = s.cwsr_save_ns;
  p.cwsr_restore_ns = s.cwsr_restore_ns;
  return p;
}

std::string ShmName(const std::string& device_name) {
  return "/hsapreempt-sim-" + std::to_string(getuid()) + "-" + device_name;
}

// starttime (field 22 of /proc/<pid>/stat, clock ticks since boot); 0 if unknown.
uint64_t ProcessStartTime(uint32_t pid) {
  char path[64];
  snprintf(path, sizeof(path), "/proc/%u/stat", pid);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  char buf[1024];
  ssize_t n = read(fd, buf, sizeof(buf) - 1);
  close(fd);
  if (n <= 0) return 0;
  buf[n] = '\0';
  const char* p = strrchr(buf, ')');
  if (p == nullptr) return 0;
  // After ")": field 3 (state) is the first token; starttime is field 22.
  int field = 2;
  for (++p; *p != '\0'; ++p) {
    if (*p == ' ') {
      ++field;
      if (field == 22) return strtoull(p + 1, nullptr, 10);
    }
  }
  return 0;
}

uint64_t OwnStartTime(uint32_t pid) {
  static std::atomic<uint64_t> cached_pid{0}, cached_start{0};
  if (cached_pid.load(std::memory_order_acquire) != pid) {  // first call, or after fork
    cached_start.store(ProcessStartTime(pid), std::memory_order_relaxed);
    cached_pid.store(pid, std::memory_order_release);
  }
  return cached_start.load(std::memory_order_relaxed);
}

bool ProcessGone(uint32_t pid, uint64_t start_time) {
  if (kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH) return true;
  if (start_time == 0) return false;
  uint64_t now_start = ProcessStartTime(pid);
  return now_start != 0 && now_start != start_time;  // pid reused by another process
}

class DeviceImpl : public Device {
 public:
  DeviceImpl(Segment* seg, const Params& params) : seg_(seg), params_(params), engine_(&seg->state) {}
  ~DeviceImpl() override { munmap(seg_, sizeof(Segment)); }

  const Params& params() const override { return params_; }

  int AddQueue(uint32_t pid, uint32_t kfd_queue_id, uint64_t ring_base, uint64_t ring_bytes,
               uint32_t priority, uint64_t now) override {
    uint64_t start = pid == static_cast<uint32_t>(getpid()) ? OwnStartTime(pid)
                                                            : ProcessStartTime(pid);
    Locked l(this, now);
    return engine_.AddQueue(pid, start, kfd_queue_id, ring_base, ring_bytes, priority, now);
  }
  void RemoveQueue(int slot, uint64_t now) override {
    Locked l(this, now);
    engine_.RemoveQueue(slot, now);
  }
  bool QueueRunnable(int slot) const override {
    if (slot < 0 || slot >= static_cast<int>(kMaxQueues)) return false;
    return seg_->state.queues[slot].runnable.load(std::memory_order_acquire) != 0;
  }
  uint64_t Launch(int slot, const KernelWork& work, uint64_t not_before) override {
    Locked l(this, not_before);
    return engine_.Launch(slot, work, not_before);
  }
  bool Poll(uint64_t handle, uint64_t now, DispatchTimes* times) override {
    Locked l(this, now);
    return engine_.Poll(handle, now, times);
  }
  uint64_t NextEventTime(uint64_t now) override {
    Locked l(this, now);
    return engine_.NextEventTime(now);
  }
  uint64_t Generation() const override {
    return seg_->generation.load(std::memory_order_acquire);
  }
  void WaitForChange(uint64_t seen, uint64_t deadline_ns) override;
  void Notify() override {
    seg_->generation.fetch_add(1, std::memory_order_acq_rel);
    if (seg_->waiters.load(std::memory_order_acquire) != 0) {
      syscall(SYS_futex, &seg_->generation, FUTEX_WAKE, INT_MAX, nullptr, nullptr, 0);
    }
  }
  int SetQueueActive(int slot, bool active, uint64_t now) override {
    Locked l(this, now);
    return engine_.SetActive(slot, active, now);
  }
  int SetQueueSuspended(int slot, bool suspended, uint64_t now) override {
    Locked l(this, now);
    return engine_.SetSuspended(&slot, 1, suspended, 0, now);
  }
  int SetCuMask(int slot, const uint32_t* mask, uint32_t mask_bits, uint64_t now) override {
    Locked l(this, now);
    return engine_.SetCuMask(slot, mask, mask_bits, now);
  }
  int SetQueuePriority(int slot, uint32_t priority, uint64_t now) override {
    Locked l(this, now);
    return engine_.SetPriority(slot, priority, now);
  }
  void TraceEvent(uint32_t kind, int slot, uint64_t dispatch, uint64_t value,
                  uint64_t time_ns) override {
    Locked l(this, 0);
    engine_.Trace(kind, slot, dispatch, value, time_ns);
  }
  int SetQueuesSuspended(const int* slots, int count, bool suspended, uint64_t grace_ns,
                         uint64_t now) override {
    Locked l(this, now);
    return engine_.SetSuspended(slots, count, suspended, grace_ns, now);
  }
  bool GetQueueInfo(int slot, DeviceQueueInfo* info) override {
    Locked l(this, 0);
    return engine_.GetQueueInfo(slot, info);
  }
  int FindQueue(uint32_t pid, uint32_t kfd_queue_id) override {
    Locked l(this, 0);
    return engine_.FindQueue(pid, kfd_queue_id);
  }
  void ClearQueueExceptions(int slot, uint64_t mask) override {
    Locked l(this, 0);
    engine_.ClearExceptions(slot, mask);
  }
  int ReapDeadProcesses(uint64_t now) override {
    Locked l(this, 0);
    return Reap(now, &l.dead_pids);
  }
  size_t TraceRead(uint64_t* cursor, hsapreempt_sim_event* out, size_t max) override {
    Locked l(this, 0);
    return engine_.TraceRead(cursor, out, max);
  }
  int QueueCount() override {
    Locked l(this, 0);
    return static_cast<int>(seg_->state.queue_count);
  }

 private:
  // Holds the device lock for one call. `now` != 0 lets the periodic dead-process check run.
  // On release: change notification, and sysfs cleanup for reaped processes (outside the lock).
  struct Locked {
    Locked(DeviceImpl* d, uint64_t now) : dev(d) {
      int r = pthread_mutex_lock(&d->seg_->mutex);
      if (r == EOWNERDEAD) {
        // A process died inside the model: rebuild what it may have left half-updated.
        d->engine_.Repair();
        pthread_mutex_consistent(&d->seg_->mutex);
      } else if (r != 0) {
        static std::atomic<bool> warned{false};
        if (!warned.exchange(true)) {
          fprintf(stderr, "hsapreempt-sim: device lock failed: %s\n", strerror(r));
        }
      }
      if (now != 0 && now - d->seg_->state.last_reap_ns >= kReapIntervalNs &&
          now >= d->seg_->state.last_reap_ns) {
        d->Reap(now, &dead_pids);
      }
    }
    ~Locked() {
      bool changed = dev->engine_.TakeChanged();
      pthread_mutex_unlock(&dev->seg_->mutex);
      if (changed) dev->Notify();
      for (uint32_t pid : dead_pids) SysfsRemoveProcess(dev->params_, pid);
    }
    DeviceImpl* dev;
    std::vector<uint32_t> dead_pids;
  };

  int Reap(uint64_t now, std::vector<uint32_t>* dead_pids) {
    DeviceState& s = seg_->state;
    s.last_reap_ns = now;
    uint32_t self = static_cast<uint32_t>(getpid());
    // Each distinct (pid, start time) is checked once per scan (kill + /proc read), however many
    // queues it has. Keyed on both: after pid reuse, old and new owners share the pid.
    struct Owner {
      uint32_t pid;
      uint64_t start;
    } alive[64];
    uint32_t n_alive = 0;
    int dropped = 0;
    for (uint32_t i = 0; i < kMaxQueues; ++i) {
      QueueEntry& q = s.queues[i];
      if (!q.in_use || q.pid == self) continue;
      uint32_t pid = q.pid;
      uint64_t start = q.pid_start_time;
      bool known_alive = false;
      for (uint32_t k = 0; k < n_alive && !known_alive; ++k) {
        known_alive = alive[k].pid == pid && alive[k].start == start;
      }
      if (known_alive) continue;
      if (!ProcessGone(pid, start)) {
        if (n_alive < 64) alive[n_alive++] = {pid, start};
        continue;
      }
      for (uint32_t j = i; j < kMaxQueues; ++j) {
        if (s.queues[j].in_use && s.queues[j].pid == pid &&
            s.queues[j].pid_start_time == start) {
          engine_.RemoveQueue(static_cast<int>(j), now);
          ++dropped;
        }
      }
      // Its sysfs directory goes too, unless the pid now belongs to a live process with queues.
      bool reused = false;
      for (uint32_t j = 0; j < kMaxQueues && !reused; ++j) {
        reused = s.queues[j].in_use && s.queues[j].pid == pid;
      }
      if (!reused) dead_pids->push_back(pid);
    }
    return dropped;
  }

  Segment* seg_;
  Params params_;
  Engine engine_;

  friend void simdev::AcquireDeviceLockForTest(Device* device);
};

void DeviceImpl::WaitForChange(uint64_t seen, uint64_t deadline_ns) {
  seg_->waiters.fetch_add(1, std::memory_order_acq_rel);
  for (;;) {
    uint32_t g = seg_->generation.load(std::memory_order_acquire);
    if (g != static_cast<uint32_t>(seen)) break;
    uint64_t now = NowNs();
    if (now >= deadline_ns) break;
    uint64_t left = deadline_ns - now;
    if (left > 1000000000ull) left = 1000000000ull;
    struct timespec ts;
    ts.tv_sec = static_cast<time_t>(left / 1000000000ull);
    ts.tv_nsec = static_cast<long>(left % 1000000000ull);
    // Not FUTEX_PRIVATE: waiters and wakers are in different processes.
    syscall(SYS_futex, &seg_->generation, FUTEX_WAIT, g, &ts, nullptr, 0);
  }
  seg_->waiters.fetch_sub(1, std::memory_order_acq_rel);
}

void SleepMs(int ms) {
  struct timespec ts = {0, ms * 1000000L};
  nanosleep(&ts, nullptr);
}

// A segment of ours (same magic) made by another layout whose creator is gone: nobody can use it
// with this build, and most likely nobody uses it at all (a leftover of an earlier build's run).
// Layouts share the header prefix magic / layout_version / reserved / total_bytes / ready /
// creator_pid, so it can be read whatever the layout.
bool StaleOldLayout(int fd, uint32_t* layout, uint32_t* creator) {
  unsigned char prefix[32];
  if (pread(fd, prefix, sizeof(prefix), 0) != static_cast<ssize_t>(sizeof(prefix))) return false;
  uint64_t magic;
  memcpy(&magic, prefix, 8);
  memcpy(layout, prefix + 8, 4);
  memcpy(creator, prefix + 28, 4);
  if (magic != kMagic || *layout == kLayoutVersion || *creator == 0) return false;
  return kill(static_cast<pid_t>(*creator), 0) != 0 && errno == ESRCH;
}

Device* OpenOnce(const Params& params, bool* retry) {
  std::string name = ShmName(params.device_name);
  const size_t size = sizeof(Segment);
  int fd = shm_open(name.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  bool creator = fd >= 0;
  if (!creator) {
    if (errno == EEXIST) fd = shm_open(name.c_str(), O_RDWR | O_CLOEXEC, 0);
    if (fd < 0) {
      fprintf(stderr, "hsapreempt-sim: cannot open shared device /dev/shm%s: %s\n", name.c_str(),
              strerror(errno));
      return nullptr;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || st.st_uid != getuid() || (st.st_mode & 077) != 0) {
      fprintf(stderr,
              "hsapreempt-sim: refusing shared device /dev/shm%s: not owned by this user with mode "
              "0600\n",
              name.c_str());
      close(fd);
      return nullptr;
    }
    for (int i = 0; i < kAttachWaitMs && st.st_size == 0; ++i) {  // creator still sizing it
      SleepMs(1);
      fstat(fd, &st);
    }
    uint32_t old_layout = 0, old_creator = 0;
    if (static_cast<size_t>(st.st_size) != size && StaleOldLayout(fd, &old_layout, &old_creator)) {
      fprintf(stderr,
              "hsapreempt-sim: replacing /dev/shm%s: a layout-%u device whose creator (pid %u) is "
              "gone\n",
              name.c_str(), old_layout, old_creator);
      close(fd);
      shm_unlink(name.c_str());
      *retry = true;
      return nullptr;
    }
    if (static_cast<size_t>(st.st_size) != size) {
      fprintf(stderr,
              "hsapreempt-sim: shared device /dev/shm%s has %lld bytes, this build expects %zu "
              "(layout %u): incompatible; remove it or set another HSAPREEMPT_SIM_DEVICE\n",
              name.c_str(), static_cast<long long>(st.st_size), size, kLayoutVersion);
      close(fd);
      return nullptr;
    }
  } else if (ftruncate(fd, static_cast<off_t>(size)) != 0) {
    fprintf(stderr, "hsapreempt-sim: cannot size shared device /dev/shm%s: %s\n", name.c_str(),
            strerror(errno));
    close(fd);
    shm_unlink(name.c_str());
    return nullptr;
  }
  void* mem = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  close(fd);
  if (mem == MAP_FAILED) {
    fprintf(stderr, "hsapreempt-sim: cannot map shared device /dev/shm%s: %s\n", name.c_str(),
            strerror(errno));
    return nullptr;
  }
  Segment* seg = static_cast<Segment*>(mem);
  if (creator) {
    seg->layout_version = kLayoutVersion;
    seg->total_bytes = size;
    seg->creator_pid = static_cast<uint32_t>(getpid());
    seg->generation.store(0, std::memory_order_relaxed);
    seg->waiters.store(0, std::memory_order_relaxed);
    pthread_mutexattr_t attr;
    pthread_mutexattr_init(&attr);
    pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED);
    pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST);
    pthread_mutex_init(&seg->mutex, &attr);
    pthread_mutexattr_destroy(&attr);
    StoreParams(params, &seg->params);
    ModelConfig config{};
    config.cus = params.cus;
    config.slots_per_cu = params.slots_per_cu;
    config.engine_clock_mhz = params.engine_clock_mhz;
    config.runlist_update_ns = params.runlist_update_ns;
    config.cwsr_save_ns = params.cwsr_save_ns;
    config.cwsr_restore_ns = params.cwsr_restore_ns;
    Engine::Init(&seg->state, config);
    seg->magic = kMagic;
    seg->ready.store(1, std::memory_order_release);
    return new (std::nothrow) DeviceImpl(seg, params);
  }
  for (int i = 0; i < kAttachWaitMs && seg->ready.load(std::memory_order_acquire) == 0; ++i) {
    SleepMs(1);
  }
  if (seg->ready.load(std::memory_order_acquire) == 0 || seg->magic != kMagic ||
      seg->layout_version != kLayoutVersion || seg->total_bytes != size) {
    bool ours = seg->magic == kMagic || seg->ready.load() == 0;
    uint32_t creator = seg->creator_pid;
    if (ours && creator != 0 && kill(static_cast<pid_t>(creator), 0) != 0 && errno == ESRCH) {
      // Left behind by another layout, or by a creator that died initialising it.
      fprintf(stderr, "hsapreempt-sim: replacing /dev/shm%s: its creator (pid %u) is gone\n",
              name.c_str(), creator);
      munmap(mem, size);
      shm_unlink(name.c_str());
      *retry = true;
      return nullptr;
    }
    fprintf(stderr,
            "hsapreempt-sim: shared device /dev/shm%s is not a layout-%u device (magic %llx, "
            "layout %u, ready %u): incompatible or its creator died; remove it or set another "
            "HSAPREEMPT_SIM_DEVICE\n",
            name.c_str(), kLayoutVersion, static_cast<unsigned long long>(seg->magic),
            seg->layout_version, seg->ready.load());
    munmap(mem, size);
    return nullptr;
  }
  Params adopted = AdoptParams(params, seg->params);
  if (adopted.Describe() != params.Describe()) {
    fprintf(stderr,
            "hsapreempt-sim: device '%s' already exists with other parameters; using its "
            "parameters: %s\n",
            params.device_name.c_str(), adopted.Describe().c_str());
  }
  return new (std::nothrow) DeviceImpl(seg, adopted);
}

Device* Open(const Params& params) {
  bool retry = false;
  Device* d = OpenOnce(params, &retry);
  if (d == nullptr && retry) d = OpenOnce(params, &retry);
  return d;
}

}  // namespace

uint64_t NowNs() {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC_RAW, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
}

Device* Device::Instance() {
  static Device* instance = Open(Params::FromEnvironment());
  return instance;
}

Device* Device::CreateForTest(const Params& params, const std::string& segment_name) {
  Params p = params;
  p.device_name = segment_name;
  return Open(p);
}

void AcquireDeviceLockForTest(Device* device) {
  pthread_mutex_lock(&static_cast<DeviceImpl*>(device)->seg_->mutex);
}

void Device::RemoveSegmentForTest(const std::string& segment_name) {
  shm_unlink(ShmName(segment_name).c_str());
}

}  // namespace simdev
