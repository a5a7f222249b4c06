#include "simdev/queue_registry.h"

#include <map>
#include <mutex>

#include "simdev/thunk_internal.h"

namespace simdev {
namespace {

struct Registry {
  std::mutex mu;
  std::map<uint32_t, QueueInfo> queues;  // by KFD queue id
  bool used[kMaxQueuesPerProcess] = {};
};

Registry* g_reg = new Registry();  // never destroyed; replaced in a fork child

}  // namespace

int AllocateQueueId() {
  std::lock_guard<std::mutex> lock(g_reg->mu);
  for (uint32_t id = 0; id < kMaxQueuesPerProcess; ++id) {
    if (!g_reg->used[id]) {
      g_reg->used[id] = true;
      return static_cast<int>(id);
    }
  }
  return -1;
}

void ReleaseQueueId(uint32_t id) {
  std::lock_guard<std::mutex> lock(g_reg->mu);
  if (id < kMaxQueuesPerProcess && g_reg->queues.count(id) == 0) g_reg->used[id] = false;
}

void InsertQueueInfo(const QueueInfo& info) {
  std::lock_guard<std::mutex> lock(g_reg->mu);
  g_reg->queues[info.kfd_queue_id] = info;
}

void RemoveQueueInfo(uint32_t id) {
  std::lock_guard<std::mutex> lock(g_reg->mu);
  g_reg->queues.erase(id);
  if (id < kMaxQueuesPerProcess) g_reg->used[id] = false;
}

bool SetQueueError(uint32_t id) {
  std::lock_guard<std::mutex> lock(g_reg->mu);
  auto it = g_reg->queues.find(id);
  if (it == g_reg->queues.end()) return false;
  it->second.error = true;
  return true;
}

void ResetQueuesInChild() { g_reg = new Registry(); }

int LookupQueueSlot(uint32_t kfd_queue_id) {
  std::lock_guard<std::mutex> lock(g_reg->mu);
  auto it = g_reg->queues.find(kfd_queue_id);
  return it == g_reg->queues.end() ? -1 : it->second.slot;
}

bool LookupQueueRing(uint32_t kfd_queue_id, uint64_t* ring_base, uint64_t* ring_bytes) {
  std::lock_guard<std::mutex> lock(g_reg->mu);
  auto it = g_reg->queues.find(kfd_queue_id);
  if (it == g_reg->queues.end()) return false;
  if (ring_base != nullptr) *ring_base = it->second.ring_base;
  if (ring_bytes != nullptr) *ring_bytes = it->second.ring_bytes;
  return true;
}

bool LookupQueueInfo(uint32_t kfd_queue_id, QueueInfo* info) {
  std::lock_guard<std::mutex> lock(g_reg->mu);
  auto it = g_reg->queues.find(kfd_queue_id);
  if (it == g_reg->queues.end()) return false;
  if (info != nullptr) *info = it->second;
  return true;
}

size_t ListQueues(QueueInfo* out, size_t max) {
  std::lock_guard<std::mutex> lock(g_reg->mu);
  size_t i = 0;
  for (const auto& kv : g_reg->queues) {
    if (i < max && out != nullptr) out[i] = kv.second;
    ++i;
  }
  return g_reg->queues.size();
}

bool SetQueuePercent(uint32_t kfd_queue_id, uint32_t percent) {
  std::lock_guard<std::mutex> lock(g_reg->mu);
  auto it = g_reg->queues.find(kfd_queue_id);
  if (it == g_reg->queues.end()) return false;
  it->second.queue_percent = percent;
  return true;
}

}  // namespace simdev
