/* The binary contract between the AOT engine (host side) and the shared
 * object it compiles for each module. The generated glue exports exactly one
 * symbol, KAFU_AOT_GLUE_SYMBOL, pointing at a kafu_aot_glue table.
 *
 * The declarations are written once, inside KAFU_AOT_GLUE_DECLS, so that the
 * host compiles them and translate.c pastes the very same text (as
 * kafu_aot_glue_decls_text) into every generated glue file. Bump
 * KAFU_AOT_GLUE_VERSION whenever the contract or the generated code changes:
 * it is part of the cache key, so old objects are rebuilt, not reused.
 *
 * Contract of the table's functions:
 * - create(host, dispatch): allocates an instance (NULL if out of memory).
 * - init(inst): instantiates it (memories, tables, globals, segments, and the
 *   start function, which wasm2c runs here). Returns a trap code, e.g. for a
 *   data segment out of bounds; after a trap only destroy is allowed.
 * - dispatch(host, import_index, args, results): called by the glue for every
 *   import; import_index is the function index of the import. Non-zero traps
 *   with KAFU_AOT_TRAP_HOST.
 * - call(inst, export_index, args, results, max_depth, stack_floor, &info):
 *   calls an export with raw 64-bit slots; nests (may be called from inside
 *   dispatch). max_depth bounds the Wasm call depth and stack_floor is the
 *   lowest C stack address Wasm code may reach (applied on the outermost
 *   call). Returns a trap code; info receives the code address that trapped
 *   and, when known, the C function whose code trapped (w2c_<name>, even if
 *   the compiler inlined it elsewhere; a string constant of the object).
 * - trap_at(code, pc): ends the innermost call with trap `code` at code
 *   address pc (does not return). The host's SIGSEGV handler uses it for
 *   accesses that hit a memory's guard region.
 * - memory(inst, &size, &max_pages): the exported memory or NULL. Memories
 *   are KAFU_AOT_MEMORY_RESERVE bytes of address space whose inaccessible
 *   part past `size` catches out-of-bounds accesses; the base never moves.
 * - memory_grow(inst, delta): old page count or UINT32_MAX.
 * Export signatures use one letter per value: i i32, I i64, f f32, F f64. */
#ifndef KAFU_ENGINE_AOT_GLUE_ABI_H
#define KAFU_ENGINE_AOT_GLUE_ABI_H

#include <stdint.h>

#define KAFU_AOT_GLUE_VERSION 7
#define KAFU_AOT_GLUE_SYMBOL "kafu_aot_glue_v1"
/* Address space wasm-rt 1.0.32 reserves per memory in guard-page mode. */
#define KAFU_AOT_MEMORY_RESERVE 0x200000000ull

#define KAFU_AOT_GLUE_DECLS                                                                        \
  enum {                                                                                           \
    KAFU_AOT_TRAP_NONE = 0,                                                                        \
    KAFU_AOT_TRAP_OOB = 1,                                                                         \
    KAFU_AOT_TRAP_INT_OVERFLOW = 2,                                                                \
    KAFU_AOT_TRAP_DIV_BY_ZERO = 3,                                                                 \
    KAFU_AOT_TRAP_INVALID_CONVERSION = 4,                                                          \
    KAFU_AOT_TRAP_UNREACHABLE = 5,                                                                 \
    KAFU_AOT_TRAP_CALL_INDIRECT = 6,                                                               \
    KAFU_AOT_TRAP_UNCAUGHT_EXCEPTION = 7,                                                          \
    KAFU_AOT_TRAP_EXHAUSTION = 8,                                                                  \
    KAFU_AOT_TRAP_HOST = 100                                                                       \
  };                                                                                               \
  typedef int (*kafu_aot_dispatch_fn)(void *host, uint32_t import_index, const uint64_t *args,     \
                                      uint64_t *results);                                          \
  typedef struct kafu_aot_glue_export {                                                            \
    const char *name;                                                                              \
    const char *params;                                                                            \
    const char *results;                                                                           \
  } kafu_aot_glue_export;                                                                          \
  typedef struct kafu_aot_trap_info {                                                              \
    uintptr_t pc;                                                                                  \
    const char *func;                                                                              \
  } kafu_aot_trap_info;                                                                            \
  typedef struct kafu_aot_glue {                                                                   \
    uint32_t version;                                                                              \
    uint32_t n_exports;                                                                            \
    const kafu_aot_glue_export *exports;                                                           \
    void *(*create)(void *host, kafu_aot_dispatch_fn dispatch);                                    \
    int (*init)(void *glue_inst);                                                                  \
    void (*destroy)(void *glue_inst);                                                              \
    int (*call)(void *glue_inst, uint32_t export_index, const uint64_t *args, uint64_t *results,   \
                uint32_t max_depth, uintptr_t stack_floor, kafu_aot_trap_info *trap);              \
    void (*trap_at)(int code, uintptr_t pc);                                                       \
    uint8_t *(*memory)(void *glue_inst, uint64_t *size_bytes, uint32_t *max_pages);                \
    uint32_t (*memory_grow)(void *glue_inst, uint32_t delta_pages);                                \
  } kafu_aot_glue;

KAFU_AOT_GLUE_DECLS

#define KAFU_AOT_STR_(...) #__VA_ARGS__
#define KAFU_AOT_XSTR_(...) KAFU_AOT_STR_(__VA_ARGS__)
/* The declarations above as C source text, for the generated glue. */
#define KAFU_AOT_GLUE_DECLS_TEXT KAFU_AOT_XSTR_(KAFU_AOT_GLUE_DECLS)

#endif
