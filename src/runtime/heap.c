/* The process-wide malloc policy for hosts of migrating programs (the node
 * daemon, kafu exec, the runtime benchmarks): big blocks stay in the heap. */
#include <malloc.h>

#include "runtime/runtime.h"

void kafu_runtime_keep_memory_warm(void) {
  mallopt(M_ARENA_MAX, 1);
  mallopt(M_MMAP_MAX, 0);
  mallopt(M_TRIM_THRESHOLD, -1);
}
