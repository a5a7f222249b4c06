// hsa_layer_prog modes besides `stress` (stress_main.cpp): nogpu, destroy-held, fork, api.
#include <dlfcn.h>
#include <sys/wait.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "hsapreempt/hsapreempt.h"
#include "tests/hsa_layer/prog.h"

namespace hsapreempt::hsalayer_test {

using namespace hsapreempt::testsupport;

bool Setup(HsaSystem* sys, Kernel* kernel) {
  hsa_status_t st = InitHsa(sys);
  if (st != HSA_STATUS_SUCCESS) {
    std::printf("FAIL hsa init: %s\n", LastError().c_str());
    return false;
  }
  st = LoadSpinKernel(*sys, kernel);
  if (st != HSA_STATUS_SUCCESS) {
    std::printf("FAIL spin kernel: %s\n", LastError().c_str());
    return false;
  }
  return true;
}

namespace {

hsa_queue_t* CreateQueue(const HsaSystem& sys, uint32_t size) {
  hsa_queue_t* q = nullptr;
  if (hsa_queue_create(sys.gpu, size, HSA_QUEUE_TYPE_MULTI, nullptr, nullptr, UINT32_MAX,
                       UINT32_MAX, &q) != HSA_STATUS_SUCCESS) {
    return nullptr;
  }
  return q;
}

// Submits `count` barrier-bit kernels of `ns` each on q, all completing one signal; returns it.
hsa_signal_t SubmitBatch(const HsaSystem& sys, const Kernel& k, hsa_queue_t* q, int count,
                         uint64_t ns, KernargRing* ring, uint64_t* done = nullptr) {
  hsa_signal_t sig{0};
  hsa_signal_create(count, 0, nullptr, &sig);
  for (int i = 0; i < count; ++i) {
    void* ka = ring->Next();
    FillSpinArgs(ka, k.kernarg_size, ns, i, done, static_cast<uint64_t>(i + 1));
    DispatchConfig dc;
    dc.barrier = true;
    dc.completion = sig;
    SubmitDispatch(q, k, ka, dc);
  }
  return sig;
}

// Just hsa_init / hsa_shut_down: a program that never touches the GPU.
int RunNoGpu(const Args&) {
  hsa_status_t st = hsa_init();
  if (st != HSA_STATUS_SUCCESS) {
    // Expected when the runtime cannot start (no device): the program carries on.
    std::printf("PASS hsa_init failed cleanly (status 0x%x)\n", st);
    return 0;
  }
  st = hsa_shut_down();
  std::printf("%s init/shutdown\n", st == HSA_STATUS_SUCCESS ? "PASS" : "FAIL");
  return st == HSA_STATUS_SUCCESS ? 0 : 1;
}

// Destroys queues that still hold packets (a small ring, long kernels), then checks a new queue
// still works, several rounds.
int RunDestroyHeld(const Args& args) {
  HsaSystem sys;
  Kernel k;
  if (!Setup(&sys, &k)) return 1;
  KernargRing ring;
  ring.Init(sys, 4096, k.kernarg_size);
  const uint32_t size = static_cast<uint32_t>(args.Int("queue-size", 64));
  for (int round = 0; round < args.Int("rounds", 5); ++round) {
    hsa_queue_t* q = CreateQueue(sys, size);
    if (q == nullptr) {
      std::printf("FAIL queue create\n");
      return 1;
    }
    // 100 us kernels, `size` of them: beyond the default Level-1 threshold, so some are held.
    hsa_signal_t sig = SubmitBatch(sys, k, q, static_cast<int>(size), 100000, &ring);
    if (hsa_queue_destroy(q) != HSA_STATUS_SUCCESS) {
      std::printf("FAIL destroy with held packets\n");
      return 1;
    }
    hsa_signal_destroy(sig);
  }
  hsa_queue_t* q = CreateQueue(sys, size);
  uint64_t* done = static_cast<uint64_t*>(AllocAccessible(sys, sys.fine_pool, 64));
  *done = 0;
  hsa_signal_t sig = SubmitBatch(sys, k, q, 40, 1000, &ring, done);
  bool ok = WaitSignalBelow(sig, 1, 60) && *done == 40;
  hsa_signal_destroy(sig);
  hsa_queue_destroy(q);
  std::printf("%s destroy-held then fresh queue ran %llu/40\n", ok ? "PASS" : "FAIL",
              static_cast<unsigned long long>(*done));
  UnloadKernel(&k);
  ShutdownHsa();
  return ok ? 0 : 1;
}

// Forks while a queue is busy. The child either exits at once (its exit handlers must not hang or
// touch the parent's queues) or execs this program's `stress` mode, which loads the tool afresh.
// The parent keeps submitting and checks its work completes.
int RunFork(const Args& args, const char* self) {
  HsaSystem sys;
  Kernel k;
  if (!Setup(&sys, &k)) return 1;
  KernargRing ring;
  ring.Init(sys, 4096, k.kernarg_size);
  hsa_queue_t* q = CreateQueue(sys, 64);
  if (q == nullptr) {
    std::printf("FAIL queue create\n");
    return 1;
  }
  uint64_t* done = static_cast<uint64_t*>(AllocAccessible(sys, sys.fine_pool, 64));
  *done = 0;
  hsa_signal_t sig = SubmitBatch(sys, k, q, 200, 20000, &ring, done);
  const bool exec = args.Str("exec", "0") == "1";
  pid_t pid = fork();
  if (pid == 0) {
    // Watchdog (kept across exec): a child that hangs - in the tool's exit handlers, say - is
    // killed by SIGALRM and reported as such instead of holding the test until ctest's timeout.
    alarm(120);
    if (exec) {
      execl(self, self, "stress", "--threads", "2", "--packets", "500", "--queues", "2",
            "--queue-size", "64", "--dep-every", "10", static_cast<char*>(nullptr));
      _exit(127);
    }
    std::exit(0);  // runs atexit handlers, including the tool's
  }
  if (pid < 0) {
    std::printf("FAIL fork: %s\n", std::strerror(errno));
    return 1;
  }
  bool ok = WaitSignalBelow(sig, 1, 60) && *done == 200;
  // More work after the fork.
  *done = 0;
  hsa_signal_t sig2 = SubmitBatch(sys, k, q, 100, 1000, &ring, done);
  ok = ok && WaitSignalBelow(sig2, 1, 60) && *done == 100;
  int status = 0;
  waitpid(pid, &status, 0);
  const bool child_ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
  hsa_signal_destroy(sig);
  hsa_signal_destroy(sig2);
  hsa_queue_destroy(q);
  std::printf("%s fork%s: parent work %s, child exit %d%s\n", ok && child_ok ? "PASS" : "FAIL",
              exec ? "+exec" : "", ok ? "complete" : "INCOMPLETE",
              WIFEXITED(status) ? WEXITSTATUS(status) : -1,
              WIFSIGNALED(status) && WTERMSIG(status) == SIGALRM ? " (hung: killed by its watchdog)"
              : WIFSIGNALED(status) ? " (killed by a signal)" : "");
  UnloadKernel(&k);
  ShutdownHsa();
  return ok && child_ok ? 0 : 1;
}

// The public C API through dlsym: prints what each call returned.
int RunApi(const Args&) {
  HsaSystem sys;
  Kernel k;
  if (!Setup(&sys, &k)) return 1;
  auto version = reinterpret_cast<hsapreempt_version_fn>(dlsym(RTLD_DEFAULT, HSAPREEMPT_VERSION_NAME));
  auto prio = reinterpret_cast<hsapreempt_queue_set_priority_fn>(
      dlsym(RTLD_DEFAULT, HSAPREEMPT_QUEUE_SET_PRIORITY_NAME));
  auto weight = reinterpret_cast<hsapreempt_queue_set_weight_fn>(
      dlsym(RTLD_DEFAULT, HSAPREEMPT_QUEUE_SET_WEIGHT_NAME));
  auto deadline = reinterpret_cast<hsapreempt_queue_set_deadline_us_fn>(
      dlsym(RTLD_DEFAULT, HSAPREEMPT_QUEUE_SET_DEADLINE_US_NAME));
  hsa_queue_t* q = CreateQueue(sys, 64);
  if (q == nullptr) {
    std::printf("FAIL queue create\n");
    return 1;
  }
  if (!version || !prio || !weight || !deadline) {
    std::printf("PASS api=absent\n");
  } else {
    hsa_queue_t bogus{};
    std::printf("PASS api=present version=%d prio=%d prio_bad=%d prio_unknown=%d weight=%d "
                "weight_bad=%d deadline=%d deadline_bad=%d\n",
                version(), prio(q, 80), prio(q, 100), prio(&bogus, 10), weight(q, 3),
                weight(q, 0), deadline(q, 500), deadline(q, 60000001));
  }
  // The queue still works, and the AMD queue calls map to the hardware queue.
  KernargRing ring;
  ring.Init(sys, 256, k.kernarg_size);
  uint64_t* done = static_cast<uint64_t*>(AllocAccessible(sys, sys.fine_pool, 64));
  *done = 0;
  uint32_t mask[2] = {0xffffffffu, 0xffffffffu};
  hsa_status_t cu = hsa_amd_queue_cu_set_mask(q, 64, mask);
  hsa_status_t pr = hsa_amd_queue_set_priority(q, HSA_AMD_QUEUE_PRIORITY_HIGH);
  hsa_signal_t sig = SubmitBatch(sys, k, q, 20, 1000, &ring, done);
  bool ok = WaitSignalBelow(sig, 1, 60) && *done == 20;
  std::printf("%s queue_ops cu_mask=%d set_priority=%d ran=%llu\n", ok ? "PASS" : "FAIL", cu, pr,
              static_cast<unsigned long long>(*done));
  hsa_signal_destroy(sig);
  hsa_queue_destroy(q);
  UnloadKernel(&k);
  ShutdownHsa();
  return ok ? 0 : 1;
}

// A malformed dispatch (0 dimensions) makes the device stop the queue and ROCr report the error:
// the application's callback must receive the queue it created and its own data pointer.
struct ErrorSeen {
  std::atomic<int> calls{0};
  std::atomic<hsa_queue_t*> queue{nullptr};
  std::atomic<hsa_status_t> status{HSA_STATUS_SUCCESS};
};

void OnQueueError(hsa_status_t status, hsa_queue_t* source, void* data) {
  auto* seen = static_cast<ErrorSeen*>(data);
  seen->status = status;
  seen->queue = source;
  seen->calls.fetch_add(1);
}

int RunErrorCallback(const Args&) {
  HsaSystem sys;
  Kernel k;
  if (!Setup(&sys, &k)) return 1;
  static ErrorSeen seen;  // outlives the queue (ROCr may call back until destroy)
  hsa_queue_t* q = nullptr;
  if (hsa_queue_create(sys.gpu, 64, HSA_QUEUE_TYPE_MULTI, OnQueueError, &seen, UINT32_MAX,
                       UINT32_MAX, &q) != HSA_STATUS_SUCCESS) {
    std::printf("FAIL queue create\n");
    return 1;
  }
  KernargRing ring;
  ring.Init(sys, 16, k.kernarg_size);
  void* ka = ring.Next();
  FillSpinArgs(ka, k.kernarg_size, 1000, 0);
  DispatchConfig dc;
  dc.ring_doorbell = false;
  uint64_t index = SubmitDispatch(q, k, ka, dc);
  auto* packet = static_cast<hsa_kernel_dispatch_packet_t*>(q->base_address) + (index % q->size);
  // Rewrite the published header+setup word with 0 dimensions, then ring.
  uint16_t header = packet->header;
  __atomic_store_n(reinterpret_cast<uint32_t*>(packet), uint32_t{header}, __ATOMIC_RELEASE);
  RingDoorbell(q, index);
  for (int i = 0; i < 1000 && seen.calls.load() == 0; ++i) usleep(10000);
  const bool ok = seen.calls.load() >= 1 && seen.queue.load() == q;
  std::printf("%s error callback calls=%d same_queue=%d status=0x%x\n", ok ? "PASS" : "FAIL",
              seen.calls.load(), seen.queue.load() == q ? 1 : 0,
              static_cast<unsigned>(seen.status.load()));
  std::fflush(stdout);
  hsa_queue_destroy(q);
  UnloadKernel(&k);
  ShutdownHsa();
  return ok ? 0 : 1;
}

// hsa_shut_down then hsa_init again: ROCr unloads and reloads the tool (OnUnload, OnLoad); the
// second life must schedule queues again.
int RunReinit(const Args&) {
  int ran_total = 0;
  for (int life = 0; life < 2; ++life) {
    HsaSystem sys;
    Kernel k;
    if (!Setup(&sys, &k)) return 1;
    hsa_queue_t* q = CreateQueue(sys, 64);
    if (q == nullptr) {
      std::printf("FAIL queue create in life %d\n", life);
      return 1;
    }
    auto prio = reinterpret_cast<hsapreempt_queue_set_priority_fn>(
        dlsym(RTLD_DEFAULT, HSAPREEMPT_QUEUE_SET_PRIORITY_NAME));
    const int prio_rc = prio ? prio(q, 70) : -999;
    KernargRing ring;
    ring.Init(sys, 256, k.kernarg_size);
    uint64_t* done = static_cast<uint64_t*>(AllocAccessible(sys, sys.fine_pool, 64));
    *done = 0;
    hsa_signal_t sig = SubmitBatch(sys, k, q, 50, 1000, &ring, done);
    const bool ok = WaitSignalBelow(sig, 1, 60) && *done == 50;
    ran_total += ok ? 50 : 0;
    std::printf("life%d prio=%d ran=%llu\n", life, prio_rc, static_cast<unsigned long long>(*done));
    hsa_signal_destroy(sig);
    hsa_queue_destroy(q);
    FreeMemory(done);
    UnloadKernel(&k);
    ShutdownHsa();
  }
  std::printf("%s reinit ran=%d\n", ran_total == 100 ? "PASS" : "FAIL", ran_total);
  return ran_total == 100 ? 0 : 1;
}

// Leaves queues full of held, long work behind: `--how exit` calls exit() at once, `--how
// shutdown` calls hsa_shut_down() without destroying the queues first. Either must end promptly.
int RunLeaveHeld(const Args& args) {
  HsaSystem sys;
  Kernel k;
  if (!Setup(&sys, &k)) return 1;
  KernargRing ring;
  ring.Init(sys, 8 * 64 + 8, k.kernarg_size);
  for (int i = 0; i < 8; ++i) {
    hsa_queue_t* q = CreateQueue(sys, 64);
    if (q == nullptr) {
      std::printf("FAIL queue create\n");
      return 1;
    }
    SubmitBatch(sys, k, q, 64, 1000000, &ring);  // 64 x 1 ms each: mostly held
  }
  if (args.Str("how", "exit") == "shutdown") {
    hsa_status_t st = hsa_shut_down();
    std::printf("%s left held work, hsa_shut_down status 0x%x\n",
                st == HSA_STATUS_SUCCESS ? "PASS" : "FAIL", st);
    return st == HSA_STATUS_SUCCESS ? 0 : 1;
  }
  std::printf("PASS left held work, exiting\n");
  std::fflush(stdout);
  std::exit(0);
}

// Threads create, use and destroy queues concurrently (the registry, the doorbell set and the
// record pool under churn, with real ROCr): each round submits 20 kernels, checks all ran, and
// pokes the queue-taking APIs before destroying the queue.
int RunChurn(const Args& args) {
  HsaSystem sys;
  Kernel k;
  if (!Setup(&sys, &k)) return 1;
  const int threads = args.Int("threads", 4), rounds = args.Int("rounds", 25);
  auto prio = reinterpret_cast<hsapreempt_queue_set_priority_fn>(
      dlsym(RTLD_DEFAULT, HSAPREEMPT_QUEUE_SET_PRIORITY_NAME));
  std::atomic<int> failures{0}, ran{0};
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      KernargRing ring;
      ring.Init(sys, 64, k.kernarg_size);
      auto* done = static_cast<uint64_t*>(AllocAccessible(sys, sys.fine_pool, 64));
      for (int r = 0; r < rounds; ++r) {
        hsa_queue_t* q = CreateQueue(sys, 64);
        if (q == nullptr) {
          ++failures;
          return;
        }
        if (prio) prio(q, (t * 13 + r) % 100);
        hsa_amd_queue_set_priority(q, r % 2 ? HSA_AMD_QUEUE_PRIORITY_LOW : HSA_AMD_QUEUE_PRIORITY_HIGH);
        *done = 0;
        hsa_signal_t sig = SubmitBatch(sys, k, q, 20, 1000, &ring, done);
        if (!WaitSignalBelow(sig, 1, 60) || *done != 20) ++failures;
        else ++ran;
        hsa_signal_destroy(sig);
        if (hsa_queue_destroy(q) != HSA_STATUS_SUCCESS) ++failures;
      }
      FreeMemory(done);
    });
  }
  for (auto& th : pool) th.join();
  const bool ok = failures.load() == 0 && ran.load() == threads * rounds;
  std::printf("%s churn threads=%d rounds=%d ran=%d failures=%d\n", ok ? "PASS" : "FAIL", threads,
              rounds, ran.load(), failures.load());
  UnloadKernel(&k);
  ShutdownHsa();
  return ok ? 0 : 1;
}

