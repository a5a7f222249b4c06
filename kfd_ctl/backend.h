// Where KFD ioctls go. The rest of kfd_ctl is one code path over this interface:
// - RealBackend: our own /dev/kfd descriptor (O_RDWR|O_CLOEXEC) and ioctl(2). KFD keys a process
//   by its mm, so a second descriptor in the same process sees the queues ROCr created.
// - SimBackend: hsapreempt_sim_kfd_ioctl() of the simulated thunk, found with
//   dlsym(RTLD_DEFAULT) (nothing links the simulated device).
// - tests subclass Backend (FakeBackend) and override IoctlOnce().
//
// Thread-safe. Fork-safe: a RealBackend used in a child of the process that opened /dev/kfd
// reopens its own descriptor on first use (KFD refuses a descriptor opened by another process).
#ifndef KFD_CTL_BACKEND_H_
#define KFD_CTL_BACKEND_H_

#include <sys/types.h>

#include <memory>
#include <mutex>
#include <string>

#include "common/status.h"

namespace hsapreempt::kfd {

class Backend {
 public:
  virtual ~Backend() = default;

  // "real", "sim" or a test's name.
  virtual const char* name() const = 0;
  // Root of sysfs ("/sys" on a real machine; the simulated device keeps its own tree).
  virtual std::string SysfsRoot() const = 0;
  // One line describing the device (the simulated device's parameters), "" if nothing to say.
  virtual std::string Describe() const { return ""; }

  // Issues one ioctl, retrying EINTR and EAGAIN as libhsakmt does (bounded, so a driver that
  // keeps saying EAGAIN cannot hang us). Returns the ioctl's non-negative result, or -errno.
  int Ioctl(unsigned long request, void* arg);

  // How many retries Ioctl() allows before giving up on EINTR/EAGAIN.
  static constexpr int kMaxRetries = 64;

 protected:
  // One attempt: the non-negative result, or -errno.
  virtual int IoctlOnce(unsigned long request, void* arg) = 0;
};

class RealBackend : public Backend {
 public:
  explicit RealBackend(std::string device_path = "/dev/kfd") : path_(std::move(device_path)) {}
  ~RealBackend() override;
  const char* name() const override { return "real"; }
  std::string SysfsRoot() const override { return "/sys"; }

 protected:
  int IoctlOnce(unsigned long request, void* arg) override;

 private:
  // The descriptor for the calling process, opened lazily; -errno if it cannot be opened.
  int Fd();
  const std::string path_;
  std::mutex mu_;
  int fd_ = -1;       // guarded by mu_
  pid_t fd_pid_ = 0;  // process that opened fd_
};

class SimBackend : public Backend {
 public:
  using IoctlFn = int (*)(unsigned long, void*);
  // Null if the simulated thunk is not loaded in this process.
  static std::unique_ptr<SimBackend> Create();
  const char* name() const override { return "sim"; }
  std::string SysfsRoot() const override;
  std::string Describe() const override;

 protected:
  int IoctlOnce(unsigned long request, void* arg) override;

 private:
  explicit SimBackend(IoctlFn fn) : ioctl_(fn) {}
  IoctlFn ioctl_;
};

// Picks the backend for this process: HSAPREEMPT_DEVICE=real|sim forces one; otherwise /dev/kfd
// present -> real, else the simulated thunk loaded -> sim, else none (*why says why).
// `getenv_fn` lets tests supply their own environment.
std::unique_ptr<Backend> SelectBackend(std::string* why,
                                       const char* (*getenv_fn)(const char*) = nullptr);

}  // namespace hsapreempt::kfd

#endif  // KFD_CTL_BACKEND_H_
