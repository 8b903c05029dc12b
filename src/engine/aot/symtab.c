/* Function names for trap addresses: reads the ELF symbol table of a
 * compiled module (whose static functions are local symbols named w2c_<name>)
 * and maps a code offset back to the Wasm function it belongs to. The file
 * is our own build output, but it is still parsed with every bound checked. */
#include <elf.h>
#include <stdlib.h>
#include <string.h>

#include "engine/aot/aot_int.h"
#include "util/file.h"

typedef struct sym {
  uint64_t start, size;
  char *name; /* Wasm-side name, e.g. "fib" for w2c_fib / w2c_fib.cold */
} sym;

struct kafu_aot_symtab {
  size_t n;
  sym *syms; /* sorted by start */
};

static int by_start(const void *a, const void *b) {
  const sym *x = a, *y = b;
  return x->start < y->start ? -1 : x->start > y->start;
}

static int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/* "w2c_fib.cold" -> "fib"; an export wrapper "Z_kafuZ_<mangled>" or glue
 * trampoline "kafu_x<n>" (into which small functions get inlined) -> the
 * export's name; NULL for symbols that are not Wasm functions. */
static char *wasm_name(const char *elf_name, const kafu_aot_glue *glue) {
  static const char wrapper[] = "Z_kafuZ_";
  if (!strncmp(elf_name, "kafu_x", 6) && elf_name[6] >= '0' && elf_name[6] <= '9') {
    unsigned long slot = strtoul(elf_name + 6, NULL, 10);
    return glue && slot < glue->n_exports ? strdup(glue->exports[slot].name) : NULL;
  }
  int is_wrapper = strncmp(elf_name, wrapper, sizeof wrapper - 1) == 0;
  if (!is_wrapper && strncmp(elf_name, "w2c_", 4) != 0) return NULL;
  const char *start = elf_name + (is_wrapper ? sizeof wrapper - 1 : 4);
  size_t n = strcspn(start, ".");
  char *out = malloc(n + 1);
  if (!out) return NULL;
  size_t len = 0;
  for (size_t i = 0; i < n; i++) {
    int hi, lo;
    if (is_wrapper && start[i] == 'Z' && i + 2 < n + 1 && (hi = hex_digit(start[i + 1])) >= 0 &&
        (lo = hex_digit(start[i + 2])) >= 0) {
      out[len++] = (char)(hi * 16 + lo);
      i += 2;
    } else {
      out[len++] = start[i];
    }
  }
  out[len] = 0;
  return out;
}

kafu_aot_symtab *kafu_aot_symtab_load(const char *so_path, const kafu_aot_glue *glue) {
  uint8_t *file = NULL;
  size_t len = 0;
  kafu_error ignored;
  kafu_aot_symtab *st = NULL;
  if (kafu_file_read(so_path, &file, &len, &ignored)) return NULL;
  if (len < sizeof(Elf64_Ehdr) || memcmp(file, ELFMAG, SELFMAG) != 0 ||
      file[EI_CLASS] != ELFCLASS64)
    goto out;
  Elf64_Ehdr eh;
  memcpy(&eh, file, sizeof eh);
  if (eh.e_shentsize != sizeof(Elf64_Shdr) || eh.e_shoff > len ||
      (uint64_t)eh.e_shnum * sizeof(Elf64_Shdr) > len - eh.e_shoff)
    goto out;
  const Elf64_Shdr *symtab = NULL;
  Elf64_Shdr shdrs_buf;
  for (unsigned i = 0; i < eh.e_shnum; i++) {
    memcpy(&shdrs_buf, file + eh.e_shoff + i * sizeof(Elf64_Shdr), sizeof shdrs_buf);
    if (shdrs_buf.sh_type == SHT_SYMTAB) {
      symtab = (const Elf64_Shdr *)(file + eh.e_shoff + i * sizeof(Elf64_Shdr));
      break;
    }
  }
  if (!symtab) goto out;
  Elf64_Shdr sh, strsh;
  memcpy(&sh, symtab, sizeof sh);
  if (sh.sh_link >= eh.e_shnum || sh.sh_entsize != sizeof(Elf64_Sym) || sh.sh_offset > len ||
      sh.sh_size > len - sh.sh_offset)
    goto out;
  memcpy(&strsh, file + eh.e_shoff + sh.sh_link * sizeof(Elf64_Shdr), sizeof strsh);
  if (strsh.sh_offset > len || strsh.sh_size > len - strsh.sh_offset || strsh.sh_size == 0)
    goto out;
  const char *strtab = (const char *)file + strsh.sh_offset;
  if (strtab[strsh.sh_size - 1] != 0) goto out;

  st = calloc(1, sizeof *st);
  size_t n_syms = sh.sh_size / sizeof(Elf64_Sym);
  if (!st || !(st->syms = calloc(n_syms ? n_syms : 1, sizeof(sym)))) goto fail;
  for (size_t i = 0; i < n_syms; i++) {
    Elf64_Sym es;
    memcpy(&es, file + sh.sh_offset + i * sizeof es, sizeof es);
    if (ELF64_ST_TYPE(es.st_info) != STT_FUNC || es.st_size == 0 || es.st_name >= strsh.sh_size)
      continue;
    char *name = wasm_name(strtab + es.st_name, glue);
    if (!name) continue;
    st->syms[st->n++] = (sym){es.st_value, es.st_size, name};
  }
  qsort(st->syms, st->n, sizeof(sym), by_start);
  goto out;
fail:
  kafu_aot_symtab_free(st);
  st = NULL;
out:
  free(file);
  return st;
}

void kafu_aot_symtab_free(kafu_aot_symtab *st) {
  if (!st) return;
  for (size_t i = 0; i < st->n; i++)
    free(st->syms[i].name);
  free(st->syms);
  free(st);
}

const char *kafu_aot_symtab_lookup(const kafu_aot_symtab *st, uintptr_t offset) {
  if (!st) return NULL;
  size_t lo = 0, hi = st->n;
  while (lo < hi) { /* first symbol starting after offset */
    size_t mid = lo + (hi - lo) / 2;
    if (st->syms[mid].start <= offset)
      lo = mid + 1;
    else
      hi = mid;
  }
  if (lo == 0) return NULL;
  const sym *s = &st->syms[lo - 1];
  return offset - s->start < s->size ? s->name : NULL;
}
