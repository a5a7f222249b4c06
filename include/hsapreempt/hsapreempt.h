/* hsapreempt public C API: per-queue scheduling attributes for programs running under
 * HSA_TOOLS_LIB=libhsapreempt.so.
 *
 * Designed to be used through dlsym so a program still runs without the tool:
 *
 *   hsapreempt_queue_set_priority_fn set_prio =
 *       (hsapreempt_queue_set_priority_fn)dlsym(RTLD_DEFAULT, HSAPREEMPT_QUEUE_SET_PRIORITY_NAME);
 *   if (set_prio) set_prio(queue, 90);   // queue: the hsa_queue_t* hsa_queue_create returned
 *
 * (The tool makes itself globally visible when ROCr loads it; dlopen("libhsapreempt.so",
 * RTLD_NOW | RTLD_NOLOAD) and dlsym on that handle works too.)
 *
 * Every function returns 0 on success or a negative errno:
 *   -EINVAL  bad value (out of range, null queue)
 *   -ENOENT  the queue is not scheduled by hsapreempt (not created through hsa_queue_create while
 *            the tool was active, already destroyed, or passed through after a fallback)
 *   -ENODEV  the tool is loaded but disabled (HSAPREEMPT_ENABLE=0) or not initialised
 * They are thread-safe, never block on the GPU, and never abort the program.
 */
#ifndef HSAPREEMPT_HSAPREEMPT_H_
#define HSAPREEMPT_HSAPREEMPT_H_

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct hsa_queue_s hsa_queue_t;

/* API version: major * 10000 + minor * 100 + patch. */
#define HSAPREEMPT_API_VERSION 100

/* Returns HSAPREEMPT_API_VERSION of the loaded library (> 0). */
int hsapreempt_version(void);
/* Priority 0..99, higher runs first (default: HSAPREEMPT_PRIORITY). */
int hsapreempt_queue_set_priority(hsa_queue_t* queue, int priority);
/* Weight 1..1000 under the weighted policy. */
int hsapreempt_queue_set_weight(hsa_queue_t* queue, uint32_t weight);
/* Latency target in us under the edf policy (0: none; at most 60,000,000). */
int hsapreempt_queue_set_deadline_us(hsa_queue_t* queue, uint64_t deadline_us);

typedef int (*hsapreempt_version_fn)(void);
typedef int (*hsapreempt_queue_set_priority_fn)(hsa_queue_t*, int);
typedef int (*hsapreempt_queue_set_weight_fn)(hsa_queue_t*, uint32_t);
typedef int (*hsapreempt_queue_set_deadline_us_fn)(hsa_queue_t*, uint64_t);

#define HSAPREEMPT_VERSION_NAME "hsapreempt_version"
#define HSAPREEMPT_QUEUE_SET_PRIORITY_NAME "hsapreempt_queue_set_priority"
#define HSAPREEMPT_QUEUE_SET_WEIGHT_NAME "hsapreempt_queue_set_weight"
#define HSAPREEMPT_QUEUE_SET_DEADLINE_US_NAME "hsapreempt_queue_set_deadline_us"

#ifdef __cplusplus
}
#endif

#endif /* HSAPREEMPT_HSAPREEMPT_H_ */
