// SerializedLever: wraps the lever SelectLever chose so that hsa_layer's application-thread calls
// (hsa_amd_queue_set_priority / cu_set_mask: NoteHsaPriority, NoteCuMask, Reassert) never run
// concurrently with the XQueue's Engage/Release on the scheduler thread: the lever contract
// (levels/levers.h) allows one caller at a time. The XQueue owns this wrapper; hsa_layer keeps a
// raw pointer for the queue's lifetime.
//
// Locking: mu_ only, held across one lever call (or one Locked() section, which may include the
// original ROCr call so that no Engage/Release can slip between it and the Reassert that follows).
// Never taken with an xqueue or registry lock held by this layer.
#ifndef HSA_LAYER_SERIALIZED_LEVER_H_
#define HSA_LAYER_SERIALIZED_LEVER_H_

#include <memory>
#include <mutex>
#include <utility>

#include "levels/lever.h"

namespace hsapreempt::hsa {

class SerializedLever final : public levels::Lever {
 public:
  explicit SerializedLever(std::unique_ptr<levels::Lever> inner) : inner_(std::move(inner)) {}

  levels::LeverKind kind() const override { return inner_->kind(); }
  common::Status Engage() override {
    std::lock_guard<std::mutex> lock(mu_);
    return inner_->Engage();
  }
  common::Status Release() override {
    std::lock_guard<std::mutex> lock(mu_);
    return inner_->Release();
  }
  bool engaged() const override {
    std::lock_guard<std::mutex> lock(mu_);
    return inner_->engaged();
  }
  common::Status Reassert() override {
    std::lock_guard<std::mutex> lock(mu_);
    return inner_->Reassert();
  }
  void NoteHsaPriority(int priority) override {
    std::lock_guard<std::mutex> lock(mu_);
    inner_->NoteHsaPriority(priority);
  }
  void NoteCuMask(const uint32_t* mask, uint32_t num_bits) override {
    std::lock_guard<std::mutex> lock(mu_);
    inner_->NoteCuMask(mask, num_bits);
  }
  levels::LeverStats stats() const override { return inner_->stats(); }

  // Runs fn(inner lever) with the lock held.
  template <typename Fn>
  auto Locked(Fn fn) {
    std::lock_guard<std::mutex> lock(mu_);
    return fn(inner_.get());
  }

 private:
  mutable std::mutex mu_;
  std::unique_ptr<levels::Lever> inner_;
};

}  // namespace hsapreempt::hsa

#endif  // HSA_LAYER_SERIALIZED_LEVER_H_
