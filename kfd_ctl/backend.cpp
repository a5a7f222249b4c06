#include "kfd_ctl/backend.h"

#include <dlfcn.h>
#include <fcntl.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "common/log.h"

namespace hsapreempt::kfd {

int Backend::Ioctl(unsigned long request, void* arg) {
  int r = 0;
  for (int attempt = 0; attempt <= kMaxRetries; ++attempt) {
    r = IoctlOnce(request, arg);
    if (r != -EINTR && r != -EAGAIN) return r;
    if (r == -EAGAIN && attempt > 4) {
      // A driver that keeps saying "again" gets a little time, not a busy loop.
      timespec ts{0, 50 * 1000};
      nanosleep(&ts, nullptr);
    }
  }
  return r;
}

RealBackend::~RealBackend() {
  // Only close a descriptor this process opened (after fork the number may be reused).
  if (fd_ >= 0 && fd_pid_ == getpid()) close(fd_);
}

int RealBackend::Fd() {
  const pid_t pid = getpid();
  std::lock_guard<std::mutex> lock(mu_);
  if (fd_ >= 0 && fd_pid_ == pid) return fd_;
  if (fd_ >= 0) {
    // Inherited across fork: KFD rejects it in this process (EBADF). Close our copy, reopen.
    close(fd_);
    fd_ = -1;
  }
  int fd = open(path_.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) return -errno;
  fd_ = fd;
  fd_pid_ = pid;
  return fd_;
}

int RealBackend::IoctlOnce(unsigned long request, void* arg) {
  int fd = Fd();
  if (fd < 0) return fd;
  int r = ioctl(fd, request, arg);
  return r < 0 ? -errno : r;
}

std::unique_ptr<SimBackend> SimBackend::Create() {
  void* sym = dlsym(RTLD_DEFAULT, "hsapreempt_sim_kfd_ioctl");
  if (sym == nullptr) return nullptr;
  return std::unique_ptr<SimBackend>(new SimBackend(reinterpret_cast<IoctlFn>(sym)));
}

int SimBackend::IoctlOnce(unsigned long request, void* arg) {
  errno = 0;
  int r = ioctl_(request, arg);
  if (r >= 0) return r;
  return errno != 0 ? -errno : -EIO;
}

std::string SimBackend::SysfsRoot() const {
  using Fn = const char* (*)();
  auto fn = reinterpret_cast<Fn>(dlsym(RTLD_DEFAULT, "hsapreempt_sim_sysfs_root"));
  const char* root = fn ? fn() : nullptr;
  return root ? root : "";
}

std::string SimBackend::Describe() const {
  using Fn = const char* (*)();
  auto fn = reinterpret_cast<Fn>(dlsym(RTLD_DEFAULT, "hsapreempt_sim_describe"));
  const char* d = fn ? fn() : nullptr;
  return d ? d : "";
}

std::unique_ptr<Backend> SelectBackend(std::string* why, const char* (*getenv_fn)(const char*)) {
  const char* forced = getenv_fn ? getenv_fn("HSAPREEMPT_DEVICE") : std::getenv("HSAPREEMPT_DEVICE");
  std::string force = forced ? forced : "";
  if (!force.empty() && force != "real" && force != "sim") {
    HP_LOG_ONCE(kWarn, "HSAPREEMPT_DEVICE=%s is not real|sim; choosing automatically",
                force.c_str());
    force.clear();
  }
  if (force == "real" || (force.empty() && access("/dev/kfd", F_OK) == 0)) {
    auto real = std::make_unique<RealBackend>();
    if (force.empty() && access("/dev/kfd", R_OK | W_OK) != 0) {
      if (why) *why = std::string("/dev/kfd is present but not accessible: ") + std::strerror(errno);
      return nullptr;
    }
    return real;
  }
  auto sim = SimBackend::Create();
  if (sim) return sim;
  if (why) {
    *why = force == "sim" ? "HSAPREEMPT_DEVICE=sim but the simulated thunk is not loaded in this process"
                          : "no /dev/kfd and the simulated thunk is not loaded in this process";
  }
  return nullptr;
}

}  // namespace hsapreempt::kfd