Args Parse(int argc, char** argv) {
  Args a;
  for (int i = 2; i + 1 < argc; i += 2) {
    if (std::strncmp(argv[i], "--", 2) == 0) a.values[argv[i] + 2] = argv[i + 1];
  }
  return a;
}

}  // namespace
}  // namespace hsapreempt::hsalayer_test

int main(int argc, char** argv) {
  using namespace hsapreempt::hsalayer_test;
  setvbuf(stdout, nullptr, _IOLBF, 0);
  if (argc < 2) {
    std::fprintf(stderr, "usage: hsa_layer_prog stress|nogpu|destroy-held|fork|api [--flag v]...\n");
    return 2;
  }
  const std::string mode = argv[1];
  Args args = Parse(argc, argv);
  if (mode == "stress") return RunStress(args);
  if (mode == "nogpu") return RunNoGpu(args);
  if (mode == "destroy-held") return RunDestroyHeld(args);
  if (mode == "fork") return RunFork(args, argv[0]);
  if (mode == "api") return RunApi(args);
  if (mode == "error-callback") return RunErrorCallback(args);
  if (mode == "reinit") return RunReinit(args);
  if (mode == "leave-held") return RunLeaveHeld(args);
  if (mode == "churn") return RunChurn(args);
  std::fprintf(stderr, "unknown mode %s\n", mode.c_str());
  return 2;
}
