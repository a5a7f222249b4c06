// The built spin code object carries the kernel descriptor symbol the header names and a 64-byte
// kernarg segment (the simulated CP recognises the convention by kernarg size >= 64).
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "hsapreempt/sim_kernel_abi.h"

namespace {

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buf;
  buf << in.rdbuf();
  return buf.str();
}

TEST(SpinCodeObjectTest, HasKernelDescriptorSymbolAndKernargSize) {
  std::string elf = ReadFile(HSAPREEMPT_SPIN_HSACO);
  ASSERT_GT(elf.size(), 64u) << HSAPREEMPT_SPIN_HSACO;
  ASSERT_EQ(elf.compare(0, 4, "\x7f" "ELF"), 0);
  EXPECT_NE(elf.find(std::string(HSAPREEMPT_SPIN_KERNEL_SYMBOL) + '\0'), std::string::npos);
  // The metadata note is msgpack: the key ".kernarg_segment_size" followed by a positive fixint.
  const std::string key = ".kernarg_segment_size";
  size_t at = elf.find(key);
  ASSERT_NE(at, std::string::npos);
  unsigned char value = static_cast<unsigned char>(elf[at + key.size()]);
  EXPECT_EQ(value, HSAPREEMPT_KERNEL_ARGS_SIZE);  // 64 encodes as positive fixint 0x40
}

}  // namespace
