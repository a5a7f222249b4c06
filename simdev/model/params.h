// Parameters of the simulated device. Every field is documented with its source or rationale in
// docs/simdev.md and can be set through the environment (HSAPREEMPT_SIM_<FIELD in upper case>,
// e.g. HSAPREEMPT_SIM_RUNLIST_UPDATE_NS=30000). A preset (HSAPREEMPT_SIM_PRESET) sets them all
// first; individual variables override it. Bad values are reported once and the preset value kept.
#ifndef SIMDEV_MODEL_PARAMS_H_
#define SIMDEV_MODEL_PARAMS_H_

#include <cstdint>
#include <string>

namespace simdev {

enum class KernelProfile {
  kLinux61,  // KFD ioctl 1.11: UPDATE_QUEUE, SET_CU_MASK; no RUNTIME_ENABLE, no DBG_TRAP
  kLinux65,  // KFD ioctl 1.13+: also DBG_TRAP (enable, suspend/resume queues, queue snapshot)
};

struct Params {
  std::string preset = "mi300x";
  std::string device_name = "default";  // HSAPREEMPT_SIM_DEVICE: the shared segment's name
  KernelProfile kernel = KernelProfile::kLinux65;
  std::string faults;       // HSAPREEMPT_SIM_FAULTS, e.g. "update_queue:EPERM,dbg_trap:EBUSY,sysfs:missing"
  std::string sysfs_root;   // HSAPREEMPT_SIM_SYSFS_ROOT; default /tmp/hsapreempt-sim-<uid>-<device>/sys

  // Topology (reported to ROCr through the thunk's node properties).
  uint32_t cus = 304;
  uint32_t simds_per_cu = 4;
  uint32_t max_waves_per_simd = 8;
  uint32_t engine_clock_mhz = 2100;
  uint32_t memory_clock_mhz = 1300;
  uint64_t vram_bytes = 192ull << 30;
  uint32_t xcc = 8;               // accelerator complex dies (MI300X: 8 XCDs x 38 CUs)

  // Execution model.
  uint32_t slots_per_cu = 1;          // workgroups a CU runs at once in the model
  uint64_t default_kernel_ns = 10000; // per workgroup round, for kernels without the convention
  uint64_t cp_dispatch_ns = 2000;     // CP cost to launch one packet
  uint64_t blit_bytes_per_us = 100000;  // modelled copy/fill bandwidth (100 GB/s)

  // Queue control on HWS.
  uint64_t runlist_update_ns = 50000;  // unmap + remap of all queues on a runlist change
  uint64_t cwsr_save_ns = 20000;       // save of a queue's in-flight waves
  uint64_t cwsr_restore_ns = 20000;    // restore on reactivation

  // KFD emulation.
  uint32_t gpu_id = 0x5e1d;            // KFD gpu_id of the simulated GPU (sysfs, snapshot)
  uint64_t destroy_wait_ms = 10000;    // destroying a DBG_TRAP-suspended queue blocks this long
                                       // at most (the real driver blocks until resumed)

  // Reads HSAPREEMPT_SIM_* (preset first, then overrides). Never fails: bad values are reported
  // once on stderr and ignored.
  static Params FromEnvironment();
  // Applies a named preset ("mi300x", "mi308x"); false if unknown.
  bool ApplyPreset(const std::string& name);
  // One line naming every field, for reports.
  std::string Describe() const;

  // --- Additions (simdev/model owner). ---
  // Effective sysfs root: sysfs_root, or /tmp/hsapreempt-sim-<uid>-<device_name>/sys.
  std::string SysfsRoot() const;
  // Errno injected for `op` by `faults` ("update_queue", "set_cu_mask", "dbg_trap",
  // "dbg_enable", "dbg_suspend", "dbg_resume", "dbg_snapshot", "runtime_enable",
  // "get_queue_wave_state", "get_version"), 0 if none.
  int FaultFor(const char* op) const;
  // True if `faults` contains "sysfs:missing" (the per-process queue directory is not kept).
  bool SysfsMissing() const;
  const char* KernelProfileName() const;
};

}  // namespace simdev

#endif  // SIMDEV_MODEL_PARAMS_H_
