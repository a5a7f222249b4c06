// HIP (ROCclr) blit-kernel emulation: see cp_hip_blit.h for how kernels are identified.
#include "simdev/cp_hip_blit.h"

#include <elf.h>

#include <algorithm>
#include <cstring>

#include "simdev/log.h"
#include "simdev/thunk_internal.h"

namespace simdev {
namespace {

constexpr uint64_t kPage = 4096;
constexpr int kMaxScanPages = 1024;     // a descriptor lies within 4 MiB of its ELF header
constexpr uint32_t kMaxSymbols = 65536;
constexpr uint16_t kEmAmdgpu = 224;     // EM_AMDGPU (older elf.h lacks it)

enum class HipBlit : uint8_t { kNone, kFillAligned, kCopy, kCopyAligned };

// Kernarg layouts of the OpenCL kernels in libamdhip64's blit program (8-byte pointers).
struct FillAlignedArgs {       // __amd_rocclr_fillBufferAligned
  uint64_t buf8, buf16, buf32, buf64;  // exactly one is non-null: the element type
  uint64_t pattern;                    // __constant uchar*
  uint32_t pattern_elems;              // pattern length in elements
  uint32_t pad;
  uint64_t offset;                     // elements from the buffer pointer
  uint64_t count;                      // work-items that each write the pattern once
};
struct CopyArgs {              // __amd_rocclr_copyBuffer / __amd_rocclr_copyBufferAligned
  uint64_t src, dst, src_origin, dst_origin, size;
  uint32_t tail;  // copyBuffer: 8 = byte copy, else bytes of the last (partial) dword
                  // copyBufferAligned: element size 16, else 4
};

struct CacheEntry {
  uint64_t kernel_object = 0;
  uint64_t kd_hash = 0;
  HipBlit kind = HipBlit::kNone;
};
constexpr size_t kCacheSize = 64;
CacheEntry g_cache[kCacheSize];  // CP thread only
size_t g_cache_next = 0;

uint64_t Fnv(const uint8_t* p, size_t n) {
  uint64_t h = 1469598103934665603ull;
  for (size_t i = 0; i < n; ++i) h = (h ^ p[i]) * 1099511628211ull;
  return h;
}

// Finds the ELF header of the code object holding `kd` and the symbol at kd's offset.
bool FindName(uint64_t kd, char* name, size_t name_size) {
  uint64_t base = kd & ~(kPage - 1);
  Elf64_Ehdr eh;
  bool found = false;
  for (int i = 0; i < kMaxScanPages && base != 0; ++i, base -= kPage) {
    if (SafeRead(reinterpret_cast<void*>(base), &eh, sizeof(eh)) &&
        memcmp(eh.e_ident, ELFMAG, SELFMAG) == 0 && eh.e_ident[EI_CLASS] == ELFCLASS64 &&
        eh.e_machine == kEmAmdgpu) {
      found = true;
      break;
    }
  }
  if (!found || eh.e_phentsize != sizeof(Elf64_Phdr) || eh.e_phnum > 64) return false;
  uint64_t dyn_vaddr = 0, dyn_size = 0;
  for (uint16_t i = 0; i < eh.e_phnum; ++i) {
    Elf64_Phdr ph;
    if (!SafeRead(reinterpret_cast<void*>(base + eh.e_phoff + i * sizeof(ph)), &ph, sizeof(ph))) {
      return false;
    }
    if (ph.p_type == PT_DYNAMIC) dyn_vaddr = ph.p_vaddr, dyn_size = ph.p_memsz;
  }
  if (dyn_vaddr == 0) return false;
  uint64_t symtab = 0, strtab = 0, strsz = 0, hash = 0;
  for (uint64_t off = 0; off + sizeof(Elf64_Dyn) <= std::min<uint64_t>(dyn_size, 4096);
       off += sizeof(Elf64_Dyn)) {
    Elf64_Dyn dyn;
    if (!SafeRead(reinterpret_cast<void*>(base + dyn_vaddr + off), &dyn, sizeof(dyn))) return false;
    if (dyn.d_tag == DT_NULL) break;
    if (dyn.d_tag == DT_SYMTAB) symtab = dyn.d_un.d_ptr;
    if (dyn.d_tag == DT_STRTAB) strtab = dyn.d_un.d_ptr;
    if (dyn.d_tag == DT_STRSZ) strsz = dyn.d_un.d_val;
    if (dyn.d_tag == DT_HASH) hash = dyn.d_un.d_ptr;
  }
  if (symtab == 0 || strtab == 0) return false;
  uint32_t nsyms = 0;
  uint32_t hash_hdr[2];
  if (hash != 0 && SafeRead(reinterpret_cast<void*>(base + hash), hash_hdr, sizeof(hash_hdr))) {
    nsyms = hash_hdr[1];  // nchain = number of dynamic symbols
  } else if (strtab > symtab) {
    nsyms = static_cast<uint32_t>((strtab - symtab) / sizeof(Elf64_Sym));
  }
  nsyms = std::min(nsyms, kMaxSymbols);
  const uint64_t want = kd - base;
  for (uint32_t i = 1; i < nsyms; ++i) {
    Elf64_Sym sym;
    if (!SafeRead(reinterpret_cast<void*>(base + symtab + i * sizeof(sym)), &sym, sizeof(sym))) {
      return false;
    }
    if (sym.st_value != want || sym.st_name >= strsz || name_size == 0) continue;
    size_t n = std::min<uint64_t>(name_size - 1, strsz - sym.st_name);
    if (!SafeRead(reinterpret_cast<void*>(base + strtab + sym.st_name), name, n)) return false;
    name[n] = '\0';
    name[strnlen(name, n)] = '\0';
    size_t len = strlen(name);
    if (len > 3 && strcmp(name + len - 3, ".kd") == 0) name[len - 3] = '\0';
    return true;
  }
  return false;
}

HipBlit Classify(uint64_t kd) {
  uint8_t desc[64];
  if (!SafeRead(reinterpret_cast<void*>(kd), desc, sizeof(desc))) return HipBlit::kNone;
  const uint64_t h = Fnv(desc, sizeof(desc));
  for (const CacheEntry& c : g_cache) {
    if (c.kernel_object == kd && c.kd_hash == h) return c.kind;
  }
  HipBlit kind = HipBlit::kNone;
  char name[128];
  if (FindName(kd, name, sizeof(name))) {
    if (strcmp(name, "__amd_rocclr_fillBufferAligned") == 0) kind = HipBlit::kFillAligned;
    if (strcmp(name, "__amd_rocclr_copyBuffer") == 0) kind = HipBlit::kCopy;
    if (strcmp(name, "__amd_rocclr_copyBufferAligned") == 0) kind = HipBlit::kCopyAligned;
    if (kind == HipBlit::kNone && strncmp(name, "__amd_rocclr_", 13) == 0) {
      SIM_LOG(kInfo, "HIP blit kernel %s is not emulated (costs default_kernel_ns, no effect)",
              name);
    }
  }
  g_cache[g_cache_next] = CacheEntry{kd, h, kind};
  g_cache_next = (g_cache_next + 1) % kCacheSize;
  return kind;
}

uint64_t BlitNs(const Params& p, uint64_t bytes) {
  uint64_t bw = p.blit_bytes_per_us > 0 ? p.blit_bytes_per_us : 1;
  return std::max<uint64_t>(1, bytes * 1000 / bw);
}

}  // namespace

bool KernelNameOfDescriptor(uint64_t kernel_object, char* name, size_t name_size) {
  return kernel_object != 0 && FindName(kernel_object, name, name_size);
}

bool RecogniseHipBlit(const hsa_kernel_dispatch_packet_t& d, const Params& prm, KernelWork* work,
                      Effect* effect) {
  if (d.kernel_object == 0 || d.kernarg_address == nullptr) return false;
  HipBlit kind = Classify(d.kernel_object);
  if (kind == HipBlit::kNone) return false;
  // Work-items that pass the kernels' `get_global_id(0) < size` check.
  const uint64_t grid = d.grid_size_x;
  uint64_t bytes = 0;
  if (kind == HipBlit::kFillAligned) {
    FillAlignedArgs a;
    if (!SafeRead(d.kernarg_address, &a, sizeof(a))) return false;
    uint64_t elem = a.buf64 ? 8 : a.buf32 ? 4 : a.buf16 ? 2 : 1;
    uint64_t buf = a.buf64 ? a.buf64 : a.buf32 ? a.buf32 : a.buf16 ? a.buf16 : a.buf8;
    uint64_t pattern_bytes = uint64_t(a.pattern_elems) * elem;
    bytes = std::min(a.count, grid) * pattern_bytes;
    effect->kind = Effect::kPatternFill;
    effect->a = buf + a.offset * elem;
    effect->b = a.pattern;
    effect->c = bytes;
    effect->d = pattern_bytes;
  } else {
    CopyArgs a;
    if (!SafeRead(d.kernarg_address, &a, sizeof(a))) return false;
    uint64_t n = std::min(a.size, grid);
    if (kind == HipBlit::kCopy) {
      // Byte copy when tail == 8; else dwords, the last work-item copying `tail` bytes.
      if (a.tail == 8) {
        bytes = n;
      } else if (n > 0) {
        bytes = n < a.size ? n * 4 : (n - 1) * 4 + a.tail;
      }
      effect->a = a.dst + a.dst_origin;
      effect->b = a.src + a.src_origin;
    } else {
      uint64_t elem = a.tail == 16 ? 16 : 4;
      bytes = n * elem;
      effect->a = a.dst + a.dst_origin * elem;
      effect->b = a.src + a.src_origin * elem;
    }
    effect->kind = Effect::kCopy;
    effect->c = bytes;
  }
  work->workgroups = 1;
  work->workgroup_ns = BlitNs(prm, bytes);
  return true;
}

void ApplyPatternFill(const Effect& e) {
  const uint64_t dst = e.a, pattern = e.b, bytes = e.c, plen = e.d;
  if (bytes == 0 || plen == 0) return;
  uint8_t pat[256];
  uint8_t probe;
  if (plen > sizeof(pat) || !SafeRead(reinterpret_cast<void*>(pattern), pat, plen) ||
      !SafeRead(reinterpret_cast<void*>(dst), &probe, 1) ||
      !SafeRead(reinterpret_cast<void*>(dst + bytes - 1), &probe, 1)) {
    // Once per process: HIP 5.2.3 itself issues such fills in a loop for an unaligned hipMemset
    // shorter than its alignment head (a bug of ROCclr's, see docs/hip.md).
    static bool warned = false;  // CP thread only
    if (!warned) {
      warned = true;
      SIM_LOG(kWarn, "HIP blit fill of %llu bytes (pattern %llu bytes) has an invalid range: "
              "skipped (said once)", (unsigned long long)bytes, (unsigned long long)plen);
    }
    return;
  }
  uint8_t* p = reinterpret_cast<uint8_t*>(dst);
  for (uint64_t off = 0; off < bytes; off += plen) {
    memcpy(p + off, pat, std::min(plen, bytes - off));
  }
}

}  // namespace simdev
