// Malformed packets under the real ROCr: each stops only its own queue, reaches the application's
// queue error callback with the status ROCr derives from the CP's error code, is recorded in the
// device trace, and never takes the process down.
#include <dlfcn.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>
#include <functional>

#include "hsapreempt/sim_device.h"
#include "tests/simdev_integration/hsa_env.h"

namespace {

struct ErrorSeen {
  int calls = 0;
  hsa_status_t status = HSA_STATUS_SUCCESS;
};

void OnQueueError(hsa_status_t status, hsa_queue_t*, void* data) {
  auto* seen = static_cast<ErrorSeen*>(data);
  __atomic_store_n(&seen->status, status, __ATOMIC_RELAXED);
  __atomic_add_fetch(&seen->calls, 1, __ATOMIC_RELEASE);
}

using Writer = std::function<void(hsa_queue_t*, simtest::HsaEnv&)>;

struct Case {
  const char* name;
  hsa_status_t expected;
  Writer write;
};

// Writes raw packet bytes (header last) into the next slot and rings the doorbell.
void WriteRaw(hsa_queue_t* q, const uint8_t* bytes64) {
  uint64_t idx = hsa_queue_add_write_index_scacq_screl(q, 1);
  uint8_t* slot = static_cast<uint8_t*>(q->base_address) + (idx & (q->size - 1)) * 64;
  memcpy(slot + 4, bytes64 + 4, 60);
  uint32_t first;
  memcpy(&first, bytes64, 4);
  __atomic_store_n(reinterpret_cast<uint32_t*>(slot), first, __ATOMIC_RELEASE);
  hsa_signal_store_screlease(q->doorbell_signal, idx);
}

class ErrorPathsTest : public ::testing::TestWithParam<Case> {
 protected:
  void SetUp() override { ASSERT_EQ(env_.Init(), HSA_STATUS_SUCCESS); }
  void TearDown() override { env_.Shutdown(); }
  simtest::HsaEnv env_;
};

TEST_P(ErrorPathsTest, StopsTheQueueAndReportsThroughRocr) {
  const Case& c = GetParam();
  using TraceRead = size_t (*)(uint64_t*, hsapreempt_sim_event*, size_t);
  auto trace_read = reinterpret_cast<TraceRead>(dlsym(RTLD_DEFAULT, "hsapreempt_sim_trace_read"));
  ASSERT_NE(trace_read, nullptr) << "not running on the simulated thunk";
  uint64_t cursor = 0;
  hsapreempt_sim_event ev[256];
  while (trace_read(&cursor, ev, 256) > 0) {
  }

  ErrorSeen seen;
  hsa_queue_t* bad = nullptr;
  ASSERT_EQ(hsa_queue_create(env_.gpu, 64, HSA_QUEUE_TYPE_MULTI, OnQueueError, &seen, UINT32_MAX,
                             UINT32_MAX, &bad),
            HSA_STATUS_SUCCESS);
  c.write(bad, env_);
  for (int i = 0; i < 500 && __atomic_load_n(&seen.calls, __ATOMIC_ACQUIRE) == 0; ++i) {
    usleep(10000);
  }
  EXPECT_EQ(__atomic_load_n(&seen.calls, __ATOMIC_ACQUIRE), 1);
  EXPECT_EQ(seen.status, c.expected);
  EXPECT_EQ(hsa_queue_load_read_index_scacquire(bad), 0u) << "the bad packet was consumed";

  bool traced = false;
  for (size_t n; (n = trace_read(&cursor, ev, 256)) > 0;) {
    for (size_t i = 0; i < n; ++i) {
      if (ev[i].kind == HSAPREEMPT_SIM_EV_QUEUE_ERROR && ev[i].pid == uint32_t(getpid())) {
        traced = true;
        EXPECT_EQ(ev[i].value, uint64_t(c.expected));
      }
    }
  }
  EXPECT_TRUE(traced) << "no HSAPREEMPT_SIM_EV_QUEUE_ERROR in the device trace";

  // Another queue of the same process still runs.
  hsa_queue_t* good = nullptr;
  ASSERT_EQ(hsa_queue_create(env_.gpu, 64, HSA_QUEUE_TYPE_MULTI, nullptr, nullptr, UINT32_MAX,
                             UINT32_MAX, &good),
            HSA_STATUS_SUCCESS);
  auto* args = static_cast<hsapreempt_kernel_args*>(env_.Alloc(sizeof(hsapreempt_kernel_args)));
  simtest::SetArgs(args, 1000);
  hsa_signal_t done;
  ASSERT_EQ(hsa_signal_create(1, 0, nullptr, &done), HSA_STATUS_SUCCESS);
  simtest::SubmitDispatch(good, env_.fake_kernel, args, 1, done);
  EXPECT_TRUE(simtest::WaitZero(done));
  hsa_signal_destroy(done);
  hsa_queue_destroy(good);
  hsa_queue_destroy(bad);
}

hsa_kernel_dispatch_packet_t ValidDispatch(simtest::HsaEnv& env) {
  hsa_kernel_dispatch_packet_t p{};
  p.header = simtest::Header(HSA_PACKET_TYPE_KERNEL_DISPATCH, false);
  p.setup = 1;
  p.workgroup_size_x = p.workgroup_size_y = p.workgroup_size_z = 1;
  p.grid_size_x = p.grid_size_y = p.grid_size_z = 1;
  p.kernel_object = env.fake_kernel;
  p.kernarg_address = env.Alloc(64);
  return p;
}

const Case kCases[] = {
    {"NullKernelObject", HSA_STATUS_ERROR_INVALID_CODE_OBJECT,
     [](hsa_queue_t* q, simtest::HsaEnv& env) {
       auto p = ValidDispatch(env);
       p.kernel_object = 0;
       WriteRaw(q, reinterpret_cast<uint8_t*>(&p));
     }},
    {"UnmappedKernelObject", HSA_STATUS_ERROR_INVALID_CODE_OBJECT,
     [](hsa_queue_t* q, simtest::HsaEnv& env) {
       auto p = ValidDispatch(env);
       p.kernel_object = 0x10;  // first page: never mapped
       WriteRaw(q, reinterpret_cast<uint8_t*>(&p));
     }},
    {"ZeroWorkgroupSize", HSA_STATUS_ERROR_INCOMPATIBLE_ARGUMENTS,
     [](hsa_queue_t* q, simtest::HsaEnv& env) {
       auto p = ValidDispatch(env);
       p.workgroup_size_y = 0;
       WriteRaw(q, reinterpret_cast<uint8_t*>(&p));
     }},
    {"AgentDispatchOnGpuQueue", HSA_STATUS_ERROR_INVALID_PACKET_FORMAT,
     [](hsa_queue_t* q, simtest::HsaEnv& env) {
       uint8_t raw[64] = {};
       uint16_t h = simtest::Header(HSA_PACKET_TYPE_AGENT_DISPATCH, false);
       memcpy(raw, &h, 2);
       WriteRaw(q, raw);
     }},
    {"UnknownPacketType", HSA_STATUS_ERROR_INVALID_PACKET_FORMAT,
     [](hsa_queue_t* q, simtest::HsaEnv& env) {
       uint8_t raw[64] = {};
       raw[0] = 0x77;
       WriteRaw(q, raw);
     }},
    {"UnknownVendorFormat", HSA_STATUS_ERROR_INVALID_PACKET_FORMAT,
     [](hsa_queue_t* q, simtest::HsaEnv& env) {
       uint8_t raw[64] = {};
       uint16_t h = simtest::Header(HSA_PACKET_TYPE_VENDOR_SPECIFIC, false);
       memcpy(raw, &h, 2);
       raw[2] = 0x42;
       WriteRaw(q, raw);
     }},
    {"UnreadableBarrierDependency", hsa_status_t(HSA_STATUS_ERROR_MEMORY_APERTURE_VIOLATION),
     [](hsa_queue_t* q, simtest::HsaEnv& env) {
       hsa_barrier_and_packet_t b{};
       b.header = simtest::Header(HSA_PACKET_TYPE_BARRIER_AND, false);
       b.dep_signal[0].handle = 0xdead0000ull;  // not mapped
       WriteRaw(q, reinterpret_cast<uint8_t*>(&b));
     }},
};

INSTANTIATE_TEST_SUITE_P(Malformed, ErrorPathsTest, ::testing::ValuesIn(kCases),
                         [](const ::testing::TestParamInfo<Case>& i) { return i.param.name; });

}  // namespace
