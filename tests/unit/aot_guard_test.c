/* The AOT engine tests of aot_engine_test.c again, with guard-page bounds
 * checks (KAFU_AOT_BOUNDS=guard): out-of-bounds accesses become traps through
 * the engine's SIGSEGV handler, host faults still crash, memories do not
 * move on growth and their reservations are returned. */
#include <stdlib.h>

#define AOT_TEST_SETUP() setenv("KAFU_AOT_BOUNDS", "guard", 1)
#include "aot_engine_test.c"
