/* The cluster configuration (kafu.yaml): which program runs, on which nodes,
 * and how the cluster behaves. A kafu-config.yaml of the public Kafu is
 * accepted unchanged; Kafu's extensions are additive. See docs/config.md. */
#ifndef KAFU_NODE_CONFIG_H
#define KAFU_NODE_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

/* Longest node name; names are [A-Za-z0-9_.-]+ because they travel in frames,
 * logs and file names. */
#define KAFU_CONFIG_NODE_NAME_MAX 63

typedef enum kafu_config_engine {
  KAFU_CONFIG_ENGINE_AOT = 0, /* default */
  KAFU_CONFIG_ENGINE_INTERP,
} kafu_config_engine;

typedef enum kafu_config_offload_policy {
  KAFU_CONFIG_OFFLOAD_LOAD = 0, /* default: offload when the CPU is busy */
  KAFU_CONFIG_OFFLOAD_ALWAYS,
  KAFU_CONFIG_OFFLOAD_NEVER,
} kafu_config_offload_policy;

typedef enum kafu_config_on_lost {
  KAFU_CONFIG_ON_LOST_SHUTDOWN_SELF = 0, /* default */
  KAFU_CONFIG_ON_LOST_IGNORE,
} kafu_config_on_lost;

typedef enum kafu_config_memory_migration {
  KAFU_CONFIG_MEMORY_DELTA = 0, /* default */
  KAFU_CONFIG_MEMORY_FULL,
} kafu_config_memory_migration;

typedef struct kafu_config_offload {
  kafu_config_offload_policy policy;
  double cpu_threshold; /* in (0, 1]; default 0.8 */
  uint32_t window_ms;   /* > 0; default 500 */
} kafu_config_offload;

/* One entry of `nodes`. Every string is owned by the kafu_config. */
typedef struct kafu_config_node {
  char *name;      /* the map key, e.g. "edge1" */
  char *address;   /* IP address or host name, non-empty */
  uint16_t port;   /* 1..65535 */
  char *placement; /* orchestrator placement group; NULL when absent */
  kafu_config_engine engine;
  /* Effective preopened directory: the node's own `preopened_dir`, else the
   * app's, as an absolute path; NULL when neither is set. */
  char *preopened_dir;
  /* Where the node keeps snapshots and caches; absolute. Default:
   * <config dir>/.kafu/<node name>. */
  char *state_dir;
  kafu_config_offload offload;
  /* Kafu: the CPU list (e.g. "1", "0-3") `kafu serve` pins itself to, and
   * whose CPUs its load meter measures; NULL when absent (unpinned). */
  char *cpus;
  unsigned line; /* line of the node's key in the file, for later messages */
} kafu_config_node;

typedef struct kafu_config {
  char *path;       /* the config file as given to kafu_config_load */
  char *dir;        /* absolute directory of the config file */
  char *name;       /* the service name, non-empty */
  char *app_path;   /* absolute path of the Wasm binary */
  char **app_args;  /* n_app_args strings (argv[1..]); NULL when none */
  size_t n_app_args;
  char *app_preopened_dir; /* absolute, or NULL */
  kafu_config_node *nodes; /* in file order; nodes[0] starts the program */
  size_t n_nodes;
  struct {
    uint64_t interval_ms; /* > 0; default 1000 */
    kafu_config_on_lost follower_on_coordinator_lost;
  } heartbeat;
  struct {
    kafu_config_memory_migration memory_migration;
    bool memory_compression;       /* default true */
    uint64_t migration_timeout_ms; /* > 0; default 10000 */
  } migration;
} kafu_config;

/* Reads and validates the YAML file at path into *cfg (which the caller
 * provides; it is overwritten). On success the caller owns *cfg and frees it
 * with kafu_config_free. On failure *cfg is left empty (safe to free) and err
 * holds one line "PATH:LINE: <problem> (key 'k')".
 * Errors: KAFU_E_INPUT for a missing file or any invalid content,
 * KAFU_E_UNSUPPORTED for valid public-Kafu features Kafu lacks (app.url),
 * KAFU_E_NOMEM. */
kafu_err kafu_config_load(const char *path, kafu_config *cfg, kafu_error *err);

/* kafu_config_load on text already in memory: name labels messages (and
 * becomes cfg->path), dir is the absolute directory relative paths resolve
 * against. Same ownership and errors as kafu_config_load. */
kafu_err kafu_config_parse(const char *name, const char *dir, const void *text, size_t len, kafu_config *cfg,
                           kafu_error *err);

/* Frees everything cfg owns and zeroes it. NULL and empty configs are fine. */
void kafu_config_free(kafu_config *cfg);

/* The node named name (borrowed from cfg), or NULL. */
const kafu_config_node *kafu_config_find_node(const kafu_config *cfg, const char *name);

/* The node that starts the program: the first one in the file. */
const kafu_config_node *kafu_config_first_node(const kafu_config *cfg);

/* Stable names for enum values as written in YAML ("aot", "load", ...). */
const char *kafu_config_engine_name(kafu_config_engine engine);
const char *kafu_config_offload_policy_name(kafu_config_offload_policy policy);

#endif
