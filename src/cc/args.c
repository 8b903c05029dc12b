/* kafu cc's command line: sorts clang flags into preprocess/compile, codegen
 * and link groups, and takes Kafu's own options from anywhere. */
#include <stdlib.h>
#include <string.h>

#include "cc/cc.h"

#define STATE_SIZE_MIN 1024u
#define STATE_SIZE_MAX (1024u * 1024u * 1024u)

void kafu_cc_usage(FILE *out) {
  fprintf(out, "usage: kafu cc [clang flags] file.c|file.o|file.a|-lNAME... [-c] [-o out]\n"
               "               [--no-snapify] [--state-size N] [--policy kafu|always] [-v]\n"
               "\n"
               "Compiles annotated C (include/kafu.h) to a migratable wasm32-wasi module:\n"
               "clang-14 --target=wasm32-wasi --sysroot=/usr, the Kafu support library,\n"
               "the `kafu` custom section with the annotated sites, then snapify.\n"
               "\n"
               "clang flags passed on: -O* -g* -I -D -U -include -isystem -std= -W* -f* -m*\n"
               "                       -L -l -Wl,* -Xlinker\n"
               "  -c                  compile only; objects carry their annotations\n"
               "  -o FILE             output (default a.out.wasm, or NAME.o with -c)\n"
               "  --no-snapify        stop after writing the kafu section\n"
               "  --state-size N      bytes reserved for migration state (default 65536,\n"
               "                      multiple of 16; K and M suffixes accepted)\n"
               "  --policy kafu|always  snapify policy (default kafu)\n"
               "  -v                  print every command run\n"
               "\n"
               "Exit status: 0 on success, 2 for bad input, clang's status when clang fails.\n");
}

void kafu_cc_options_free(kafu_cc_options *o) {
  kafu_cc_argv_free(&o->inputs);
  kafu_cc_argv_free(&o->compile_flags);
  kafu_cc_argv_free(&o->codegen_flags);
  kafu_cc_argv_free(&o->link_flags);
  free(o->is_source);
  o->is_source = NULL;
}

static bool has_suffix(const char *s, const char *suffix) {
  size_t n = strlen(s), m = strlen(suffix);
  return n >= m && !strcmp(s + n - m, suffix);
}

static bool starts(const char *s, const char *prefix) {
  return !strncmp(s, prefix, strlen(prefix));
}

static kafu_err add_input(kafu_cc_options *o, const char *path, bool source, kafu_error *err) {
  bool *flags = realloc(o->is_source, (o->inputs.n + 1) * sizeof *flags);
  if (!flags) return kafu_fail(err, KAFU_E_NOMEM, "out of memory");
  o->is_source = flags;
  flags[o->inputs.n] = source;
  kafu_cc_argv_push(&o->inputs, path);
  return KAFU_OK;
}

static kafu_err parse_state_size(const char *text, uint32_t *out, kafu_error *err) {
  char *end;
  unsigned long long value = strtoull(text, &end, 10);
  if (end == text) goto bad;
  if (*end == 'k' || *end == 'K') {
    value *= 1024;
    end++;
  } else if (*end == 'm' || *end == 'M') {
    value *= 1024 * 1024;
    end++;
  }
  if (*end || value < STATE_SIZE_MIN || value > STATE_SIZE_MAX || value % 16) goto bad;
  *out = (uint32_t)value;
  return KAFU_OK;
bad:
  return kafu_fail(err, KAFU_E_INPUT,
                   "--state-size %s: expected a multiple of 16 between %u and %u bytes", text,
                   STATE_SIZE_MIN, STATE_SIZE_MAX);
}

static kafu_err parse_policy(const char *text, kafu_snapify_policy *out, kafu_error *err) {
  if (!strcmp(text, "kafu")) {
    *out = KAFU_POLICY_KAFU;
  } else if (!strcmp(text, "always")) {
    *out = KAFU_POLICY_ALWAYS;
  } else {
    return kafu_fail(err, KAFU_E_INPUT, "--policy %s: expected kafu or always", text);
  }
  return KAFU_OK;
}

