#include "hsa_layer/state.h"

#include <sched.h>

namespace hsapreempt::hsa {

LayerState& State() {
  static auto* state = new LayerState();  // never destroyed
  return *state;
}

QueueRegistry* QueueRegistry::Instance() {
  static auto* registry = new QueueRegistry();  // never destroyed
  return registry;
}

void QueueRegistry::Add(QueueRecord* record) {
  std::lock_guard<std::mutex> lock(mu_);
  map_[record->app_queue] = record;
}

QueueRecord* QueueRegistry::Take(const hsa_queue_t* app_queue) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = map_.find(app_queue);
  if (it == map_.end()) return nullptr;
  QueueRecord* r = it->second;
  map_.erase(it);
  return r;
}

QueueRecord* QueueRegistry::Acquire(const hsa_queue_t* app_queue) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = map_.find(app_queue);
  if (it == map_.end()) return nullptr;
  it->second->api_users.fetch_add(1, std::memory_order_acquire);
  return it->second;
}

void QueueRegistry::WaitUnused(QueueRecord* record) {
  // Holders are in one short control-path call (set_priority, cu_set_mask, the C API).
  while (record->api_users.load(std::memory_order_acquire) != 0) sched_yield();
}

std::vector<QueueRecord*> QueueRegistry::TakeAll() {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<QueueRecord*> all;
  all.reserve(map_.size());
  for (auto& kv : map_) all.push_back(kv.second);
  map_.clear();
  return all;
}

size_t QueueRegistry::size() {
  std::lock_guard<std::mutex> lock(mu_);
  return map_.size();
}

}  // namespace hsapreempt::hsa
