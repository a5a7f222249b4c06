// The command processor of one process: a single thread serving every hardware queue the
// process created. It fetches AQL packets in order up to the queue's write index while their
// headers are valid (and only while the device says the queue is runnable), honours the barrier
// bit and barrier-AND/OR dependencies, hands kernel dispatches to the shared device model,
// emulates ROCr's blit kernels, and on completion writes the completion signal (timestamps,
// decrement, event mailbox), invalidates the header and advances the read index.
//
// Thread-safety: all methods may be called from any thread. RemoveQueue() returns only once the
// CP thread no longer touches the queue's memory. Fork: the child starts with no CP thread and
// no queues (ResetInChild from the atfork child handler); its first AddQueue starts a new thread.
#ifndef SIMDEV_CP_H_
#define SIMDEV_CP_H_

#include <cstdint>

namespace simdev {

struct CpQueueConfig {
  uint32_t kfd_queue_id = 0;
  int slot = -1;                        // device queue slot
  uint8_t* ring = nullptr;              // AQL ring (64-byte packets)
  uint32_t ring_packets = 0;            // power of two
  volatile uint64_t* read_ptr = nullptr;   // Queue_read_ptr_aql (amd_queue_t.read_dispatch_id)
  volatile uint64_t* write_ptr = nullptr;  // Queue_write_ptr_aql (amd_queue_t.write_dispatch_id)
};

class Cp {
 public:
  static Cp& Instance();
  static void ResetInChild();

  void AddQueue(const CpQueueConfig& config);
  void RemoveQueue(uint32_t kfd_queue_id);
  // Stops serving every queue (process exit); returns their device slots through `slots`.
  int RemoveAll(int* slots, int max);

 private:
  Cp() = default;
  void Run();
  struct State;
  State* state_ = nullptr;
};

}  // namespace simdev

#endif  // SIMDEV_CP_H_
