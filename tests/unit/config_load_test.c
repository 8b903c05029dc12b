/* kafu.yaml loading: public-Kafu files accepted unchanged, Kafu's extensions,
 * defaults, and relative paths resolved against the config's directory. */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "node/config.h"

/* Absolute path of a fixture under tests/node (tests run from tests/). */
static void fixture(char out[PATH_MAX], const char *name) {
  const char *src = getenv("KAFU_SRC");
  char rel[PATH_MAX];
  if (src)
    snprintf(rel, sizeof rel, "%s/tests/node/%s", src, name);
  else
    snprintf(rel, sizeof rel, "node/%s", name);
  assert_non_null(realpath(rel, out));
}

/* The fixture's directory joined with leaf, as a path string. */
static void in_fixture_dir(char out[PATH_MAX], const char *leaf) {
  char file[PATH_MAX];
  fixture(file, "public-kafu-config.yaml");
  *strrchr(file, '/') = '\0';
  assert_true(snprintf(out, PATH_MAX, "%s%s%s", file, *leaf ? "/" : "", leaf) < PATH_MAX);
}

static void test_public_example_accepted(void **state) {
  (void)state;
  char path[PATH_MAX], want[PATH_MAX];
  fixture(path, "public-kafu-config.yaml");
  kafu_config cfg;
  kafu_error err = {0};
  assert_int_equal(kafu_config_load(path, &cfg, &err), KAFU_OK);
  assert_string_equal(cfg.name, "kafu-basic-example");
  in_fixture_dir(want, "main.wasm");
  assert_string_equal(cfg.app_path, want);
  in_fixture_dir(want, "");
  assert_string_equal(cfg.app_preopened_dir, want);
  assert_string_equal(cfg.dir, want);
  /* Plain numbers in args are arguments like any other. */
  assert_int_equal(cfg.n_app_args, 2);
  assert_string_equal(cfg.app_args[0], "960");
  assert_string_equal(cfg.app_args[1], "540");
  assert_int_equal(cfg.n_nodes, 2);
  assert_string_equal(kafu_config_first_node(&cfg)->name, "cloud1");
  assert_string_equal(cfg.nodes[1].name, "edge1");
  assert_string_equal(cfg.nodes[1].address, "127.0.0.1");
  assert_int_equal(cfg.nodes[1].port, 50052);
  assert_int_equal(cfg.nodes[1].line, 17);
  /* app.preopened_dir is every node's unless the node overrides it. */
  assert_string_equal(cfg.nodes[0].preopened_dir, want);
  assert_string_equal(cfg.nodes[1].preopened_dir, want);
  assert_int_equal(cfg.heartbeat.follower_on_coordinator_lost, KAFU_CONFIG_ON_LOST_SHUTDOWN_SELF);
  assert_int_equal(cfg.heartbeat.interval_ms, 1000);
  assert_int_equal(cfg.migration.memory_migration, KAFU_CONFIG_MEMORY_DELTA);
  assert_true(cfg.migration.memory_compression);
  kafu_config_free(&cfg);
  assert_null(cfg.nodes);
}

static void test_public_minimal_and_defaults(void **state) {
  (void)state;
  char path[PATH_MAX], want[PATH_MAX];
  fixture(path, "public-minimal.yaml");
  kafu_config cfg;
  kafu_error err = {0};
  assert_int_equal(kafu_config_load(path, &cfg, &err), KAFU_OK);
  assert_int_equal(cfg.n_app_args, 0); /* `args:` with nothing */
  assert_null(cfg.app_args);
  assert_int_equal(cfg.n_nodes, 3);
  assert_string_equal(cfg.nodes[0].placement, "group1");
  assert_null(cfg.nodes[1].placement);
  for (size_t i = 0; i < cfg.n_nodes; i++) {
    const kafu_config_node *n = &cfg.nodes[i];
    assert_int_equal(n->port, 50051 + i);
    assert_int_equal(n->engine, KAFU_CONFIG_ENGINE_AOT);
    assert_int_equal(n->offload.policy, KAFU_CONFIG_OFFLOAD_LOAD);
    assert_true(n->offload.cpu_threshold > 0.799 && n->offload.cpu_threshold < 0.801);
    assert_int_equal(n->offload.window_ms, 500);
    char leaf[64];
    snprintf(leaf, sizeof leaf, ".kafu/%s", n->name);
    in_fixture_dir(want, leaf);
    assert_string_equal(n->state_dir, want);
  }
  /* No cluster section: every default. */
  assert_int_equal(cfg.heartbeat.interval_ms, 1000);
  assert_int_equal(cfg.heartbeat.follower_on_coordinator_lost, KAFU_CONFIG_ON_LOST_SHUTDOWN_SELF);
  assert_int_equal(cfg.migration.memory_migration, KAFU_CONFIG_MEMORY_DELTA);
  assert_true(cfg.migration.memory_compression);
  assert_int_equal(cfg.migration.migration_timeout_ms, 10000);
  assert_non_null(kafu_config_find_node(&cfg, "node3"));
  assert_ptr_equal(kafu_config_find_node(&cfg, "node2"), &cfg.nodes[1]);
  assert_null(kafu_config_find_node(&cfg, "node4"));
  assert_null(kafu_config_find_node(&cfg, "node"));
  kafu_config_free(&cfg);
}

