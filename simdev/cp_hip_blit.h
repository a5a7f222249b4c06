// Emulation of HIP's own blit kernels on the simulated command processor.
//
// HIP 5.2.3 (ROCclr) does device-side copies and fills (hipMemset*, device-to-device hipMemcpy*)
// with kernels of its own, compiled at run time by comgr from OpenCL source embedded in
// libamdhip64 ("__amd_rocclr_fillBufferAligned", "__amd_rocclr_copyBuffer",
// "__amd_rocclr_copyBufferAligned"). Their ISA is never executed here, so without emulation the
// bytes would never be written.
//
// Identification is by the kernel's NAME, found from the dispatch's kernel descriptor address:
// the loaded code object keeps its ELF header at the start of its first PT_LOAD segment (page
// aligned), so the recogniser scans back page by page from the descriptor to an AMDGPU ELF
// header, follows PT_DYNAMIC to the dynamic symbol table (DT_SYMTAB/DT_STRTAB/DT_HASH) and looks
// up the symbol whose value is the descriptor's offset. The result is cached per descriptor
// address and descriptor contents (a reloaded code object at the same address is re-examined).
// Everything is read through SafeRead: a bogus descriptor never faults, it just is not a blit.
//
// Cost: the same modelled bandwidth as ROCr's blits (Params::blit_bytes_per_us), one workgroup.
// Runs on the CP thread only (the cache is not locked).
#ifndef SIMDEV_CP_HIP_BLIT_H_
#define SIMDEV_CP_HIP_BLIT_H_

#include <hsa/hsa.h>

#include <cstdint>

#include "simdev/cp_queue.h"
#include "simdev/model/params.h"

namespace simdev {

// If `d` dispatches one of HIP's blit kernels: fills `work` (one workgroup at the blit bandwidth)
// and `effect` (kCopy or kPatternFill) and returns true. False for anything else (nothing set).
bool RecogniseHipBlit(const hsa_kernel_dispatch_packet_t& d, const Params& prm, KernelWork* work,
                      Effect* effect);

// Performs an Effect::kPatternFill at completion: a = dst, b = pattern address, c = bytes,
// d = pattern length in bytes. An unreadable range is skipped with one warning.
void ApplyPatternFill(const Effect& e);

// The kernel name (without ".kd") of a kernel descriptor in a loaded code object, for tests and
// diagnostics; false if not found.
bool KernelNameOfDescriptor(uint64_t kernel_object, char* name, size_t name_size);

}  // namespace simdev

#endif  // SIMDEV_CP_HIP_BLIT_H_
