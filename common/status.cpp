#include "common/status.h"

#include <cerrno>
#include <cstring>

namespace hsapreempt::common {

Status Status::FromErrno(int err, const std::string& what) {
  Code code;
  switch (err) {
    case 0: return Status();
    case EINVAL: code = Code::kInvalidArgument; break;
    case ENOENT: case ESRCH: code = Code::kNotFound; break;
    case EPERM: case EACCES: code = Code::kPermission; break;
    case EBUSY: case EAGAIN: code = Code::kBusy; break;
    case ENOTTY: case ENOSYS: case EOPNOTSUPP: code = Code::kUnsupported; break;
    default: code = Code::kIoError; break;
  }
  return Status(code, what + ": " + std::strerror(err), err);
}

const char* CodeName(Status::Code code) {
  switch (code) {
    case Status::Code::kOk: return "ok";
    case Status::Code::kInvalidArgument: return "invalid argument";
    case Status::Code::kNotFound: return "not found";
    case Status::Code::kPermission: return "permission denied";
    case Status::Code::kBusy: return "busy";
    case Status::Code::kUnsupported: return "unsupported";
    case Status::Code::kIoError: return "I/O error";
    case Status::Code::kInternal: return "internal error";
  }
  return "unknown";
}

std::string Status::ToString() const {
  if (ok()) return "ok";
  return std::string(CodeName(code_)) + ": " + message_;
}

}  // namespace hsapreempt::common