/* The value of `--name VALUE` or `--name=VALUE` at argv[*i], or NULL. */
static const char *long_value(int argc, char **argv, int *i, const char *name, bool *missing) {
  size_t n = strlen(name);
  const char *arg = argv[*i];
  *missing = false;
  if (strncmp(arg, name, n) != 0) return NULL;
  if (arg[n] == '=') return arg + n + 1;
  if (arg[n] != '\0') return NULL;
  if (*i + 1 >= argc) {
    *missing = true;
    return NULL;
  }
  return argv[++*i];
}

/* Flags whose value may be the next argument (-I dir) or attached (-Idir). */
static const char *const joined_or_separate[] = {"-I", "-D", "-U", "-L", "-o"};
/* Flags whose value is always the next argument. */
static const char *const separate_compile[] = {
    "-include", "-isystem", "-iquote", "-idirafter", "-imacros", "-MF", "-MT", "-MQ", "-Xclang"};
static const char *const rejected[] = {"--target", "-target", "--sysroot", "-S", "-E", "-emit-llvm",
                                       "-flto",    "-x",      "-shared",   "-M", "-MM"};

static kafu_err parse_flag(int argc, char **argv, int *i, kafu_cc_options *o, kafu_error *err) {
  const char *arg = argv[*i];
  for (size_t k = 0; k < sizeof rejected / sizeof rejected[0]; k++) {
    size_t n = strlen(rejected[k]);
    if (!strncmp(arg, rejected[k], n) && (arg[n] == '\0' || arg[n] == '='))
      return kafu_fail(err, KAFU_E_INPUT, "%s: not supported by kafu cc", arg);
  }
  for (size_t k = 0; k < sizeof joined_or_separate / sizeof joined_or_separate[0]; k++) {
    const char *flag = joined_or_separate[k];
    if (strncmp(arg, flag, 2) != 0) continue;
    const char *value = arg[2] ? arg + 2 : NULL;
    if (!value) {
      if (*i + 1 >= argc) return kafu_fail(err, KAFU_E_INPUT, "%s: missing value", arg);
      value = argv[++*i];
    }
    if (flag[1] == 'o') {
      o->output = value;
    } else if (flag[1] == 'L') {
      kafu_cc_argv_pushf(&o->link_flags, "-L%s", value);
    } else {
      kafu_cc_argv_pushf(&o->compile_flags, "%s%s", flag, value);
    }
    return KAFU_OK;
  }
  for (size_t k = 0; k < sizeof separate_compile / sizeof separate_compile[0]; k++) {
    if (strcmp(arg, separate_compile[k]) != 0) continue;
    if (*i + 1 >= argc) return kafu_fail(err, KAFU_E_INPUT, "%s: missing value", arg);
    kafu_cc_argv_push(&o->compile_flags, arg);
    kafu_cc_argv_push(&o->compile_flags, argv[++*i]);
    return KAFU_OK;
  }
  if (!strcmp(arg, "-c")) {
    o->compile_only = true;
  } else if (!strcmp(arg, "-v")) {
    o->verbose = true;
  } else if (starts(arg, "-l")) {
    o->has_archives = true;
    if (arg[2]) return add_input(o, arg, false, err);
    if (*i + 1 >= argc) return kafu_fail(err, KAFU_E_INPUT, "-l: missing value");
    char joined[1024];
    snprintf(joined, sizeof joined, "-l%s", argv[++*i]);
    return add_input(o, joined, false, err);
  } else if (starts(arg, "-Wl,")) {
    kafu_cc_argv_push(&o->link_flags, arg);
  } else if (!strcmp(arg, "-Xlinker")) {
    if (*i + 1 >= argc) return kafu_fail(err, KAFU_E_INPUT, "-Xlinker: missing value");
    kafu_cc_argv_push(&o->link_flags, arg);
    kafu_cc_argv_push(&o->link_flags, argv[++*i]);
  } else if (starts(arg, "-O")) {
    kafu_cc_argv_push(&o->compile_flags, arg);
    kafu_cc_argv_push(&o->codegen_flags, arg);
  } else if (starts(arg, "-g")) {
    o->debug = strcmp(arg, "-g0") != 0;
    kafu_cc_argv_push(&o->compile_flags, arg);
    kafu_cc_argv_push(&o->codegen_flags, arg);
  } else if (starts(arg, "-m")) {
    kafu_cc_argv_push(&o->compile_flags, arg);
    kafu_cc_argv_push(&o->codegen_flags, arg);
    kafu_cc_argv_push(&o->link_flags, arg);
  } else if (starts(arg, "-nostdlib") || !strcmp(arg, "-nostartfiles") || !strcmp(arg, "-static")) {
    kafu_cc_argv_push(&o->link_flags, arg);
  } else if (arg[1] == '-') {
    return kafu_fail(err, KAFU_E_INPUT, "%s: unknown option", arg);
  } else {
    /* -std=, -W*, -f*, -w, -pedantic, -pthread ...: single-token clang flags. */
    kafu_cc_argv_push(&o->compile_flags, arg);
  }
  return KAFU_OK;
}

