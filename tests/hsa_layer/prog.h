// hsa_layer_prog: small HSA programs the hsa_layer integration tests run with and without
// libhsapreempt.so (HSA_TOOLS_LIB). Each mode prints one line starting with PASS or FAIL and
// exits 0 on PASS.
#ifndef TESTS_HSA_LAYER_PROG_H_
#define TESTS_HSA_LAYER_PROG_H_

#include <cstdlib>
#include <map>
#include <string>

#include "tests/support/hsa_helpers.h"

namespace hsapreempt::hsalayer_test {

// --name value pairs.
struct Args {
  std::map<std::string, std::string> values;
  int Int(const std::string& name, int def) const {
    auto it = values.find(name);
    return it == values.end() ? def : std::atoi(it->second.c_str());
  }
  std::string Str(const std::string& name, const std::string& def) const {
    auto it = values.find(name);
    return it == values.end() ? def : it->second;
  }
};

// InitHsa + LoadSpinKernel; prints FAIL and returns false on error.
bool Setup(testsupport::HsaSystem* sys, testsupport::Kernel* kernel);

int RunStress(const Args& args);

}  // namespace hsapreempt::hsalayer_test

#endif  // TESTS_HSA_LAYER_PROG_H_
