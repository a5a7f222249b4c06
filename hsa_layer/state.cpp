#include "hsa_layer/state.h"

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

bool QueueRegistry::With(const hsa_queue_t* app_queue,
                         const std::function<void(QueueRecord*)>& fn) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = map_.find(app_queue);
  if (it == map_.end()) return false;
  fn(it->second);
  return true;
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
