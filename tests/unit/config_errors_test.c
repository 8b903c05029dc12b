/* kafu.yaml refusals: each class of mistake is refused with the file, the line
 * and the key, and the code that the CLI maps to its exit status. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "node/config.h"

/* A valid base: each case below changes one thing in it. */
#define APP "name: t\napp:\n  path: a.wasm\n"
#define NODES "nodes:\n  n1:\n    address: 127.0.0.1\n    port: 7001\n"

typedef struct error_case {
  const char *yaml;
  kafu_err code;
  const char *want; /* expected after "kafu.yaml" in the message */
} error_case;

static const error_case cases[] = {
    /* unknown keys, at every level */
    {APP NODES "colour: red\n", KAFU_E_INPUT, ":8: unknown key (key 'colour')"},
    {APP "  pth: b.wasm\n" NODES, KAFU_E_INPUT, ":4: unknown key (key 'app.pth')"},
    {APP NODES "    colour: red\n", KAFU_E_INPUT, ":8: unknown key (key 'nodes.n1.colour')"},
    {APP NODES "    offload: {policy: load, burst: 3}\n", KAFU_E_INPUT,
     ":8: unknown key (key 'nodes.n1.offload.burst')"},
    {APP NODES "cluster:\n  heartbeat:\n    intervall_ms: 5\n", KAFU_E_INPUT,
     ":10: unknown key (key 'cluster.heartbeat.intervall_ms')"},
    {APP NODES "cluster:\n  gossip: {}\n", KAFU_E_INPUT, ":9: unknown key (key 'cluster.gossip')"},
    /* wrong types */
    {APP NODES "cluster: [1, 2]\n", KAFU_E_INPUT, ":8: expected a mapping, got a list (key 'cluster')"},
    {"name: {a: 1}\napp:\n  path: a.wasm\n" NODES, KAFU_E_INPUT, ":1: expected a string, got a mapping (key 'name')"},
    {APP "  args: 5\n" NODES, KAFU_E_INPUT, ":4: expected a list, got a scalar (key 'app.args')"},
    {APP "  args: [a, [b]]\n" NODES, KAFU_E_INPUT, ":4: expected a string, got a list (key 'app.args[1]')"},
    {APP "nodes:\n  n1:\n    address: 127.0.0.1\n    port: \"7001\"\n", KAFU_E_INPUT,
     ":7: expected an integer, got a quoted string (key 'nodes.n1.port')"},
    {APP NODES "cluster:\n  migration:\n    memory_compression: yes please\n", KAFU_E_INPUT,
     ":10: expected true or false, got 'yes please' (key 'cluster.migration.memory_compression')"},
    {APP NODES "cluster:\n  migration:\n    memory_migration: partial\n", KAFU_E_INPUT,
     ":10: 'partial' is not one of: delta, full (key 'cluster.migration.memory_migration')"},
    {APP NODES "cluster:\n  heartbeat:\n    follower_on_coordinator_lost: panic\n", KAFU_E_INPUT,
     ":10: 'panic' is not one of: shutdown_self, ignore (key 'cluster.heartbeat.follower_on_coordinator_lost')"},
    {APP NODES "    engine: jit\n", KAFU_E_INPUT, ":8: 'jit' is not one of: aot, interp (key 'nodes.n1.engine')"},
    {APP NODES "    offload:\n      cpu_threshold: high\n", KAFU_E_INPUT,
     ":9: expected a number, got 'high' (key 'nodes.n1.offload.cpu_threshold')"},
    {APP NODES "    offload:\n      cpu_threshold: 1.5\n", KAFU_E_INPUT,
     ":9: 1.5 out of range (0 < x <= 1) (key 'nodes.n1.offload.cpu_threshold')"},
    {APP NODES "    offload:\n      policy: sometimes\n", KAFU_E_INPUT,
     ":9: 'sometimes' is not one of: load, always, never (key 'nodes.n1.offload.policy')"},
    {APP NODES "    cpus: 1-\n", KAFU_E_INPUT,
     ":8: bad CPU list '1-': expected a CPU number 0..1023 at '' (key 'nodes.n1.cpus')"},
    {APP NODES "    cpus: \"3-1\"\n", KAFU_E_INPUT, ":8: bad CPU list '3-1': range 3-1 runs backwards (key 'nodes.n1.cpus')"},
    {APP NODES "    cpus: 0,x\n", KAFU_E_INPUT,
     ":8: bad CPU list '0,x': expected a CPU number 0..1023 at 'x' (key 'nodes.n1.cpus')"},
    {APP NODES "    cpus: 2048\n", KAFU_E_INPUT,
     ":8: bad CPU list '2048': expected a CPU number 0..1023 at '2048' (key 'nodes.n1.cpus')"},
    {APP NODES "    cpus: [0, 1]\n", KAFU_E_INPUT, ":8: expected a string, got a list (key 'nodes.n1.cpus')"},
    {APP NODES "    cpus: \"\"\n", KAFU_E_INPUT, ":8: must not be empty (key 'nodes.n1.cpus')"},
    {APP "nodes: [n1, n2]\n", KAFU_E_INPUT, ":4: expected a mapping of node names, got a list (key 'nodes')"},
    /* bad ports and numbers */
    {APP "nodes:\n  n1:\n    address: 127.0.0.1\n    port: 0\n", KAFU_E_INPUT,
     ":7: 0 out of range (1..65535) (key 'nodes.n1.port')"},
    {APP "nodes:\n  n1:\n    address: 127.0.0.1\n    port: 70000\n", KAFU_E_INPUT,
     ":7: 70000 out of range (1..65535) (key 'nodes.n1.port')"},
    {APP "nodes:\n  n1:\n    address: 127.0.0.1\n    port: -1\n", KAFU_E_INPUT,
     ":7: expected an integer, got '-1' (key 'nodes.n1.port')"},
    {APP "nodes:\n  n1:\n    address: 127.0.0.1\n    port: 99999999999999999999999\n", KAFU_E_INPUT,
     ":7: number '99999999999999999999999' out of range (key 'nodes.n1.port')"},
    {APP NODES "cluster:\n  heartbeat:\n    interval_ms: 0\n", KAFU_E_INPUT,
     ":10: 0 out of range (1..86400000) (key 'cluster.heartbeat.interval_ms')"},
    {APP NODES "cluster:\n  migration:\n    migration_timeout_ms: 1e3\n", KAFU_E_INPUT,
     ":10: expected an integer, got '1e3' (key 'cluster.migration.migration_timeout_ms')"},
    /* duplicates */
    {APP NODES "  n1:\n    address: 127.0.0.2\n    port: 7002\n", KAFU_E_INPUT,
     ":8: duplicate node (first defined at line 5) (key 'nodes.n1')"},
    {APP "  path: b.wasm\n" NODES, KAFU_E_INPUT, ":4: duplicate key (key 'app.path')"},
    {APP NODES "    port: 7003\n", KAFU_E_INPUT, ":8: duplicate key (key 'nodes.n1.port')"},
    {APP NODES "name: u\n", KAFU_E_INPUT, ":8: duplicate key (key 'name')"},
    {APP NODES "cluster:\n  migration:\n    memory_compression: true\n    delta_compression: false\n", KAFU_E_INPUT,
     ":11: duplicate key (key 'cluster.migration.delta_compression')"},
    {APP NODES "  n2:\n    address: 127.0.0.1\n    port: 7001\n", KAFU_E_INPUT,
     ":8: same address and port as node 'n1' (line 5) (key 'nodes.n2')"},
    /* missing required fields */
    {"app:\n  path: a.wasm\n" NODES, KAFU_E_INPUT, ":1: missing required key (key 'name')"},
    {"name: t\n" NODES, KAFU_E_INPUT, ":1: missing required key (key 'app')"},
    {APP, KAFU_E_INPUT, ":1: missing required key (key 'nodes')"},
    {"name: t\napp:\n  args: []\n" NODES, KAFU_E_INPUT, ":3: missing required key (key 'app.path')"},
    {"name:\napp:\n  path: a.wasm\n" NODES, KAFU_E_INPUT, ":1: missing value (key 'name')"},
    {"name: \"\"\napp:\n  path: a.wasm\n" NODES, KAFU_E_INPUT, ":1: must not be empty (key 'name')"},
    {APP "nodes:\n  n1:\n    address: 127.0.0.1\n", KAFU_E_INPUT, ":5: missing required key (key 'nodes.n1.port')"},
    {APP "nodes:\n  n1:\n    port: 7001\n", KAFU_E_INPUT, ":5: missing required key (key 'nodes.n1.address')"},
    {APP "nodes:\n  n1:\n    address: \"\"\n    port: 7001\n", KAFU_E_INPUT,
     ":6: must not be empty (key 'nodes.n1.address')"},
    {APP "nodes:\n", KAFU_E_INPUT, ":4: at least one node is required (key 'nodes')"},
    {APP "nodes: {}\n", KAFU_E_INPUT, ":4: at least one node is required (key 'nodes')"},
    /* app.path and app.url */
    {"name: t\napp:\n  url: https://example.com/main.wasm\n  args: []\n" NODES, KAFU_E_UNSUPPORTED,
     ":3: downloading the program is not supported; fetch it yourself and use app.path (key 'app.url')"},
    {APP "  url: https://example.com/main.wasm\n" NODES, KAFU_E_INPUT,
     ":4: only one of app.path and app.url may be given (key 'app.url')"},
    {"name: t\napp:\n  path: \"\"\n" NODES, KAFU_E_INPUT, ":3: empty path (key 'app.path')"},
    /* node names */
    {APP "nodes:\n  edge 1:\n    address: 127.0.0.1\n    port: 7001\n", KAFU_E_INPUT,
     ":5: bad node name: use 1-63 characters from A-Z a-z 0-9 _ . - (key 'nodes.edge 1')"},
    {APP "nodes:\n  [a]: {address: x, port: 1}\n", KAFU_E_INPUT,
     ":5: a node name must be a scalar, got a list (key 'nodes')"},
    /* document shape */
    {"- name: t\n", KAFU_E_INPUT, ":1: expected a mapping at the top level, got a list"},
    {"", KAFU_E_INPUT, ":1: empty config"},
    {APP NODES "---\nname: u\n", KAFU_E_INPUT, ":9: only one YAML document is allowed"},
    {APP "nodes:\n  n1: {address: 127.0.0.1, port: 7001\n", KAFU_E_INPUT, ":6: YAML syntax error"},
    {APP "  \tpath: x\n" NODES, KAFU_E_INPUT, ":4: YAML syntax error"},
};

