// A real HIP program (built by hipcc 5.2.3) for the integration tests: each mode exercises one
// part of HIP over the simulated device and checks its own results (bytes, order, exactly-once,
// timing), printing "PASS <mode> ..." or "FAIL <mode>: why". Exit code 0 only on PASS.
//
// Modes: memcpy | streams | mixed | timing | fork | fork-exec | destroy-pending | exit-nosync |
//        fullqueue. Spin kernels follow include/hsapreempt/sim_kernel_abi.h.
#include <hip/hip_runtime.h>
#include <sys/wait.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "hsapreempt/sim_kernel_abi.h"

// The cost convention's kernel. HIP passes the struct by value: its 64 bytes start the kernarg
// segment, HIP's hidden arguments follow (so the descriptor's kernarg size is > 64).
__global__ void hsapreempt_spin(hsapreempt_kernel_args a) {
  // Real GPUs: spin, then workgroup 0 does the effects (the simulated CP emulates both).
  const uint64_t ticks = (a.workgroup_ns + 9) / 10;
  const uint64_t start = __builtin_amdgcn_s_memrealtime();
  while (__builtin_amdgcn_s_memrealtime() - start < ticks) __builtin_amdgcn_s_sleep(1);
  if (blockIdx.x != 0 || threadIdx.x != 0) return;
  if (a.order_counter) {
    uint32_t t = atomicAdd(a.order_counter, 1u);
    if (a.order_slot) *a.order_slot = t;
  }
  if (a.done_ptr) *a.done_ptr = a.done_value;
  __threadfence_system();
}

