// libhsapreempt.so is built from the hsa_layer static libraries (whole-archive); this file
// only gives the shared-library target a source of its own.
