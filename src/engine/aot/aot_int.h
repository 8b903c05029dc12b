/* Private interface between the files of the AOT engine: translation
 * (wasm2c + glue generation), tool discovery and compilation, the object
 * cache, and the instance operations. */
#ifndef KAFU_ENGINE_AOT_INT_H
#define KAFU_ENGINE_AOT_INT_H

#include <stddef.h>
#include <stdint.h>

#include "engine/aot/glue_abi.h"
#include "engine/engine.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/hash.h"
#include "wasm/module.h"

#define KAFU_AOT_PATH_MAX 4096

/* The external tools, found once per process. Paths are owned by a static. */
typedef struct kafu_aot_tools {
  const char *cc;                       /* C compiler command, e.g. "cc" or $KAFU_CC */
  const char *wasm2c;                   /* wasm2c command */
  const char *rt_dir;                   /* directory holding wasm-rt-impl.{c,h} */
  uint8_t fingerprint[KAFU_SHA256_LEN]; /* hash of cc and wasm2c versions + flags */
} kafu_aot_tools;

/* Finds cc, wasm2c and wasm-rt-impl.c. Errors: KAFU_E_UNSUPPORTED naming the
 * Debian package to install. The result is borrowed from a static. */
kafu_err kafu_aot_tools_get(const kafu_aot_tools **out, kafu_error *err);

/* Runs argv (argv[0] looked up in PATH) with stdin from /dev/null and
 * stdout+stderr captured into *output (NUL-terminated, owned by caller).
 * If on_slow is given it is called once when the command has been running
 * for slow_after seconds. *exit_status gets the exit code (or 128+signal).
 * Errors: KAFU_E_IO if the command cannot be started. */
kafu_err kafu_aot_run(const char *const *argv, char **output, int *exit_status, double slow_after,
                      void (*on_slow)(void *ud), void *ud, kafu_error *err);

/* Writes workdir/module.wasm, runs wasm2c on it and generates workdir/glue.c
 * and workdir/rt.c. `m` is the decoded module (borrowed). Errors:
 * KAFU_E_INPUT if wasm2c rejects the module, KAFU_E_UNSUPPORTED for features
 * the glue does not handle (imported memories/tables/globals, multi-value
 * imports), KAFU_E_IO. */
kafu_err kafu_aot_translate(const kafu_aot_tools *tools, const kafu_wasm_module *m,
                            const uint8_t *bytes, size_t len, const char *label,
                            const char *workdir, kafu_error *err);

/* Compiles workdir/{glue.c,rt.c} into out_so with the system compiler,
 * printing progress on stderr if it takes longer than a second (unless
 * quiet). Errors: KAFU_E_INTERNAL with the compiler's first error line. */
kafu_err kafu_aot_compile(const kafu_aot_tools *tools, const char *workdir, const char *out_so,
                          const char *label, int quiet, kafu_error *err);

/* Makes sure a verified shared object for the module is in the cache,
 * translating and compiling it if missing or corrupt. *so_path (owned by the
 * caller) receives its path; *compiled is set to 1 if this call built it. */
kafu_err kafu_aot_cache_get(const kafu_wasm_module *m, const uint8_t *bytes, size_t len,
                            const char *label, char **so_path, int *compiled, kafu_error *err);

/* Makes the next kafu_aot_cache_get of this entry rebuild it. */
void kafu_aot_cache_invalidate(const char *so_path);

/* The cache directory in use: options->cache_dir, else $XDG_CACHE_HOME/kafu,
 * else $HOME/.cache/kafu. Writes into out (KAFU_AOT_PATH_MAX bytes). */
kafu_err kafu_aot_cache_dir(char *out, kafu_error *err);

/* 1 if objects use guard pages for bounds checks (KAFU_AOT_BOUNDS=guard),
 * 0 for explicit checks. Valid once kafu_aot_tools_get succeeded. */
int kafu_aot_guard_pages(void);

/* Number of compiles this process has done (for tests and logs). */
unsigned kafu_aot_compile_count(void);

/* A function-name lookup for trap addresses, read from the object's ELF
 * symbol table (local symbols included); glue (borrowed, may be NULL) names
 * the export trampolines. NULL if the file has no usable symbol table. */
typedef struct kafu_aot_symtab kafu_aot_symtab;
kafu_aot_symtab *kafu_aot_symtab_load(const char *so_path, const kafu_aot_glue *glue);
void kafu_aot_symtab_free(kafu_aot_symtab *st);
/* The name of the function containing file-relative address `offset`, or
 * NULL. Borrowed from st. */
const char *kafu_aot_symtab_lookup(const kafu_aot_symtab *st, uintptr_t offset);

#endif