namespace {

const char* g_mode = "";
int g_failures = 0;

#define CHECK_HIP(call)                                                            \
  do {                                                                             \
    hipError_t e_ = (call);                                                        \
    if (e_ != hipSuccess) {                                                        \
      printf("FAIL %s: %s -> %s (line %d)\n", g_mode, #call, hipGetErrorString(e_), \
             __LINE__);                                                            \
      fflush(stdout);                                                              \
      _exit(1);                                                                    \
    }                                                                              \
  } while (0)

void Fail(const std::string& why) {
  printf("FAIL %s: %s\n", g_mode, why.c_str());
  ++g_failures;
}

// Host-visible, zeroed memory the CP (or a real GPU) writes effects into.
template <typename T>
T* HostBuf(size_t n) {
  void* p = nullptr;
  CHECK_HIP(hipHostMalloc(&p, n * sizeof(T), hipHostMallocCoherent));
  memset(p, 0, n * sizeof(T));
  return static_cast<T*>(p);
}

void Spin(hipStream_t s, uint64_t ns, uint32_t* counter, uint32_t* slot, uint64_t* done = nullptr,
          uint64_t done_value = 1, unsigned blocks = 1) {
  hsapreempt_kernel_args a{};
  a.magic = HSAPREEMPT_KERNEL_MAGIC;
  a.workgroup_ns = ns;
  a.done_ptr = done;
  a.done_value = done_value;
  a.order_counter = counter;
  a.order_slot = slot;
  hipLaunchKernelGGL(hsapreempt_spin, dim3(blocks), dim3(64), 0, s, a);
  CHECK_HIP(hipGetLastError());
}

// H2D, D2D, memset, D2H across three streams ordered only by events; every byte checked.
void Memcpy() {
  const size_t n = (1 << 20) + 13;
  std::vector<uint8_t> src(n);
  for (size_t i = 0; i < n; ++i) src[i] = static_cast<uint8_t>(i * 131 + 7);
  uint8_t* pinned = HostBuf<uint8_t>(n);
  uint8_t *a, *b;
  CHECK_HIP(hipMalloc(&a, n));
  CHECK_HIP(hipMalloc(&b, n + 64));
  hipStream_t s[3];
  hipEvent_t e[2];
  for (auto& x : s) CHECK_HIP(hipStreamCreate(&x));
  for (auto& x : e) CHECK_HIP(hipEventCreateWithFlags(&x, hipEventDisableTiming));
  // Synchronous H2D and D2H first (the plain API).
  CHECK_HIP(hipMemcpy(a, src.data(), n, hipMemcpyHostToDevice));
  std::vector<uint8_t> back(n);
  CHECK_HIP(hipMemcpy(back.data(), a, n, hipMemcpyDeviceToHost));
  if (back != src) Fail("hipMemcpy H2D/D2H round trip differs");
  // s0: a <- spin(2 ms) then memset a[0..4096) = 0xAB; e0.  s1: waits e0, b+5 <- a (D2D); e1.
  // s2: waits e1, memset b[5+100 .. +1000) = 0x3C, then D2H b+5 -> pinned. Any broken edge
  // shows as stale bytes: the copy would start before the memset it depends on.
  Spin(s[0], 2000000, nullptr, nullptr);
  CHECK_HIP(hipMemsetAsync(a, 0xAB, 4096, s[0]));
  CHECK_HIP(hipEventRecord(e[0], s[0]));
  CHECK_HIP(hipStreamWaitEvent(s[1], e[0], 0));
  CHECK_HIP(hipMemcpyAsync(b + 5, a, n, hipMemcpyDeviceToDevice, s[1]));
  CHECK_HIP(hipEventRecord(e[1], s[1]));
  CHECK_HIP(hipStreamWaitEvent(s[2], e[1], 0));
  CHECK_HIP(hipMemsetAsync(b + 5 + 100, 0x3C, 1000, s[2]));
  CHECK_HIP(hipMemcpyAsync(pinned, b + 5, n, hipMemcpyDeviceToHost, s[2]));
  CHECK_HIP(hipStreamSynchronize(s[2]));
  size_t bad = 0;
  for (size_t i = 0; i < n; ++i) {
    uint8_t want = i < 100 ? 0xAB : i < 1100 ? 0x3C : i < 4096 ? 0xAB : src[i];
    bad += pinned[i] != want;
  }
  if (bad) Fail("event-ordered copy/memset chain: " + std::to_string(bad) + " bytes wrong");
  // hipMemsetD32 and an async H2D from pageable memory.
  CHECK_HIP(hipMemsetD32(reinterpret_cast<hipDeviceptr_t>(a), 0x01020304, n / 4));
  CHECK_HIP(hipMemcpy(back.data(), a, n / 4 * 4, hipMemcpyDeviceToHost));
  for (size_t i = 0; i < n / 4; ++i) {
    uint32_t v;
    memcpy(&v, back.data() + 4 * i, 4);
    if (v != 0x01020304u) { Fail("hipMemsetD32 word " + std::to_string(i)); break; }
  }
  for (auto& x : e) CHECK_HIP(hipEventDestroy(x));
  for (auto& x : s) CHECK_HIP(hipStreamDestroy(x));
  CHECK_HIP(hipFree(a));
  CHECK_HIP(hipFree(b));
  CHECK_HIP(hipHostFree(pinned));
  if (!g_failures) printf("PASS memcpy bytes=%zu\n", n);
}

// 4 threads x 4 streams x K kernels: per-stream order and exactly-once, and a cross-stream event
// edge per thread (stream 1's first kernel after stream 0's last) checked on a global counter.
void Streams(int threads, int per_stream) {
  const int kStreams = 4;
  const int total = threads * kStreams * per_stream;
  uint32_t* counters = HostBuf<uint32_t>(threads * kStreams + 1);  // last: global
  uint32_t* slots = HostBuf<uint32_t>(total);
  uint32_t* gslots = HostBuf<uint32_t>(threads * 2);
  std::vector<std::thread> ts;
  for (int t = 0; t < threads; ++t) {
    ts.emplace_back([=] {
      hipStream_t s[kStreams];
      for (auto& x : s) CHECK_HIP(hipStreamCreateWithFlags(&x, hipStreamNonBlocking));
      hipEvent_t e;
      CHECK_HIP(hipEventCreateWithFlags(&e, hipEventDisableTiming));
      for (int k = 0; k < per_stream; ++k) {
        for (int q = 0; q < kStreams; ++q) {
          int c = t * kStreams + q;
          Spin(s[q], 20000 + 5000 * q, &counters[c], &slots[c * per_stream + k]);
        }
      }
      // Edge: s0 long kernel -> event -> s1 kernel; both tick the global counter.
      Spin(s[0], 3000000, &counters[threads * kStreams], &gslots[2 * t]);
      CHECK_HIP(hipEventRecord(e, s[0]));
      CHECK_HIP(hipStreamWaitEvent(s[1], e, 0));
      Spin(s[1], 1000, &counters[threads * kStreams], &gslots[2 * t + 1]);
      for (auto& x : s) CHECK_HIP(hipStreamSynchronize(x));
      CHECK_HIP(hipEventDestroy(e));
      for (auto& x : s) CHECK_HIP(hipStreamDestroy(x));
    });
  }
  for (auto& x : ts) x.join();
  for (int c = 0; c < threads * kStreams; ++c) {
    if (counters[c] != static_cast<uint32_t>(per_stream)) {
      Fail("stream " + std::to_string(c) + " ran " + std::to_string(counters[c]) + " of " +
           std::to_string(per_stream));
    }
    for (int k = 0; k < per_stream; ++k) {
      if (slots[c * per_stream + k] != static_cast<uint32_t>(k)) {
        Fail("stream " + std::to_string(c) + " kernel " + std::to_string(k) + " ran as ticket " +
             std::to_string(slots[c * per_stream + k]));
        break;
      }
    }
  }
  for (int t = 0; t < threads; ++t) {
    if (gslots[2 * t + 1] <= gslots[2 * t]) Fail("event edge of thread " + std::to_string(t));
  }
  if (!g_failures) printf("PASS streams kernels=%d\n", total + 2 * threads);
}

// The legacy default stream waits for, and is waited for by, blocking streams.
void Mixed() {
  uint32_t* counter = HostBuf<uint32_t>(1);
  uint32_t* slot = HostBuf<uint32_t>(4);
  hipStream_t s1, s2;
  CHECK_HIP(hipStreamCreate(&s1));
  CHECK_HIP(hipStreamCreate(&s2));
  Spin(s1, 5000000, counter, &slot[0]);      // long, on a blocking stream
  Spin(nullptr, 1000, counter, &slot[1]);    // default stream: after s1's kernel
  Spin(s2, 1000, counter, &slot[2]);         // blocking stream: after the default stream's
  Spin(hipStreamPerThread, 1000, counter, &slot[3]);
  CHECK_HIP(hipDeviceSynchronize());
  if (*counter != 4) Fail("ran " + std::to_string(*counter) + " of 4 kernels");
  if (!(slot[0] < slot[1] && slot[1] < slot[2])) {
    Fail("default-stream order: " + std::to_string(slot[0]) + "," + std::to_string(slot[1]) +
         "," + std::to_string(slot[2]));
  }
  CHECK_HIP(hipStreamDestroy(s1));
  CHECK_HIP(hipStreamDestroy(s2));
  if (!g_failures) printf("PASS mixed order=%u,%u,%u\n", slot[0], slot[1], slot[2]);
}

// CLOCK_MONOTONIC - CLOCK_MONOTONIC_RAW now, in ms (NTP slew since boot; 307 ms on the 2-core VM
// of 2026-11-21, constant over hours).
double MonotonicSkewMs() {
  timespec mono{}, raw{};
  clock_gettime(CLOCK_MONOTONIC, &mono);
  clock_gettime(CLOCK_MONOTONIC_RAW, &raw);
  return (static_cast<double>(mono.tv_sec - raw.tv_sec) * 1e3 +
          static_cast<double>(mono.tv_nsec - raw.tv_nsec) * 1e-6);
}

// hipEventElapsedTime around one kernel of known modelled duration.
//
// Two clocks meet here. The device's timestamps are ROCr 5.2.3's system clock (CLOCK_MONOTONIC_RAW;
// the simulated device uses it for every counter), but ROCclr stamps an event whose command has
// no device timestamp with its host clock, CLOCK_MONOTONIC. When that happens to one of the two
// events (rarely: seen once in ~140 runs, elapsed -279.7 ms for a 20 ms kernel), the elapsed time
// is off by exactly the skew between the clocks. Such a measurement is reported as a note and
// not judged (it says nothing about the modelled time); any other value out of range fails, and
// at least one measurement must be judged.
void Timing(double tolerance_ms) {
  hipStream_t s;
  CHECK_HIP(hipStreamCreate(&s));
  Spin(s, 1000, nullptr, nullptr);  // warm-up: code object loaded, queue created
  CHECK_HIP(hipStreamSynchronize(s));
  hipEvent_t e0, e1;
  CHECK_HIP(hipEventCreate(&e0));
  CHECK_HIP(hipEventCreate(&e1));
  const double skew_ms = MonotonicSkewMs();
  int judged = 0;
  for (double want_ms : {20.0, 50.0, 30.0}) {
    CHECK_HIP(hipEventRecord(e0, s));
    Spin(s, static_cast<uint64_t>(want_ms * 1e6), nullptr, nullptr);
    CHECK_HIP(hipEventRecord(e1, s));
    CHECK_HIP(hipEventSynchronize(e1));
    float ms = 0;
    CHECK_HIP(hipEventElapsedTime(&ms, e0, e1));
    printf("timing modelled=%.1f ms elapsed=%.3f ms\n", want_ms, ms);
    auto in_range = [&](double v) { return v >= want_ms * 0.99 && v <= want_ms + tolerance_ms; };
    if (in_range(ms)) {
      ++judged;
    } else if (skew_ms > tolerance_ms && (in_range(ms + skew_ms) || in_range(ms - skew_ms))) {
      printf("NOTE timing: elapsed %.3f ms is the modelled time shifted by the CLOCK_MONOTONIC - "
             "CLOCK_MONOTONIC_RAW skew (%.3f ms): one event carries ROCclr's host time; not "
             "judged\n", ms, skew_ms);
    } else {
      Fail("elapsed " + std::to_string(ms) + " ms for a " + std::to_string(want_ms) +
           " ms kernel");
    }
    if (judged == 2) break;  // two judged measurements are enough
  }
  if (judged == 0 && !g_failures) Fail("no measurement in a single clock domain");
  CHECK_HIP(hipEventDestroy(e0));
  CHECK_HIP(hipEventDestroy(e1));
  CHECK_HIP(hipStreamDestroy(s));
  if (!g_failures) printf("PASS timing\n");
}

// Forks after using the GPU: the child either computes on the CPU only or execs `exec_self`.
void Fork(const char* exec_self) {
  uint32_t* counter = HostBuf<uint32_t>(1);
  hipStream_t s;
  CHECK_HIP(hipStreamCreate(&s));
  for (int i = 0; i < 10; ++i) Spin(s, 100000, counter, nullptr);
  pid_t pid = fork();
  if (pid == 0) {
    alarm(120);  // watchdog, kept across exec: a hung child fails the test instead of holding it
    if (exec_self) {
      execl(exec_self, exec_self, "memcpy", static_cast<char*>(nullptr));
      _exit(127);
    }
    volatile uint64_t x = 0;
    for (int i = 0; i < 1000000; ++i) x = x + i;
    _exit(x == 499999500000ull ? 0 : 3);
  }
  for (int i = 0; i < 10; ++i) Spin(s, 100000, counter, nullptr);
  CHECK_HIP(hipStreamSynchronize(s));
  int status = 0;
  if (pid < 0 || waitpid(pid, &status, 0) != pid) {
    Fail("fork/waitpid failed");
  } else if (WIFSIGNALED(status) && WTERMSIG(status) == SIGALRM) {
    Fail("child hung: killed by its watchdog");
  } else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    Fail("child ended with status " + std::to_string(status));
  }
  if (*counter != 20) Fail("parent ran " + std::to_string(*counter) + " of 20 kernels");
  CHECK_HIP(hipStreamDestroy(s));
  if (!g_failures) printf("PASS fork%s\n", exec_self ? "-exec" : "");
}