kafu_err kafu_cc_parse_args(int argc, char **argv, kafu_cc_options *o, kafu_error *err) {
  memset(o, 0, sizeof *o);
  o->state_size = KAFU_STATE_SIZE_DEFAULT;
  o->policy = KAFU_POLICY_KAFU;
  kafu_err rc = KAFU_OK;
  size_t n_sources = 0;
  for (int i = 1; i < argc && !rc; i++) {
    const char *arg = argv[i], *value;
    bool missing;
    if (!strcmp(arg, "--help") || !strcmp(arg, "-h")) {
      o->help = true;
    } else if (!strcmp(arg, "--no-snapify")) {
      o->no_snapify = true;
    } else if ((value = long_value(argc, argv, &i, "--state-size", &missing)) || missing) {
      rc = missing ? kafu_fail(err, KAFU_E_INPUT, "--state-size: missing value")
                   : parse_state_size(value, &o->state_size, err);
    } else if ((value = long_value(argc, argv, &i, "--policy", &missing)) || missing) {
      rc = missing ? kafu_fail(err, KAFU_E_INPUT, "--policy: missing value")
                   : parse_policy(value, &o->policy, err);
    } else if (arg[0] == '-' && arg[1]) {
      rc = parse_flag(argc, argv, &i, o, err);
    } else if (has_suffix(arg, ".c")) {
      n_sources++;
      rc = add_input(o, arg, true, err);
    } else if (has_suffix(arg, ".o") || has_suffix(arg, ".a")) {
      if (has_suffix(arg, ".a")) o->has_archives = true;
      rc = add_input(o, arg, false, err);
    } else {
      rc = kafu_fail(err, KAFU_E_INPUT, "%s: unsupported input (expected .c, .o or .a)", arg);
    }
  }
  if (rc || o->help) return rc;
  if (o->inputs.failed || o->compile_flags.failed || o->codegen_flags.failed ||
      o->link_flags.failed)
    return kafu_fail(err, KAFU_E_NOMEM, "out of memory");
  if (!o->inputs.n) return kafu_fail(err, KAFU_E_INPUT, "no input files");
  if (o->compile_only) {
    if (!n_sources) return kafu_fail(err, KAFU_E_INPUT, "-c: no C source given");
    if (o->output && n_sources > 1)
      return kafu_fail(err, KAFU_E_INPUT, "-o %s: -c with several sources cannot name one output",
                       o->output);
    for (size_t k = 0; k < o->inputs.n; k++)
      if (!o->is_source[k] && o->inputs.v[k][0] != '-')
        return kafu_fail(err, KAFU_E_INPUT, "%s: object inputs make no sense with -c",
                         o->inputs.v[k]);
  }
  return KAFU_OK;
}
