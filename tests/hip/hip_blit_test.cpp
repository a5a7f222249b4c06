// Unit tests of simdev/cp_hip_blit: HIP's (ROCclr's) blit kernels recognised by name from a
// code object loaded the way ROCr loads one (every PT_LOAD at base + p_vaddr), their kernarg
// layouts decoded into the right copy/fill, and everything else left alone.
#include "simdev/cp_hip_blit.h"

#include <elf.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <map>
#include <string>
#include <vector>

namespace simdev {
namespace {

// A code object image in page-aligned memory, segments at their virtual addresses.
class LoadedCodeObject {
 public:
  explicit LoadedCodeObject(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    std::vector<char> file((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    if (file.size() < sizeof(Elf64_Ehdr)) return;
    Elf64_Ehdr eh;
    memcpy(&eh, file.data(), sizeof(eh));
    uint64_t span = 0;
    std::vector<Elf64_Phdr> loads;
    for (int i = 0; i < eh.e_phnum; ++i) {
      Elf64_Phdr ph;
      memcpy(&ph, file.data() + eh.e_phoff + i * sizeof(ph), sizeof(ph));
      if (ph.p_type != PT_LOAD) continue;
      loads.push_back(ph);
      span = std::max<uint64_t>(span, ph.p_vaddr + ph.p_memsz);
    }
    size_ = (span + 4095) / 4096 * 4096 + 4096 * 4;  // room to place the image mid-allocation
    raw_ = static_cast<uint8_t*>(aligned_alloc(4096, size_));
    memset(raw_, 0, size_);
    base_ = raw_ + 4096 * 2;  // pages before the ELF header hold nothing: the scan passes them
    for (const auto& ph : loads) memcpy(base_ + ph.p_vaddr, file.data() + ph.p_offset, ph.p_filesz);
    // Kernel descriptors from the file's section symbol table.
    Elf64_Shdr sh;
    for (int i = 0; i < eh.e_shnum; ++i) {
      memcpy(&sh, file.data() + eh.e_shoff + i * sizeof(sh), sizeof(sh));
      if (sh.sh_type != SHT_DYNSYM) continue;
      Elf64_Shdr str;
      memcpy(&str, file.data() + eh.e_shoff + sh.sh_link * sizeof(str), sizeof(str));
      for (uint64_t off = sizeof(Elf64_Sym); off < sh.sh_size; off += sizeof(Elf64_Sym)) {
        Elf64_Sym sym;
        memcpy(&sym, file.data() + sh.sh_offset + off, sizeof(sym));
        std::string name = file.data() + str.sh_offset + sym.st_name;
        if (name.size() > 3 && name.compare(name.size() - 3, 3, ".kd") == 0) {
          kds_[name.substr(0, name.size() - 3)] = reinterpret_cast<uint64_t>(base_ + sym.st_value);
        }
      }
    }
  }
  ~LoadedCodeObject() { free(raw_); }
  uint64_t Kd(const std::string& name) const {
    auto it = kds_.find(name);
    return it == kds_.end() ? 0 : it->second;
  }
  size_t kernels() const { return kds_.size(); }

 private:
  uint8_t* raw_ = nullptr;
  uint8_t* base_ = nullptr;
  size_t size_ = 0;
  std::map<std::string, uint64_t> kds_;
};

hsa_kernel_dispatch_packet_t Packet(uint64_t kd, void* kernarg, uint32_t grid) {
  hsa_kernel_dispatch_packet_t d{};
  d.setup = 1;
  d.workgroup_size_x = d.workgroup_size_y = d.workgroup_size_z = 1;
  d.grid_size_x = grid;
  d.grid_size_y = d.grid_size_z = 1;
  d.kernel_object = kd;
  d.kernarg_address = kernarg;
  return d;
}

Params TestParams() {
  Params p;
  p.blit_bytes_per_us = 1000;  // 1 byte per ns: the cost equals the byte count
  return p;
}

TEST(HipBlitTest, FindsKernelNamesFromDescriptors) {
  LoadedCodeObject co(BLIT_STUB_HSACO);
  ASSERT_EQ(co.kernels(), 4u);
  char name[128];
  ASSERT_TRUE(KernelNameOfDescriptor(co.Kd("__amd_rocclr_copyBuffer"), name, sizeof(name)));
  EXPECT_STREQ(name, "__amd_rocclr_copyBuffer");
  ASSERT_TRUE(KernelNameOfDescriptor(co.Kd("__amd_rocclr_fillBufferAligned"), name, sizeof(name)));
  EXPECT_STREQ(name, "__amd_rocclr_fillBufferAligned");
  // Not a descriptor address: no symbol there.
  EXPECT_FALSE(KernelNameOfDescriptor(co.Kd("__amd_rocclr_copyBuffer") + 8, name, sizeof(name)));
}

TEST(HipBlitTest, FillAlignedWritesPatternAtElementOffset) {
  LoadedCodeObject co(BLIT_STUB_HSACO);
  alignas(16) uint8_t dst[64] = {};
  alignas(8) uint8_t pattern[8] = {1, 2, 3, 4, 5, 6, 7, 8};
  // u32 buffer, pattern of 2 elements (8 bytes), offset 2 elements, 3 repetitions; grid larger.
  uint64_t args[8] = {0, 0, reinterpret_cast<uint64_t>(dst), 0, reinterpret_cast<uint64_t>(pattern),
                      2, 2, 3};
  auto d = Packet(co.Kd("__amd_rocclr_fillBufferAligned"), args, 256);
  KernelWork work;
  Effect e;
  Params prm = TestParams();
  ASSERT_TRUE(RecogniseHipBlit(d, prm, &work, &e));
  EXPECT_EQ(e.kind, Effect::kPatternFill);
  EXPECT_EQ(e.c, 24u);
  EXPECT_EQ(work.workgroups, 1u);
  EXPECT_EQ(work.workgroup_ns, 24u);
  ApplyPatternFill(e);
  for (int i = 0; i < 64; ++i) {
    uint8_t want = (i >= 8 && i < 32) ? pattern[(i - 8) % 8] : 0;
    EXPECT_EQ(dst[i], want) << "byte " << i;
  }
}

TEST(HipBlitTest, FillLimitedByGrid) {
  LoadedCodeObject co(BLIT_STUB_HSACO);
  uint8_t dst[16] = {};
  uint8_t pattern = 0x5a;
  uint64_t args[8] = {reinterpret_cast<uint64_t>(dst), 0, 0, 0,
                      reinterpret_cast<uint64_t>(&pattern), 1, 0, 100};
  auto d = Packet(co.Kd("__amd_rocclr_fillBufferAligned"), args, 5);  // only 5 work-items
  KernelWork work;
  Effect e;
  ASSERT_TRUE(RecogniseHipBlit(d, TestParams(), &work, &e));
  EXPECT_EQ(e.c, 5u);
}

TEST(HipBlitTest, CopyBufferDwordsPlusRemainder) {
  LoadedCodeObject co(BLIT_STUB_HSACO);
  uint8_t src[32], dst[32] = {};
  for (int i = 0; i < 32; ++i) src[i] = static_cast<uint8_t>(i + 1);
  // src+1 -> dst+2; size 5 work-items, remain 3: 4 dwords + 3 bytes = 19 bytes.
  uint64_t args[6] = {reinterpret_cast<uint64_t>(src), reinterpret_cast<uint64_t>(dst), 1, 2, 5, 3};
  auto d = Packet(co.Kd("__amd_rocclr_copyBuffer"), args, 64);
  KernelWork work;
  Effect e;
  ASSERT_TRUE(RecogniseHipBlit(d, TestParams(), &work, &e));
  EXPECT_EQ(e.kind, Effect::kCopy);
  EXPECT_EQ(e.a, reinterpret_cast<uint64_t>(dst + 2));
  EXPECT_EQ(e.b, reinterpret_cast<uint64_t>(src + 1));
  EXPECT_EQ(e.c, 19u);
  // remain 8: a byte copy of `size` bytes.
  args[5] = 8;
  ASSERT_TRUE(RecogniseHipBlit(d, TestParams(), &work, &e));
  EXPECT_EQ(e.c, 5u);
}

TEST(HipBlitTest, CopyAlignedUsesElementUnits) {
  LoadedCodeObject co(BLIT_STUB_HSACO);
  alignas(16) uint8_t src[128], dst[128];
  uint64_t args[6] = {reinterpret_cast<uint64_t>(src), reinterpret_cast<uint64_t>(dst), 1, 2, 3, 16};
  auto d = Packet(co.Kd("__amd_rocclr_copyBufferAligned"), args, 64);
  KernelWork work;
  Effect e;
  ASSERT_TRUE(RecogniseHipBlit(d, TestParams(), &work, &e));
  EXPECT_EQ(e.a, reinterpret_cast<uint64_t>(dst + 32));
  EXPECT_EQ(e.b, reinterpret_cast<uint64_t>(src + 16));
  EXPECT_EQ(e.c, 48u);
  args[5] = 4;  // dwords
  ASSERT_TRUE(RecogniseHipBlit(d, TestParams(), &work, &e));
  EXPECT_EQ(e.a, reinterpret_cast<uint64_t>(dst + 8));
  EXPECT_EQ(e.c, 12u);
}

TEST(HipBlitTest, OtherKernelsAreNotBlits) {
  LoadedCodeObject blit(BLIT_STUB_HSACO);
  LoadedCodeObject spin(SPIN_HSACO);
  uint64_t args[8] = {};
  KernelWork work;
  Effect e;
  // A ROCclr kernel that is not emulated, the project's spin kernel, and a bogus address.
  EXPECT_FALSE(RecogniseHipBlit(Packet(blit.Kd("__amd_rocclr_streamOpsWrite"), args, 1),
                                TestParams(), &work, &e));
  ASSERT_NE(spin.Kd("hsapreempt_spin"), 0u);
  EXPECT_FALSE(RecogniseHipBlit(Packet(spin.Kd("hsapreempt_spin"), args, 1), TestParams(), &work,
                                &e));
  EXPECT_FALSE(RecogniseHipBlit(Packet(0x1000, args, 1), TestParams(), &work, &e));
  EXPECT_EQ(e.kind, Effect::kNone);
}

}  // namespace
}  // namespace simdev