static char dir[] = "/tmp/kafu-config-test-XXXXXX";
static char path[sizeof dir + 16];

static int setup(void **state) {
  (void)state;
  if (!mkdtemp(dir)) return -1;
  snprintf(path, sizeof path, "%s/kafu.yaml", dir);
  return 0;
}

static int teardown(void **state) {
  (void)state;
  unlink(path);
  rmdir(dir);
  return 0;
}

static void write_config(const char *text) {
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  assert_int_equal(fwrite(text, 1, strlen(text), f), strlen(text));
  assert_int_equal(fclose(f), 0);
}

static void test_each_error_class(void **state) {
  (void)state;
  int failures = 0;
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    write_config(cases[i].yaml);
    kafu_config cfg;
    kafu_error err = {0};
    kafu_err code = kafu_config_load(path, &cfg, &err);
    char want[600];
    snprintf(want, sizeof want, "%s%s", path, cases[i].want);
    bool ok = code == cases[i].code && strncmp(err.msg, want, strlen(want)) == 0;
    if (!ok) {
      fprintf(stderr, "case %zu:\n%s\n  want code %d \"%s\"\n   got code %d \"%s\"\n", i, cases[i].yaml,
              cases[i].code, want, code, err.msg);
      failures++;
    }
    assert_null(cfg.nodes); /* a refused config holds nothing */
    kafu_config_free(&cfg);
  }
  assert_int_equal(failures, 0);
}

