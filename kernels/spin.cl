// The project's spin kernel: the kernel cost convention of include/hsapreempt/sim_kernel_abi.h.
//
// Every workgroup spins for args.workgroup_ns on the constant 100 MHz clock (s_memrealtime: the
// same rate on every gfx9+ part, independent of the shader clock, so a duration means the same
// thing under any power state). Then workgroup 0 performs the effects, once per dispatch, in the
// header's order. Workgroup 0 (not "the last workgroup to finish") does them because finding the
// last one needs a device-wide counter the convention has no room for; all workgroups spin for the
// same time, so the difference is the skew between workgroup start times.
//
// On the simulated device this ISA is never executed: the command processor recognises the
// convention by args.magic and the descriptor's kernarg size and models the same behaviour.
#include "hsapreempt/sim_kernel_abi.h"

// OpenCL forbids pointers inside a struct kernel parameter, so the kernel takes the struct's eight
// 8-byte fields as eight parameters: same offsets (0, 8, ..., 56), same 64-byte explicit kernarg
// layout as hsapreempt_kernel_args (checked on the built code object by tests/support_tests).
__kernel void hsapreempt_spin(ulong magic, ulong workgroup_ns, __global ulong* done_ptr,
                              ulong done_value, __global uint* order_counter,
                              __global uint* order_slot, ulong tag, ulong reserved) {
  hsapreempt_kernel_args args;
  args.magic = magic;
  args.workgroup_ns = workgroup_ns;
  args.done_ptr = done_ptr;
  args.done_value = done_value;
  args.order_counter = order_counter;
  args.order_slot = order_slot;
  args.tag = tag;
  args.reserved = reserved;
  // s_memrealtime ticks at 100 MHz: 10 ns per tick. Round up so 1..9 ns still spins one tick.
  const ulong ticks = (args.workgroup_ns + 9) / 10;
  const ulong start = __builtin_amdgcn_s_memrealtime();
  if (ticks != 0) {
    while (__builtin_amdgcn_s_memrealtime() - start < ticks) {
      __builtin_amdgcn_s_sleep(1);  // yield issue slots to other waves while waiting
    }
  }
  // Built with -nogpulib (no device library): the id builtins read the hardware registers directly.
  if (__builtin_amdgcn_workgroup_id_x() != 0 || __builtin_amdgcn_workgroup_id_y() != 0 ||
      __builtin_amdgcn_workgroup_id_z() != 0) {
    return;
  }
  if (__builtin_amdgcn_workitem_id_x() != 0 || __builtin_amdgcn_workitem_id_y() != 0 ||
      __builtin_amdgcn_workitem_id_z() != 0) {
    return;
  }

  // System scope (clang's __opencl_atomic_* builtins; no device library): the host (and other agents) read these through fine-grained memory.
  if (args.order_counter) {
    uint ticket = __opencl_atomic_fetch_add((volatile __global atomic_uint*)args.order_counter, 1u,
                                            memory_order_acq_rel, memory_scope_all_svm_devices);
    if (args.order_slot) {
      __opencl_atomic_store((volatile __global atomic_uint*)args.order_slot, ticket,
                            memory_order_release, memory_scope_all_svm_devices);
    }
  }
  if (args.done_ptr) {
    __opencl_atomic_store((volatile __global atomic_ulong*)args.done_ptr, args.done_value,
                          memory_order_release, memory_scope_all_svm_devices);
  }
}
