// Preloaded only in the AddressSanitizer test pass (scripts/test.sh), never shipped.
//
// ROCr 5.2.3 calls aligned_alloc(64, 56): C11 requires the size to be a multiple of the
// alignment; glibc accepts it, AddressSanitizer aborts the process ("invalid alignment requested
// in aligned_alloc"), so no program that loads ROCr could run under ASan. This routes the call
// through posix_memalign, which ASan intercepts and tracks as usual.
#include <stdlib.h>

__attribute__((visibility("default"))) void* aligned_alloc(size_t alignment, size_t size) {
  void* p = NULL;
  if (alignment < sizeof(void*)) alignment = sizeof(void*);
  return posix_memalign(&p, alignment, size) == 0 ? p : NULL;
}
