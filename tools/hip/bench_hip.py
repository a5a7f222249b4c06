#!/usr/bin/env python3
"""Two HIP processes on one (simulated) GPU: the high-priority one's P99 request latency.

The high-priority client replays a small model (resnet18 batch 1) at a request rate with
hsapreempt-hip-replay; the low-priority client saturates the device flat out with a long model
(resnet50 batch 1024 at --low-scale: long kernels that fill every CU). Both are started through
`hsapreempt run --priority N --level L` (high 90, low 10) when the tool is used, in four scenarios:

  standalone     high client alone (no tool)
  no-scheduling  both, without the tool (plain HIP: the priorities mean nothing)
  level-1        both under the tool, HSAPREEMPT_LEVEL=1
  level-2        both under the tool, HSAPREEMPT_LEVEL=2

Each scenario runs on its own simulated device and board. Prints one table (latency in ms) and
the simulated device's description line. Usage:

  tools/hip/bench_hip.py --build BUILD_DIR [--seconds 10] [--rate 50] [--low-scale 1]
"""
import argparse
import json
import os
import subprocess
import sys
import time


def run_pair(args, scenario, device):
    build = args.build
    cli = os.path.join(build, "tools", "hsapreempt")
    replay = os.path.join(build, "tools", "hsapreempt-hip-replay")
    env = dict(os.environ)
    env["LD_LIBRARY_PATH"] = os.path.join(build, "simdev", "lib") + ":" + env.get("LD_LIBRARY_PATH", "")
    env["HSAPREEMPT_SIM_DEVICE"] = device
    env["HSAPREEMPT_BOARD"] = device
    env["HSA_ENABLE_SDMA"] = "0"
    high_cmd = [replay, "--model", "resnet18", "--batch", "1", "--rate", str(args.rate),
                "--seconds", str(args.seconds), "--priority", "high", "--warmup", "5"]
    low_cmd = [replay, "--model", "resnet50", "--batch", "1024", "--scale", str(args.low_scale),
               "--seconds", str(args.seconds + 4), "--priority", "low", "--warmup", "0"]

    def wrap(cmd, prio):
        if scenario in ("level-1", "level-2"):
            level = scenario[-1]
            return [cli, "run", "--priority", str(prio), "--level", level, "--board", device,
                    "--"] + cmd
        return cmd  # standalone and no-scheduling: plain HIP, no tool

    low = None
    if scenario != "standalone":
        low = subprocess.Popen(wrap(low_cmd, 10), env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
        time.sleep(2)  # the low client is saturating the device before the high one starts
    high = subprocess.run(wrap(high_cmd, 90), env=env, capture_output=True, text=True,
                          timeout=args.seconds * 10 + 120)
    low_out = None
    if low is not None:
        try:
            out, _ = low.communicate(timeout=args.seconds * 10 + 120)
            low_out = out
        except subprocess.TimeoutExpired:
            low.kill()
            low.communicate()
    try:
        os.unlink("/dev/shm/hsapreempt-sim-%d-%s" % (os.getuid(), device))
        os.unlink("/dev/shm/hsapreempt-board-%d-%s" % (os.getuid(), device))
    except OSError:
        pass
    return high, low_out


def last_json(text):
    for line in reversed((text or "").splitlines()):
        line = line.strip()
        if line.startswith("{"):
            try:
                return json.loads(line)
            except ValueError:
                return None
    return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", required=True)
    ap.add_argument("--seconds", type=float, default=10)
    ap.add_argument("--rate", type=float, default=50)
    ap.add_argument("--low-scale", type=float, default=1.0)
    ap.add_argument("--scenarios", default="standalone,no-scheduling,level-1,level-2")
    args = ap.parse_args()
    rows = []
    sim = ""
    for scenario in args.scenarios.split(","):
        device = "hipbench-%d-%s" % (os.getpid(), scenario)
        high, low_out = run_pair(args, scenario, device)
        h = last_json(high.stdout)
        lo = last_json(low_out) if low_out is not None else None
        if not h or not h.get("ok"):
            rows.append((scenario, None, None, None, None, "high client failed: %s"
                         % (high.stderr.strip().splitlines()[-1:] or ["?"])[0]))
            continue
        sim = sim or h["device"].get("sim", "")
        lat = h["latency_ns"]
        low_ups = lo["units_per_s"] if lo and lo.get("ok") else None
        rows.append((scenario, lat["p50"] / 1e6, lat["p99"] / 1e6, lat["count"], low_ups, ""))
    print("HIP two-process benchmark: high = resnet18 b1 at %.0f req/s for %.0f s; "
          "low = resnet50 b1024 x%.2f flat out" % (args.rate, args.seconds, args.low_scale))
    print("%-14s %10s %10s %8s %12s" % ("scenario", "P50 ms", "P99 ms", "requests", "low iter/s"))
    for s, p50, p99, n, low, note in rows:
        if p50 is None:
            print("%-14s %s" % (s, note))
        else:
            print("%-14s %10.3f %10.3f %8d %12s" % (s, p50, p99, n,
                                                    "-" if low is None else "%.3f" % low))
    print("load average at the end: %s" % " ".join(open("/proc/loadavg").read().split()[:3]))
    print("sim: %s" % sim)
    return 0


if __name__ == "__main__":
    sys.exit(main())