// Destroys a stream with 50 kernels pending: every kernel still runs exactly once, and the device
// is usable afterwards.
void DestroyPending() {
  const int n = 50;
  uint32_t* counter = HostBuf<uint32_t>(1);
  uint32_t* slot = HostBuf<uint32_t>(n);
  hipStream_t s;
  CHECK_HIP(hipStreamCreate(&s));
  for (int i = 0; i < n; ++i) Spin(s, 1000000, counter, &slot[i]);
  CHECK_HIP(hipStreamDestroy(s));
  CHECK_HIP(hipDeviceSynchronize());
  hipStream_t s2;
  CHECK_HIP(hipStreamCreate(&s2));
  uint64_t* done = HostBuf<uint64_t>(1);
  Spin(s2, 1000, nullptr, nullptr, done, 77);
  CHECK_HIP(hipStreamSynchronize(s2));
  CHECK_HIP(hipStreamDestroy(s2));
  if (*counter != static_cast<uint32_t>(n)) Fail("ran " + std::to_string(*counter) + " of 50");
  for (int i = 0; i < n; ++i) {
    if (slot[i] != static_cast<uint32_t>(i)) { Fail("out of order at " + std::to_string(i)); break; }
  }
  if (*done != 77) Fail("kernel after the destroy did not run");
  if (!g_failures) printf("PASS destroy-pending\n");
}

