// Reads and writes of application memory that fail instead of faulting: the CP follows pointers
// taken from packets (kernel objects, kernargs, signals) that a buggy program may get wrong.
#include <sys/uio.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdint>

#include "simdev/thunk_internal.h"

namespace simdev {
namespace {

bool Plausible(const void* p, size_t n) {
  uintptr_t a = reinterpret_cast<uintptr_t>(p);
  // Null page, and anything outside the canonical 47-bit user half, is never valid.
  return a >= 4096 && a + n >= a && a + n <= (1ull << 47);
}

bool Transfer(void* local, const void* remote, size_t n, bool write) {
  iovec l{local, n};
  iovec r{const_cast<void*>(remote), n};
  ssize_t got = write ? process_vm_writev(getpid(), &l, 1, &r, 1, 0)
                      : process_vm_readv(getpid(), &l, 1, &r, 1, 0);
  return got == static_cast<ssize_t>(n);
}

}  // namespace

bool SafeRead(const void* src, void* dst, size_t n) {
  if (n == 0) return true;
  if (!Plausible(src, n)) return false;
  // Kernel objects, kernargs and signals normally live in memory ROCr allocated through us: a
  // memcpy under the allocation table's lock is ~50x cheaper than the syscall.
  if (CopyWithinOwnAllocation(dst, src, n, false)) return true;
  return Transfer(dst, src, n, false);
}

bool SafeWrite(void* dst, const void* src, size_t n) {
  if (n == 0) return true;
  if (!Plausible(dst, n)) return false;
  if (CopyWithinOwnAllocation(dst, src, n, true)) return true;
  return Transfer(const_cast<void*>(src), dst, n, true);
}

}  // namespace simdev