/* The base config of the cases is itself valid, so each case fails for the
 * one reason it adds. */
static void test_base_is_valid(void **state) {
  (void)state;
  write_config(APP NODES);
  kafu_config cfg;
  kafu_error err = {0};
  assert_int_equal(kafu_config_load(path, &cfg, &err), KAFU_OK);
  assert_int_equal(cfg.n_nodes, 1);
  kafu_config_free(&cfg);
}

/* Aliases may point back at their own collection; the loader must not follow
 * them forever. */
static void test_recursive_alias_terminates(void **state) {
  (void)state;
  write_config(APP "nodes: &n\n  n1: *n\n");
  kafu_config cfg;
  kafu_error err = {0};
  kafu_err code = kafu_config_load(path, &cfg, &err);
  assert_int_equal(code, KAFU_E_INPUT);
  kafu_config_free(&cfg);
}

/* Shapes that make libyaml slow (quadratic) are refused quickly, before the
 * document is built. */
static void test_pathological_yaml_refused_fast(void **state) {
  (void)state;
  enum { N = 60000 };
  char *text = malloc(N * 24 + 64);
  assert_non_null(text);
  const struct {
    const char *head, *item, *tail, *want;
  } shapes[] = {
      {"name: ", "[", "\n", ":1: nested too deeply (more than 32 levels)"},
      {"name: ", "{a: ", "\n", ":1: nested too deeply (more than 32 levels)"},
      {"", "- ", "x\n", ":1: nested too deeply (more than 32 levels)"},
      {"x: [", "&a 1, ", "]\n", ":1: too many YAML anchors (max 64)"},
      {"x: [&a 1, ", "*a, ", "]\n", ":1: too many YAML aliases (max 1024)"},
      {"", "%TAG !t! tag:x:\n", "---\nname: t\n", ":5: too many YAML directives (max 4)"},
  };
  for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
    size_t len = 0;
    len += (size_t)sprintf(text + len, "%s", shapes[i].head);
    for (int k = 0; k < N && len < 1000000 - 32; k++) len += (size_t)sprintf(text + len, "%s", shapes[i].item);
    sprintf(text + len, "%s", shapes[i].tail);
    write_config(text);
    kafu_config cfg;
    kafu_error err = {0};
    time_t t0 = time(NULL);
    assert_int_equal(kafu_config_load(path, &cfg, &err), KAFU_E_INPUT);
    assert_true(time(NULL) - t0 <= 2);
    char want[600];
    snprintf(want, sizeof want, "%s%s", path, shapes[i].want);
    if (strcmp(err.msg, want) != 0) fail_msg("shape %zu: want \"%s\", got \"%s\"", i, want, err.msg);
  }
  free(text);
  /* What a config may reasonably use still loads: a %YAML line, an anchor. */
  write_config("%YAML 1.1\n---\nname: t\napp:\n  path: a.wasm\n  args: &a [x]\n" NODES);
  kafu_config cfg;
  kafu_error err = {0};
  if (kafu_config_load(path, &cfg, &err)) fail_msg("%s", err.msg);
  kafu_config_free(&cfg);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_base_is_valid),
      cmocka_unit_test(test_each_error_class),
      cmocka_unit_test(test_recursive_alias_terminates),
      cmocka_unit_test(test_pathological_yaml_refused_fast),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
