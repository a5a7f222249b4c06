// The kernel cost convention shared by the project's own GPU kernels, the simulated device's
// command processor, the tests and the benchmarks.
//
// A kernel that follows the convention takes `hsapreempt_kernel_args` as its kernarg segment.
// On a real GPU (kernels/spin.cl) every workgroup spins for `workgroup_ns` on the constant
// 100 MHz clock (s_memrealtime), then performs the effects below. On the simulated device the
// command processor does not execute ISA: it recognises the convention by `magic` (and the kernel
// descriptor's kernarg size), occupies one CU slot per workgroup for `workgroup_ns`, and performs
// the same effects when the last workgroup ends. So a kernel whose workgroups all fit on the
// device at once (grid workgroups <= CU slots) runs for `workgroup_ns` alone on either device.
//
// Effects, in this order, once per dispatch (by workgroup 0 / the last-ending workgroup):
//   1. if order_counter: ticket = atomic_fetch_add(order_counter, 1); if order_slot: *order_slot = ticket
//   2. if done_ptr: *done_ptr = done_value
// Tests use (1) to verify execution order and exactly-once, and (2) to see that a kernel ran.
//
// This header is C and OpenCL C compatible (the spin kernel includes it).
#ifndef HSAPREEMPT_SIM_KERNEL_ABI_H_
#define HSAPREEMPT_SIM_KERNEL_ABI_H_

// clang defines __OPENCL_C_VERSION__ (not __OPENCL_VERSION__) when compiling OpenCL C.
#if defined(__OPENCL_C_VERSION__) || defined(__OPENCL_VERSION__)
#define HP_OPENCL 1
typedef ulong hp_u64;
typedef uint hp_u32;
#define HP_GLOBAL __global
#else
#include <stdint.h>
typedef uint64_t hp_u64;
typedef uint32_t hp_u32;
#define HP_GLOBAL
#endif

// "HPKERN01" read as a little-endian 64-bit word.
#define HSAPREEMPT_KERNEL_MAGIC 0x31304E5245324B50ull

typedef struct hsapreempt_kernel_args {
  hp_u64 magic;                       // HSAPREEMPT_KERNEL_MAGIC
  hp_u64 workgroup_ns;                // time each workgroup occupies its CU slot
  HP_GLOBAL hp_u64* done_ptr;         // optional: receives done_value at the end
  hp_u64 done_value;
  HP_GLOBAL hp_u32* order_counter;    // optional: atomically incremented at the end
  HP_GLOBAL hp_u32* order_slot;       // optional: receives the counter's previous value
  hp_u64 tag;                         // free for the submitter (e.g. trace kernel index); ignored
  hp_u64 reserved;
} hsapreempt_kernel_args;             // 64 bytes

#define HSAPREEMPT_KERNEL_ARGS_SIZE 64

#ifndef HP_OPENCL
#ifdef __cplusplus
static_assert(sizeof(hsapreempt_kernel_args) == HSAPREEMPT_KERNEL_ARGS_SIZE, "kernarg layout");
#endif
#endif

// Name of the spin kernel symbol in kernels/spin.cl's code object (as the loader sees it).
#define HSAPREEMPT_SPIN_KERNEL_SYMBOL "hsapreempt_spin.kd"

#endif  // HSAPREEMPT_SIM_KERNEL_ABI_H_
