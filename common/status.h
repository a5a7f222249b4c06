// Status: the result of a control-path operation inside the library (no exceptions cross our
// boundaries). Cheap when ok; carries a code, the errno it came from (if any) and a message.
#ifndef COMMON_STATUS_H_
#define COMMON_STATUS_H_

#include <string>
#include <utility>

namespace hsapreempt::common {

class Status {
 public:
  enum class Code {
    kOk = 0,
    kInvalidArgument,  // the caller's input is wrong (EINVAL)
    kNotFound,         // no such queue/process/file (ENOENT, ESRCH)
    kPermission,       // not allowed (EPERM, EACCES)
    kBusy,             // try again later (EBUSY, EAGAIN)
    kUnsupported,      // the driver/runtime lacks the feature (ENOTTY, ENOSYS, EOPNOTSUPP)
    kIoError,          // anything else from the system
    kInternal,         // a broken invariant of ours
  };

  Status() = default;
  static Status Ok() { return Status(); }
  static Status Error(Code code, std::string message, int err = 0) {
    return Status(code, std::move(message), err);
  }
  // Maps an errno value (positive) to a Status with `what` as context.
  static Status FromErrno(int err, const std::string& what);

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  int err() const { return errno_; }
  const std::string& message() const { return message_; }
  std::string ToString() const;

 private:
  Status(Code code, std::string message, int err)
      : code_(code), errno_(err), message_(std::move(message)) {}
  Code code_ = Code::kOk;
  int errno_ = 0;
  std::string message_;
};

const char* CodeName(Status::Code code);

}  // namespace hsapreempt::common

#endif  // COMMON_STATUS_H_
