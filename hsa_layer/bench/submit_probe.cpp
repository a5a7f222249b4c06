// hsapreempt-submit-probe: measures the host time an application spends submitting one AQL packet
// (reserve a slot, write the packet, publish the header, ring the doorbell) through the public HSA
// API. Run with and without HSA_TOOLS_LIB=libhsapreempt.so, the difference is the tool's added
// submission cost (`hsapreempt bench overhead`).
//
// Packets are barrier-AND packets without dependencies (no code object needed; the packet
// processor completes them at once), submitted in bursts of `--burst` (each timed individually),
// then the host waits for the burst to complete (not timed). Output: one JSON line.
//   hsapreempt-submit-probe [--packets N] [--burst B] [--queue-size S]
#include <hsa/hsa.h>
#include <hsa/hsa_ext_amd.h>
#include <time.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

uint64_t NowNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC_RAW, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + ts.tv_nsec;
}

hsa_status_t FindGpu(hsa_agent_t agent, void* data) {
  hsa_device_type_t type;
  if (hsa_agent_get_info(agent, HSA_AGENT_INFO_DEVICE, &type) == HSA_STATUS_SUCCESS &&
      type == HSA_DEVICE_TYPE_GPU) {
    *static_cast<hsa_agent_t*>(data) = agent;
    return HSA_STATUS_INFO_BREAK;
  }
  return HSA_STATUS_SUCCESS;
}

int Fail(const char* what, hsa_status_t st) {
  std::printf("{\"ok\":false,\"error\":\"%s (status 0x%x)\"}\n", what, st);
  return 1;
}

void SubmitBarrier(hsa_queue_t* q, hsa_signal_t completion) {
  const uint64_t index = hsa_queue_add_write_index_screlease(q, 1);
  while (index - hsa_queue_load_read_index_scacquire(q) >= q->size) {
  }
  auto* p = static_cast<hsa_barrier_and_packet_t*>(q->base_address) + (index & (q->size - 1));
  std::memset(reinterpret_cast<char*>(p) + 4, 0, sizeof(*p) - 4);
  p->completion_signal = completion;
  const uint16_t header = (HSA_PACKET_TYPE_BARRIER_AND << HSA_PACKET_HEADER_TYPE) |
                          (HSA_FENCE_SCOPE_SYSTEM << HSA_PACKET_HEADER_SCACQUIRE_FENCE_SCOPE) |
                          (HSA_FENCE_SCOPE_SYSTEM << HSA_PACKET_HEADER_SCRELEASE_FENCE_SCOPE);
  __atomic_store_n(reinterpret_cast<uint32_t*>(p), header, __ATOMIC_RELEASE);
  hsa_signal_store_screlease(q->doorbell_signal, static_cast<hsa_signal_value_t>(index));
}

}  // namespace

int main(int argc, char** argv) {
  long packets = 20000, burst = 32, queue_size = 4096;
  for (int i = 1; i + 1 < argc; i += 2) {
    const long v = std::atol(argv[i + 1]);
    if (!std::strcmp(argv[i], "--packets")) packets = v;
    else if (!std::strcmp(argv[i], "--burst")) burst = v;
    else if (!std::strcmp(argv[i], "--queue-size")) queue_size = v;
  }
  if (packets < 1 || burst < 1 || burst > queue_size / 2) {
    std::fprintf(stderr, "hsapreempt-submit-probe: bad arguments\n");
    return 2;
  }
  hsa_status_t st = hsa_init();
  if (st != HSA_STATUS_SUCCESS) return Fail("hsa_init", st);
  hsa_agent_t gpu{0};
  hsa_iterate_agents(FindGpu, &gpu);
  if (gpu.handle == 0) return Fail("no GPU agent", HSA_STATUS_ERROR);
  hsa_queue_t* q = nullptr;
  st = hsa_queue_create(gpu, static_cast<uint32_t>(queue_size), HSA_QUEUE_TYPE_MULTI, nullptr,
                        nullptr, UINT32_MAX, UINT32_MAX, &q);
  if (st != HSA_STATUS_SUCCESS) return Fail("hsa_queue_create", st);
  hsa_signal_t done;
  hsa_signal_create(0, 0, nullptr, &done);
  std::vector<uint32_t> samples;
  samples.reserve(packets);
  const uint64_t start = NowNs();
  for (long sent = 0; sent < packets;) {
    const long n = std::min(burst, packets - sent);
    hsa_signal_store_relaxed(done, n);
    for (long i = 0; i < n; ++i) {
      const uint64_t t0 = NowNs();
      SubmitBarrier(q, done);
      samples.push_back(static_cast<uint32_t>(std::min<uint64_t>(NowNs() - t0, UINT32_MAX)));
    }
    sent += n;
    if (hsa_signal_wait_scacquire(done, HSA_SIGNAL_CONDITION_LT, 1, 10'000'000'000ull,
                                  HSA_WAIT_STATE_ACTIVE) >= 1) {
      return Fail("burst did not complete within 10 s", HSA_STATUS_ERROR);
    }
  }
  const double elapsed_s = (NowNs() - start) / 1e9;
  std::vector<uint32_t> sorted = samples;
  std::sort(sorted.begin(), sorted.end());
  double sum = 0, trimmed = 0;
  for (uint32_t s : samples) sum += s;
  // Mean of the fastest 99%: on a loaded machine the slowest 1% are mostly preemptions of the
  // submitting thread, which hide the cost being measured.
  const size_t keep = std::max<size_t>(1, sorted.size() * 99 / 100);
  for (size_t i = 0; i < keep; ++i) trimmed += sorted[i];
  auto pct = [&](double p) { return sorted[std::min(sorted.size() - 1, static_cast<size_t>(p * sorted.size()))]; };
  std::printf("{\"ok\":true,\"packets\":%ld,\"burst\":%ld,\"queue_size\":%ld,\"elapsed_s\":%.6f,"
              "\"submit_ns\":{\"mean\":%.1f,\"trim99_mean\":%.1f,\"p50\":%u,\"p90\":%u,\"p99\":%u,\"max\":%u,\"min\":%u}}\n",
              packets, burst, queue_size, elapsed_s, sum / samples.size(), trimmed / keep, pct(0.5), pct(0.9),
              pct(0.99), sorted.back(), sorted.front());
  hsa_signal_destroy(done);
  hsa_queue_destroy(q);
  hsa_shut_down();
  return 0;
}
