// Named calibrations of the trace replay against real measurements (docs/calibration.md). A
// calibration is the set of parameters `hsapreempt calibrate` fitted for one simulated-device
// preset: the duration scale of each traced model (H200 us -> simulated ns / 1000) and the large
// model's dispatch granularity (rounds of workgroups per kernel). Figures produced with them
// should name the calibration (`Calibration::name`) next to the preset.
//
// Header-only and data-only, so any tool can adopt it without a new link dependency.
#ifndef TOOLS_WORKLOAD_CALIBRATION_H_
#define TOOLS_WORKLOAD_CALIBRATION_H_

#include <cstring>

namespace hsapreempt::workload {

struct CalibratedScale {
  const char* model;
  int batch;
  double scale;
};

struct Calibration {
  const char* name;    // e.g. "mi308x/users-mi308x/barrier/rounds16"
  const char* preset;  // HSAPREEMPT_SIM_PRESET it was fitted on
  int large_rounds;    // --fill-workgroups = rounds x CUs for the large model
  CalibratedScale scales[3];
};

// Fitted by `hsapreempt calibrate --preset mi308x` (cp_dispatch_ns 2000), 2026-11-21: each scale
// from its own model's measured MI308X figure: ResNet-18 b1 standalone P99 2.71 ms, ResNet-50 b8
// 165.9 it/s, b1024 1.965 it/s. scale = (target - kernels x cp_dispatch_ns) / sum of traced
// durations: every packet has the barrier bit, so each kernel starts one CP step after the
// previous one ends. rounds 16 won the fit on case 1 (docs/calibration.md). The earlier
// calibration "mi308x/users-mi308x/rounds1" (replay without the barrier bit, scales 5.9501 /
// 3.5996 / 3.8428) is superseded.
inline constexpr Calibration kCalibrations[] = {
    {"mi308x/users-mi308x/barrier/rounds16", "mi308x", 16,
     {{"resnet18", 1, 5.4315}, {"resnet50", 8, 3.3236}, {"resnet50", 1024, 3.8384}}},
};

// The calibration of `preset`, or nullptr (mi300x has no measured figures: no calibration).
inline const Calibration* FindCalibration(const char* preset) {
  for (const Calibration& c : kCalibrations) {
    if (std::strcmp(c.preset, preset) == 0) return &c;
  }
  return nullptr;
}

// The calibrated scale of (model, batch) in `c`, or `fallback`.
inline double CalibratedScaleFor(const Calibration* c, const char* model, int batch,
                                 double fallback) {
  if (c == nullptr) return fallback;
  for (const CalibratedScale& s : c->scales) {
    if (std::strcmp(s.model, model) == 0 && s.batch == batch) return s.scale;
  }
  return fallback;
}

}  // namespace hsapreempt::workload

#endif  // TOOLS_WORKLOAD_CALIBRATION_H_
