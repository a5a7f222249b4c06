// DirectForwarder: the XQueue used when the tool is built without the xqueue library. It forwards
// every published packet from the soft ring to the hardware ring at once on the doorbell thread
// (no holding, no markers, no levers), so interception can be built and tested on its own.
// When the hardware ring is full it waits (yielding) for room, as the application would have
// waited on a full hardware ring.
#ifndef HSA_LAYER_DIRECT_FORWARDER_H_
#define HSA_LAYER_DIRECT_FORWARDER_H_

#include <memory>
#include <mutex>

#include "xqueue/xqueue.h"

namespace hsapreempt::hsa {

class DirectForwarder final : public xq::XQueue {
 public:
  static std::unique_ptr<xq::XQueue> Create(const xq::RuntimeOps* ops, hsa_queue_t* soft,
                                            hsa_queue_t* hw, xq::Listener* listener);

  hsa_queue_t* soft_queue() const override { return soft_; }
  hsa_queue_t* hw_queue() const override { return hw_; }
  void OnDoorbell(uint64_t value) override;
  void Suspend() override {}
  void Resume() override {}
  bool suspended() const override { return false; }
  void Pump() override {}
  bool HasRunnableWork() const override { return false; }
  bool HoldsSignalProducer(hsa_signal_t) const override { return false; }
  common::Status Drain(uint64_t timeout_ns) override;
  xq::XQueueStats stats() const override;
  levels::LeverKind lever_kind() const override { return levels::LeverKind::kNone; }

 private:
  DirectForwarder(const xq::RuntimeOps& ops, hsa_queue_t* soft, hsa_queue_t* hw)
      : ops_(ops), soft_(soft), hw_(hw) {}

  const xq::RuntimeOps ops_;
  hsa_queue_t* const soft_;
  hsa_queue_t* const hw_;
  mutable std::mutex mu_;
  uint64_t forwarded_ = 0;  // guarded by mu_
};

}  // namespace hsapreempt::hsa

#endif  // HSA_LAYER_DIRECT_FORWARDER_H_