static void test_extensions(void **state) {
  (void)state;
  char path[PATH_MAX], want[PATH_MAX];
  fixture(path, "kafu-extended.yaml");
  kafu_config cfg;
  kafu_error err = {0};
  assert_int_equal(kafu_config_load(path, &cfg, &err), KAFU_OK);
  in_fixture_dir(want, "build/app.wasm");
  assert_string_equal(cfg.app_path, want);
  assert_int_equal(cfg.n_app_args, 4);
  assert_string_equal(cfg.app_args[0], "--frames");
  assert_string_equal(cfg.app_args[3], "0");
  const kafu_config_node *cloud = kafu_config_find_node(&cfg, "cloud1");
  const kafu_config_node *edge = kafu_config_find_node(&cfg, "edge1");
  assert_non_null(cloud);
  assert_non_null(edge);
  assert_int_equal(cloud->engine, KAFU_CONFIG_ENGINE_AOT);
  assert_int_equal(edge->engine, KAFU_CONFIG_ENGINE_INTERP);
  assert_string_equal(kafu_config_engine_name(edge->engine), "interp");
  assert_string_equal(cloud->state_dir, "/var/tmp/kafu-cloud1");
  in_fixture_dir(want, "shared");
  assert_string_equal(cloud->preopened_dir, want);
  in_fixture_dir(want, "camera");
  assert_string_equal(edge->preopened_dir, want);
  assert_int_equal(cloud->offload.policy, KAFU_CONFIG_OFFLOAD_NEVER);
  assert_int_equal(cloud->offload.window_ms, 500);
  assert_int_equal(edge->offload.policy, KAFU_CONFIG_OFFLOAD_LOAD);
  assert_string_equal(kafu_config_offload_policy_name(edge->offload.policy), "load");
  assert_true(edge->offload.cpu_threshold > 0.649 && edge->offload.cpu_threshold < 0.651);
  assert_int_equal(edge->offload.window_ms, 250);
  assert_string_equal(cloud->cpus, "0");
  assert_string_equal(edge->cpus, "1-2,4");
  assert_int_equal(cfg.heartbeat.interval_ms, 200);
  assert_int_equal(cfg.heartbeat.follower_on_coordinator_lost, KAFU_CONFIG_ON_LOST_IGNORE);
  assert_int_equal(cfg.migration.memory_migration, KAFU_CONFIG_MEMORY_FULL);
  assert_false(cfg.migration.memory_compression);
  assert_int_equal(cfg.migration.migration_timeout_ms, 2500);
  kafu_config_free(&cfg);
}

static void test_missing_file(void **state) {
  (void)state;
  kafu_config cfg;
  kafu_error err = {0};
  assert_int_equal(kafu_config_load("node/no-such-kafu.yaml", &cfg, &err), KAFU_E_INPUT);
  assert_non_null(strstr(err.msg, "no-such-kafu.yaml"));
  assert_null(cfg.nodes);
  kafu_config_free(&cfg); /* safe after failure */
  kafu_config_free(NULL);
}

/* Text in memory, resolved against a given directory. */
static void test_parse_from_memory(void **state) {
  (void)state;
  const char text[] = "name: mem\napp:\n  path: bin/a.wasm\n  preopened_dir: /data\n"
                      "nodes:\n  n1:\n    address: ::1\n    port: 1\n    state_dir: ../state\n";
  kafu_config cfg;
  kafu_error err = {0};
  assert_int_equal(kafu_config_parse("inline.yaml", "/srv/app", text, sizeof text - 1, &cfg, &err), KAFU_OK);
  assert_string_equal(cfg.path, "inline.yaml");
  assert_string_equal(cfg.app_path, "/srv/app/bin/a.wasm");
  assert_string_equal(cfg.app_preopened_dir, "/data"); /* absolute stays as is */
  assert_string_equal(cfg.nodes[0].state_dir, "/srv/app/../state");
  assert_string_equal(cfg.nodes[0].address, "::1");
  kafu_config_free(&cfg);
  /* The name given labels the errors. */
  const char bad[] = "app: {path: a}\nnodes: {n: {address: a, port: 1}}\nname: [x]\n";
  assert_int_equal(kafu_config_parse("inline.yaml", "/", bad, sizeof bad - 1, &cfg, &err), KAFU_E_INPUT);
  assert_string_equal(err.msg, "inline.yaml:3: expected a string, got a list (key 'name')");
  /* The root directory joins without a double slash. */
  assert_int_equal(kafu_config_parse("r.yaml", "/", text, sizeof text - 1, &cfg, &err), KAFU_OK);
  assert_string_equal(cfg.app_path, "/bin/a.wasm");
  assert_string_equal(cfg.nodes[0].state_dir, "/../state");
  kafu_config_free(&cfg);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_public_example_accepted),
      cmocka_unit_test(test_public_minimal_and_defaults),
      cmocka_unit_test(test_extensions),
      cmocka_unit_test(test_missing_file),
      cmocka_unit_test(test_parse_from_memory),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
