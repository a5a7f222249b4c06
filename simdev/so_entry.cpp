// The shared library's own translation unit: libhsakmt.so.1 is the whole of
// hsapreempt_simdev_core (and the device model) behind the hsakmt.ver version script.
namespace simdev {
extern const char kSimdevLibraryTag[];
const char kSimdevLibraryTag[] = "hsapreempt simulated libhsakmt.so.1";
}  // namespace simdev