// Leaves 20 x 5 ms of work queued and returns from main without synchronizing.
void ExitNoSync() {
  hipStream_t s;
  CHECK_HIP(hipStreamCreate(&s));
  for (int i = 0; i < 20; ++i) Spin(s, 5000000, nullptr, nullptr);
  printf("PASS exit-nosync\n");
}

// More kernels than any hardware ring holds, launched flat out on one stream.
void FullQueue(int n) {
  uint32_t* counter = HostBuf<uint32_t>(1);
  uint32_t* last = HostBuf<uint32_t>(1);
  hipStream_t s;
  CHECK_HIP(hipStreamCreate(&s));
  for (int i = 0; i < n; ++i) Spin(s, 2000, counter, last);
  CHECK_HIP(hipStreamSynchronize(s));
  CHECK_HIP(hipStreamDestroy(s));
  if (*counter != static_cast<uint32_t>(n) || *last != static_cast<uint32_t>(n - 1)) {
    Fail("ran " + std::to_string(*counter) + " of " + std::to_string(n) + ", last ticket " +
         std::to_string(*last));
  }
  if (!g_failures) printf("PASS fullqueue kernels=%d\n", n);
}

}  // namespace

int main(int argc, char** argv) {
  setvbuf(stdout, nullptr, _IOLBF, 0);
  if (argc < 2) {
    fprintf(stderr, "usage: %s MODE [N]\n", argv[0]);
    return 2;
  }
  g_mode = argv[1];
  const std::string mode = argv[1];
  const int n = argc > 2 ? atoi(argv[2]) : 0;
  int devices = 0;
  CHECK_HIP(hipGetDeviceCount(&devices));
  if (devices < 1) { Fail("no HIP device"); return 1; }
  if (mode == "memcpy") Memcpy();
  else if (mode == "streams") Streams(4, n > 0 ? n : 25);
  else if (mode == "mixed") Mixed();
  else if (mode == "timing") Timing(n > 0 ? n : 20);
  else if (mode == "fork") Fork(nullptr);
  else if (mode == "fork-exec") Fork(argv[0]);
  else if (mode == "destroy-pending") DestroyPending();
  else if (mode == "exit-nosync") { ExitNoSync(); return 0; }
  else if (mode == "fullqueue") FullQueue(n > 0 ? n : 5000);
  else { fprintf(stderr, "unknown mode %s\n", argv[1]); return 2; }
  return g_failures ? 1 : 0;
}
