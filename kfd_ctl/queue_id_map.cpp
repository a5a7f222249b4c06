#include "kfd_ctl/queue_id_map.h"

#include <unistd.h>

#include <algorithm>
#include <mutex>

#include "common/config.h"
#include "common/log.h"

namespace hsapreempt::kfd {
namespace {

// Every mapper, for the fork handlers (normally just the process-wide one).
std::mutex g_registry_mu;
std::vector<QueueIdMapper*>& Registry() {
  static auto* mappers = new std::vector<QueueIdMapper*>();
  return *mappers;
}

std::string Ids(const std::vector<SysfsQueue>& qs) {
  std::string s;
  for (const auto& q : qs) {
    if (!s.empty()) s += ", ";
    s += std::to_string(q.queue_id) + " (" + std::to_string(q.size) + " B)";
  }
  return s.empty() ? "none" : s;
}

}  // namespace

QueueIdMapper::QueueIdMapper(Device* device, Options options)
    : device_(device), options_(options) {
  pthread_mutex_init(&mu_, nullptr);
  static std::once_flag atfork_once;
  std::call_once(atfork_once, [] { pthread_atfork(&AtForkPrepare, &AtForkParent, &AtForkChild); });
  std::lock_guard<std::mutex> lock(g_registry_mu);
  Registry().push_back(this);
}

QueueIdMapper::~QueueIdMapper() {
  {
    std::lock_guard<std::mutex> lock(g_registry_mu);
    auto& r = Registry();
    r.erase(std::remove(r.begin(), r.end(), this), r.end());
  }
  pthread_mutex_destroy(&mu_);
}

QueueIdMapper& QueueIdMapper::Get() {
  static auto* mapper = [] {
    QueueIdMapperOptions options;
    options.enable_debug_trap = common::Config::FromEnvironment().l2_mode == common::L2Mode::kSuspend;
    return new QueueIdMapper(&Device::Get(), options);  // never destroyed
  }();
  return *mapper;
}

// fork() while another thread is between Begin and End would leave the child's mutex locked
// forever: the prepare handler waits for creations in flight, the child gets a fresh mutex.
void QueueIdMapper::AtForkPrepare() {
  g_registry_mu.lock();
  for (QueueIdMapper* m : Registry()) pthread_mutex_lock(&m->mu_);
}
void QueueIdMapper::AtForkParent() {
  for (QueueIdMapper* m : Registry()) pthread_mutex_unlock(&m->mu_);
  g_registry_mu.unlock();
}
void QueueIdMapper::AtForkChild() {
  for (QueueIdMapper* m : Registry()) pthread_mutex_init(&m->mu_, nullptr);
  g_registry_mu.unlock();
}

void QueueIdMapper::EnableDebugTrapLocked() {
  if (options_.enable_debug_trap && device_->HasDbgTrapAbi() && !device_->dbg_trap_enabled()) {
    // Before any queue exists: KFD accepts RUNTIME_ENABLE only then, and only before the
    // debug-trap enable.
    common::Status s = device_->RuntimeEnable();
    if (!s.ok()) HP_LOG_ONCE(kWarn, "kfd: runtime enable failed: %s", s.ToString().c_str());
    s = device_->DbgTrapEnable();
    if (!s.ok()) HP_LOG_ONCE(kWarn, "kfd: enabling the debug trap failed: %s", s.ToString().c_str());
  }
}

void QueueIdMapper::PrepareEarly() {
  pthread_mutex_lock(&mu_);
  EnableDebugTrapLocked();
  pthread_mutex_unlock(&mu_);
}

void QueueIdMapper::BeginQueueCreate() {
  pthread_mutex_lock(&mu_);
  EnableDebugTrapLocked();
  before_.clear();
  before_why_.clear();
  before_ok_ = ListSysfsQueues(device_->SysfsRoot(), getpid(), &before_, &before_why_);
}

QueueMapping QueueIdMapper::EndQueueCreate(uint64_t ring_base, uint64_t ring_bytes) {
  QueueMapping m;
  if (ring_base == 0) {
    m.method = "none: queue creation failed";
    pthread_mutex_unlock(&mu_);
    return m;
  }
  std::string snapshot_why;
  if (device_->dbg_trap_enabled()) {
    std::vector<abi::QueueSnapshotEntry> entries;
    // Clearing EC_QUEUE_NEW (only we, the process's own debugger, look at it) lets the suspend
    // lever act on this queue at once.
    common::Status s = device_->QueueSnapshot(&entries, abi::EcMask(abi::kEcQueueNew));
    if (s.ok()) {
      m = FromSnapshot(entries, ring_base, ring_bytes);
      if (m.known) {
        pthread_mutex_unlock(&mu_);
        return m;
      }
      snapshot_why = m.method;
    } else {
      snapshot_why = "snapshot: " + s.message();
    }
  } else {
    snapshot_why = device_->HasDbgTrapAbi() ? "snapshot: debug trap not enabled (opt-in)"
                                            : "snapshot: needs KFD 1.13+";
  }
  if (!before_ok_) {
    m = QueueMapping();
    m.method = "none: " + snapshot_why + "; sysfs: " + before_why_;
  } else {
    std::vector<SysfsQueue> after;
    std::string why;
    if (!ListSysfsQueues(device_->SysfsRoot(), getpid(), &after, &why)) {
      m = QueueMapping();
      m.method = "none: " + snapshot_why + "; sysfs: " + why;
    } else {
      m = FromSysfsDiff(before_, after, ring_bytes, options_.trust_creation_order);
      if (!m.known && after.empty() && !why.empty()) m.method = "none: " + why;
      if (!m.known) m.method = "none: " + snapshot_why + "; sysfs: " + m.method.substr(6);
    }
  }
  pthread_mutex_unlock(&mu_);
  if (m.known) {
    HP_LOG(kDebug, "kfd: ring 0x%llx -> KFD queue %u (%s)", static_cast<unsigned long long>(ring_base),
           m.queue_id, m.method.c_str());
  } else {
    HP_LOG(kInfo, "kfd: KFD queue id of ring 0x%llx unknown: %s",
           static_cast<unsigned long long>(ring_base), m.method.c_str());
  }
  return m;
}

QueueMapping QueueIdMapper::FromSysfsDiff(const std::vector<SysfsQueue>& before,
                                          const std::vector<SysfsQueue>& after,
                                          uint64_t ring_bytes, bool trust_creation_order) {
  QueueMapping m;
  std::vector<SysfsQueue> fresh;
  for (const auto& q : after) {
    bool seen = std::any_of(before.begin(), before.end(),
                            [&](const SysfsQueue& b) { return b.queue_id == q.queue_id; });
    if (!seen) fresh.push_back(q);
  }
  std::vector<SysfsQueue> match;
  for (const auto& q : fresh) {
    if (q.size == ring_bytes) match.push_back(q);
  }
  if (match.size() == 1) {
    m.known = true;
    m.queue_id = match[0].queue_id;
    m.gpu_id = match[0].gpu_id;
    m.method = "sysfs";
    return m;
  }
  const std::string ring = std::to_string(ring_bytes) + "-byte ring";
  if (fresh.empty()) {
    m.method = "none: no new queue directory appeared";
  } else if (match.empty()) {
    m.method = "none: no new queue has a " + ring + " (new: " + Ids(fresh) + ")";
  } else if (trust_creation_order && before.empty() && fresh.size() == 2 && match.size() == 2) {
    // ROCr's utility queue (created first) got the lower id; ours is the higher one.
    const SysfsQueue& q = match[0].queue_id > match[1].queue_id ? match[0] : match[1];
    m.known = true;
    m.queue_id = q.queue_id;
    m.gpu_id = q.gpu_id;
    m.method = "sysfs+order";
  } else {
    m.method = "none: ambiguous, " + std::to_string(match.size()) + " new queues have a " + ring +
               " (" + Ids(match) + "; ROCr creates its utility queue with the first user queue)";
  }
  return m;
}

QueueMapping QueueIdMapper::FromSnapshot(const std::vector<abi::QueueSnapshotEntry>& entries,
                                         uint64_t ring_base, uint64_t ring_bytes) {
  QueueMapping m;
  const abi::QueueSnapshotEntry* hit = nullptr;
  int hits = 0;
  for (const auto& e : entries) {
    if (e.ring_base_address == ring_base) {
      hit = &e;
      ++hits;
    }
  }
  if (hits != 1) {
    m.method = hits == 0 ? "snapshot: no queue has this ring address"
                         : "snapshot: several queues have this ring address";
    return m;
  }
  if (hit->ring_size != ring_bytes) {
    m.method = "snapshot: ring size " + std::to_string(hit->ring_size) + " != " +
               std::to_string(ring_bytes);
    return m;
  }
  m.known = true;
  m.queue_id = hit->queue_id;
  m.gpu_id = hit->gpu_id;
  m.method = "snapshot";
  return m;
}

}  // namespace hsapreempt::kfd
