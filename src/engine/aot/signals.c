/* Out-of-bounds memory accesses of compiled modules land in the guard part of
 * the memory's reservation and raise SIGSEGV. This file owns the process's
 * SIGSEGV/SIGBUS handler for that: a fault is turned into a Wasm trap only if
 * this thread is inside an AOT call, the address lies in that instance's
 * memory reservation and the faulting instruction is in that module's code.
 * Everything else goes to the handler that was installed before (ASan's, or
 * the default action). */
#define _GNU_SOURCE /* REG_RIP, dl_iterate_phdr */
#include <link.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <ucontext.h>

#include "engine/aot/aot_module.h"

static struct sigaction g_old_segv, g_old_bus;
static __thread kafu_aot_active *t_active;

static uintptr_t fault_pc(void *uc_void) {
  ucontext_t *uc = uc_void;
#if defined(__x86_64__)
  return (uintptr_t)uc->uc_mcontext.gregs[REG_RIP];
#elif defined(__aarch64__)
  return (uintptr_t)uc->uc_mcontext.pc;
#else
  (void)uc;
  return 0; /* unknown: never claim the fault */
#endif
}

static void chain(int sig, siginfo_t *info, void *uc) {
  struct sigaction *old = sig == SIGBUS ? &g_old_bus : &g_old_segv;
  if (old->sa_flags & SA_SIGINFO) {
    old->sa_sigaction(sig, info, uc);
  } else if (old->sa_handler != SIG_DFL && old->sa_handler != SIG_IGN) {
    old->sa_handler(sig);
  } else {
    /* Default action: restore it; returning re-executes the fault. */
    sigaction(sig, old, NULL);
  }
}

static void on_fault(int sig, siginfo_t *info, void *uc) {
  kafu_aot_active *a = t_active;
  if (a) {
    const kafu_engine_module *mod = a->mod;
    uint64_t size = 0;
    uint32_t max_pages = 0;
    uintptr_t base = (uintptr_t)mod->glue->memory(a->glue_inst, &size, &max_pages);
    uintptr_t addr = (uintptr_t)info->si_addr, pc = fault_pc(uc);
    if (base && addr - base < KAFU_AOT_MEMORY_RESERVE && pc >= mod->code_start &&
        pc < mod->code_end)
      mod->glue->trap_at(KAFU_AOT_TRAP_OOB, pc); /* does not return */
  }
  chain(sig, info, uc);
}

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;

static int is_ours(int sig) {
  struct sigaction cur;
  return sigaction(sig, NULL, &cur) == 0 && (cur.sa_flags & SA_SIGINFO) &&
         cur.sa_sigaction == on_fault;
}

static void install(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_fault;
  /* SA_NODEFER: the trap leaves the handler by longjmp, which must not
   * leave SIGSEGV blocked. */
  sa.sa_flags = SA_SIGINFO | SA_NODEFER | SA_ONSTACK;
  sigemptyset(&sa.sa_mask);
  if (!is_ours(SIGSEGV)) sigaction(SIGSEGV, &sa, &g_old_segv);
  if (!is_ours(SIGBUS)) sigaction(SIGBUS, &sa, &g_old_bus);
}

/* Someone may have installed their own handler since (a test framework, a
 * crash reporter): then ours goes back on top and chains to theirs. */
void kafu_aot_signals_init(void) {
  if (is_ours(SIGSEGV) && is_ours(SIGBUS)) return;
  pthread_mutex_lock(&g_lock);
  install();
  pthread_mutex_unlock(&g_lock);
}

void kafu_aot_active_push(kafu_aot_active *a) {
  a->prev = t_active;
  t_active = a;
}

void kafu_aot_active_pop(kafu_aot_active *a) {
  t_active = a->prev;
}

int kafu_aot_active_any(void) {
  return t_active != NULL;
}

typedef struct code_range {
  uintptr_t base, start, end;
} code_range;

static int find_code(struct dl_phdr_info *info, size_t size, void *ud) {
  code_range *r = ud;
  if ((uintptr_t)info->dlpi_addr != r->base) return 0;
  for (int i = 0; i < info->dlpi_phnum; i++) {
    const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
    if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_X)) continue;
    uintptr_t start = r->base + ph->p_vaddr, end = start + ph->p_memsz;
    if (!r->start || start < r->start) r->start = start;
    if (end > r->end) r->end = end;
  }
  return 1;
}

void kafu_aot_code_range(uintptr_t base, uintptr_t *start, uintptr_t *end) {
  code_range r = {.base = base};
  dl_iterate_phdr(find_code, &r);
  *start = r.start;
  *end = r.end;
}
