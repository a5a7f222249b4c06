// Stand-ins with the names and parameter lists of HIP 5.2.3's (ROCclr's) buffer blit kernels, so
// the simulated CP's recogniser (simdev/cp_hip_blit.cpp) can be unit-tested without HIP: it
// identifies kernels by name and kernarg layout only, never by their code. Bodies are empty.
__kernel void __amd_rocclr_fillBufferAligned(__global uchar* b8, __global ushort* b16,
                                             __global uint* b32, __global ulong* b64,
                                             __constant uchar* pattern, uint pattern_size,
                                             ulong offset, ulong size) {}
__kernel void __amd_rocclr_copyBuffer(__global uchar* src, __global uchar* dst, ulong src_origin,
                                      ulong dst_origin, ulong size, uint remain) {}
__kernel void __amd_rocclr_copyBufferAligned(__global uint* src, __global uint* dst,
                                             ulong src_origin, ulong dst_origin, ulong size,
                                             uint alignment) {}
__kernel void __amd_rocclr_streamOpsWrite(__global uint* p32, __global ulong* p64, ulong value,
                                          ulong size) {}
