/* Interpreter-only extras beyond the engine interface, for tests and tools. */
#ifndef KAFU_INTERP_API_H
#define KAFU_INTERP_API_H

#include <stdbool.h>
#include <stdint.h>

#include "engine/engine.h"

extern const kafu_engine_ops kafu_engine_interp_ops;

/* Lets instances import the official test suite's "spectest" globals, table
 * and memory (conformance runs only). Off by default. */
void kafu_interp_enable_spectest(bool on);

/* Size of each new instance's value stack in 8-byte slots (default 4 Mi =
 * 32 MiB of address space, touched only as deep as calls go). Values below
 * 1024 restore the default. */
void kafu_interp_set_stack_slots(uint32_t n_slots);

/* Runs the module's start function, if any. Errors: as kafu_engine_ops.call. */
kafu_err kafu_interp_run_start(kafu_engine_instance *inst, kafu_error *err);

/* Reads the exported global `name` into *out (raw slot bits, i32/f32
 * zero-extended). Errors: KAFU_E_INPUT if there is no such export. */
kafu_err kafu_interp_get_global(kafu_engine_instance *inst, const char *name, uint64_t *out,
                                kafu_error *err);

#endif
