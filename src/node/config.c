/* kafu.yaml loader: libyaml's document API, then a schema walk that refuses
 * anything it does not know, naming file, line and key. The input is hostile:
 * every node's kind is checked before use, every number is range-checked, and
 * the walk only follows the fixed schema, so aliases cannot make it loop. */
#include "node/config.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "node/affinity.h"
#include "util/file.h"

#define CONFIG_MAX_BYTES (1u << 20) /* a config file is small; refuse more */
#define CONFIG_MAX_DEPTH 32         /* kafu.yaml needs 4 levels of nesting */
#define CONFIG_MAX_ANCHORS 64       /* libyaml resolves each alias by a linear search */
#define CONFIG_MAX_ALIASES 1024
#define CONFIG_MAX_DIRECTIVES 4     /* %YAML/%TAG lines; libyaml checks each against all */
#define CONFIG_MAX_NODES 1024
#define CONFIG_MAX_ARGS 4096
#define CONFIG_MAX_MS 86400000ull /* one day: any larger timeout is a typo */
#define KEY_MAX 192

typedef struct cfg_ctx {
  const char *path; /* for messages */
  yaml_document_t *doc;
  kafu_config *cfg;
  kafu_error *err;
} cfg_ctx;

static unsigned line_of(const yaml_node_t *n) { return (unsigned)n->start_mark.line + 1; }

/* Records "PATH:LINE: problem (key 'key')" and returns code. */
__attribute__((format(printf, 5, 6))) static kafu_err fail_at(cfg_ctx *c, kafu_err code, unsigned line,
                                                             const char *key, const char *fmt, ...) {
  char problem[KAFU_ERROR_MAX];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(problem, sizeof problem, fmt, ap);
  va_end(ap);
  if (key && *key)
    return kafu_fail(c->err, code, "%s:%u: %s (key '%s')", c->path, line, problem, key);
  return kafu_fail(c->err, code, "%s:%u: %s", c->path, line, problem);
}

static kafu_err nomem(cfg_ctx *c) { return kafu_fail(c->err, KAFU_E_NOMEM, "%s: out of memory", c->path); }

static yaml_node_t *node_at(cfg_ctx *c, int index) { return yaml_document_get_node(c->doc, index); }

static const char *scalar_text(const yaml_node_t *n) { return (const char *)n->data.scalar.value; }

/* A plain scalar spelling YAML's null (`key:` with nothing, `~`, `null`). */
static bool is_null(const yaml_node_t *n) {
  if (n->type != YAML_SCALAR_NODE || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE) return false;
  const char *s = scalar_text(n);
  return !*s || !strcmp(s, "~") || !strcmp(s, "null") || !strcmp(s, "Null") || !strcmp(s, "NULL");
}

static const char *kind_name(const yaml_node_t *n) {
  switch (n->type) {
  case YAML_SCALAR_NODE: return "a scalar";
  case YAML_SEQUENCE_NODE: return "a list";
  case YAML_MAPPING_NODE: return "a mapping";
  default: return "nothing";
  }
}

/* parent.child into out; an overlong key is cut, which still names it. */
static void join_key(char out[KEY_MAX], const char *parent, const char *child) {
  if (parent && *parent)
    snprintf(out, KEY_MAX, "%.120s.%.64s", parent, child);
  else
    snprintf(out, KEY_MAX, "%.64s", child);
}

/* Checks that v is a mapping (a null counts as an empty one: *is_empty). */
static kafu_err want_mapping(cfg_ctx *c, yaml_node_t *v, const char *key, bool *is_empty) {
  *is_empty = false;
  if (is_null(v)) {
    *is_empty = true;
    return KAFU_OK;
  }
  if (v->type != YAML_MAPPING_NODE)
    return fail_at(c, KAFU_E_INPUT, line_of(v), key, "expected a mapping, got %s", kind_name(v));
  return KAFU_OK;
}

/* Resolves one key of a schema mapping: the key must be a scalar, one of
 * names[] (NULL-terminated; aliases may share a slot through slots[]), and not
 * seen before in this mapping. On success *slot is the key's slot and *value
 * the value node. */
static kafu_err schema_key(cfg_ctx *c, const yaml_node_pair_t *pair, const char *parent,
                           const char *const names[], const int slots[], unsigned *seen, int *slot,
                           yaml_node_t **value, char key_out[KEY_MAX]) {
  yaml_node_t *k = node_at(c, pair->key);
  yaml_node_t *v = node_at(c, pair->value);
  if (!k || !v) return fail_at(c, KAFU_E_INPUT, 0, parent, "broken YAML document");
  if (k->type != YAML_SCALAR_NODE)
    return fail_at(c, KAFU_E_INPUT, line_of(k), parent, "a key must be a scalar, got %s", kind_name(k));
  const char *name = scalar_text(k);
  join_key(key_out, parent, name);
  for (int i = 0; names[i]; i++) {
    if (strcmp(names[i], name) != 0) continue;
    int s = slots ? slots[i] : i;
    if (*seen & (1u << s)) return fail_at(c, KAFU_E_INPUT, line_of(k), key_out, "duplicate key");
    *seen |= 1u << s;
    *slot = s;
    *value = v;
    return KAFU_OK;
  }
  return fail_at(c, KAFU_E_INPUT, line_of(k), key_out, "unknown key");
}

/* A scalar as a new string. Plain numbers and booleans are accepted as their
 * text (public configs write `args: [960, 540]`). */
static kafu_err get_string(cfg_ctx *c, yaml_node_t *v, const char *key, char **out) {
  if (v->type != YAML_SCALAR_NODE)
    return fail_at(c, KAFU_E_INPUT, line_of(v), key, "expected a string, got %s", kind_name(v));
  if (strlen(scalar_text(v)) != v->data.scalar.length)
    return fail_at(c, KAFU_E_INPUT, line_of(v), key, "string contains a NUL byte");
  char *s = strdup(scalar_text(v));
  if (!s) return nomem(c);
  free(*out);
  *out = s;
  return KAFU_OK;
}

/* A required, non-empty string. */
static kafu_err get_nonempty(cfg_ctx *c, yaml_node_t *v, const char *key, char **out) {
  if (is_null(v)) return fail_at(c, KAFU_E_INPUT, line_of(v), key, "missing value");
  kafu_err e = get_string(c, v, key, out);
  if (e) return e;
  if (!**out) return fail_at(c, KAFU_E_INPUT, line_of(v), key, "must not be empty");
  return KAFU_OK;
}

static kafu_err get_uint(cfg_ctx *c, yaml_node_t *v, const char *key, uint64_t min, uint64_t max,
                         uint64_t *out) {
  if (v->type != YAML_SCALAR_NODE || v->data.scalar.style != YAML_PLAIN_SCALAR_STYLE || is_null(v))
    return fail_at(c, KAFU_E_INPUT, line_of(v), key, "expected an integer, got %s",
                   v->type == YAML_SCALAR_NODE ? (is_null(v) ? "nothing" : "a quoted string") : kind_name(v));
  const char *s = scalar_text(v);
  uint64_t n = 0;
  size_t i = 0;
  for (; s[i] >= '0' && s[i] <= '9'; i++) {
    unsigned d = (unsigned)(s[i] - '0');
    if (n > (UINT64_MAX - d) / 10) return fail_at(c, KAFU_E_INPUT, line_of(v), key, "number '%s' out of range", s);
    n = n * 10 + d;
  }
  if (i == 0 || s[i])
    return fail_at(c, KAFU_E_INPUT, line_of(v), key, "expected an integer, got '%s'", s);
  if (n < min || n > max)
    return fail_at(c, KAFU_E_INPUT, line_of(v), key, "%s out of range (%llu..%llu)", s, (unsigned long long)min,
                   (unsigned long long)max);
  *out = n;
  return KAFU_OK;
}

static kafu_err get_bool(cfg_ctx *c, yaml_node_t *v, const char *key, bool *out) {
  if (v->type == YAML_SCALAR_NODE && v->data.scalar.style == YAML_PLAIN_SCALAR_STYLE) {
    const char *s = scalar_text(v);
    if (!strcmp(s, "true") || !strcmp(s, "True") || !strcmp(s, "TRUE")) {
      *out = true;
      return KAFU_OK;
    }
    if (!strcmp(s, "false") || !strcmp(s, "False") || !strcmp(s, "FALSE")) {
      *out = false;
      return KAFU_OK;
    }
    return fail_at(c, KAFU_E_INPUT, line_of(v), key, "expected true or false, got '%s'", s);
  }
  return fail_at(c, KAFU_E_INPUT, line_of(v), key, "expected true or false, got %s",
                 v->type == YAML_SCALAR_NODE ? "a quoted string" : kind_name(v));
}

static kafu_err get_fraction(cfg_ctx *c, yaml_node_t *v, const char *key, double *out) {
  if (v->type != YAML_SCALAR_NODE || v->data.scalar.style != YAML_PLAIN_SCALAR_STYLE || is_null(v))
    return fail_at(c, KAFU_E_INPUT, line_of(v), key, "expected a number, got %s",
                   v->type == YAML_SCALAR_NODE ? (is_null(v) ? "nothing" : "a quoted string") : kind_name(v));
  const char *s = scalar_text(v);
  char *end = NULL;
  errno = 0;
  double d = strtod(s, &end);
  if (end == s || *end || errno || !isfinite(d) || (s[0] < '0' || s[0] > '9'))
    return fail_at(c, KAFU_E_INPUT, line_of(v), key, "expected a number, got '%s'", s);
  if (!(d > 0.0 && d <= 1.0)) return fail_at(c, KAFU_E_INPUT, line_of(v), key, "%s out of range (0 < x <= 1)", s);
  *out = d;
  return KAFU_OK;
}

/* One of names[] (NULL-terminated); *out gets its index. */
static kafu_err get_enum(cfg_ctx *c, yaml_node_t *v, const char *key, const char *const names[], int *out) {
  char expected[128] = "";
  for (int i = 0; names[i]; i++) {
    size_t used = strlen(expected);
    snprintf(expected + used, sizeof expected - used, "%s%s", i ? ", " : "", names[i]);
  }
  if (v->type != YAML_SCALAR_NODE || is_null(v))
    return fail_at(c, KAFU_E_INPUT, line_of(v), key, "expected one of: %s", expected);
  for (int i = 0; names[i]; i++) {
    if (!strcmp(names[i], scalar_text(v))) {
      *out = i;
      return KAFU_OK;
    }
  }
  return fail_at(c, KAFU_E_INPUT, line_of(v), key, "'%s' is not one of: %s", scalar_text(v), expected);
}

/* rel resolved against the config directory, as a new absolute string. */
static kafu_err resolve_path(cfg_ctx *c, const char *rel, unsigned line, const char *key, char **out) {
  if (!*rel) return fail_at(c, KAFU_E_INPUT, line, key, "empty path");
  char *s;
  if (rel[0] == '/') {
    s = strdup(rel);
  } else {
    while (rel[0] == '.' && rel[1] == '/') {
      rel += 2;
      while (*rel == '/') rel++;
    }
    if (!*rel || !strcmp(rel, ".")) {
      s = strdup(c->cfg->dir);
    } else {
      size_t n = strlen(c->cfg->dir) + 1 + strlen(rel) + 1;
      s = malloc(n);
      if (s) snprintf(s, n, "%s%s%s", c->cfg->dir, strcmp(c->cfg->dir, "/") ? "/" : "", rel);
    }
  }
  if (!s) return nomem(c);
  free(*out);
  *out = s;
  return KAFU_OK;
}

/* An optional path: null means absent. */
static kafu_err get_path(cfg_ctx *c, yaml_node_t *v, const char *key, char **out) {
  if (is_null(v)) return KAFU_OK;
  char *raw = NULL;
  kafu_err e = get_string(c, v, key, &raw);
  if (!e) e = resolve_path(c, raw, line_of(v), key, out);
  free(raw);
  return e;
}

/* ---- app ---- */

static kafu_err parse_args(cfg_ctx *c, yaml_node_t *v, const char *key) {
  if (is_null(v)) return KAFU_OK; /* `args:` with nothing: no arguments */
  if (v->type != YAML_SEQUENCE_NODE)
    return fail_at(c, KAFU_E_INPUT, line_of(v), key, "expected a list, got %s", kind_name(v));
  size_t n = (size_t)(v->data.sequence.items.top - v->data.sequence.items.start);
  if (n > CONFIG_MAX_ARGS) return fail_at(c, KAFU_E_INPUT, line_of(v), key, "too many arguments (max %d)", CONFIG_MAX_ARGS);
  if (n == 0) return KAFU_OK;
  kafu_config *cfg = c->cfg;
  cfg->app_args = calloc(n, sizeof *cfg->app_args);
  if (!cfg->app_args) return nomem(c);
  for (size_t i = 0; i < n; i++) {
    yaml_node_t *item = node_at(c, v->data.sequence.items.start[i]);
    if (!item) return fail_at(c, KAFU_E_INPUT, line_of(v), key, "broken YAML document");
    char item_key[KEY_MAX];
    snprintf(item_key, sizeof item_key, "%.160s[%zu]", key, i);
    kafu_err e = get_string(c, item, item_key, &cfg->app_args[i]);
    if (e) return e;
    cfg->n_app_args = i + 1;
  }
  return KAFU_OK;
}

static kafu_err parse_app(cfg_ctx *c, yaml_node_t *map) {
  static const char *const names[] = {"path", "url", "args", "preopened_dir", NULL};
  bool empty;
  kafu_err e = want_mapping(c, map, "app", &empty);
  if (e) return e;
  char *url = NULL;
  unsigned seen = 0, url_line = 0, path_line = 0;
  char key[KEY_MAX];
  for (yaml_node_pair_t *p = empty ? NULL : map->data.mapping.pairs.start;
       p && p < map->data.mapping.pairs.top; p++) {
    int slot = -1;
    yaml_node_t *v = NULL;
    if ((e = schema_key(c, p, "app", names, NULL, &seen, &slot, &v, key))) goto out;
    switch (slot) {
    case 0:
      path_line = line_of(v);
      e = get_path(c, v, key, &c->cfg->app_path);
      break;
    case 1:
      url_line = line_of(v);
      if (!is_null(v)) e = get_nonempty(c, v, key, &url);
      break;
    case 2: e = parse_args(c, v, key); break;
    case 3: e = get_path(c, v, key, &c->cfg->app_preopened_dir); break;
    }
    if (e) goto out;
  }
  if (c->cfg->app_path && url) {
    e = fail_at(c, KAFU_E_INPUT, url_line, "app.url", "only one of app.path and app.url may be given");
  } else if (url) {
    e = fail_at(c, KAFU_E_UNSUPPORTED, url_line, "app.url",
                "downloading the program is not supported; fetch it yourself and use app.path");
  } else if (!c->cfg->app_path) {
    e = fail_at(c, KAFU_E_INPUT, path_line ? path_line : line_of(map), "app.path", "missing required key");
  }
out:
  free(url);
  return e;
}

/* ---- nodes ---- */

static bool node_name_ok(const char *s) {
  size_t n = strlen(s);
  if (n == 0 || n > KAFU_CONFIG_NODE_NAME_MAX) return false;
  for (size_t i = 0; i < n; i++) {
    char ch = s[i];
    if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '_' ||
          ch == '-' || ch == '.'))
      return false;
  }
  return strcmp(s, ".") && strcmp(s, "..");
}

static kafu_err parse_offload(cfg_ctx *c, yaml_node_t *map, const char *parent, kafu_config_offload *off) {
  static const char *const names[] = {"policy", "cpu_threshold", "window_ms", NULL};
  static const char *const policies[] = {"load", "always", "never", NULL};
  bool empty;
  kafu_err e = want_mapping(c, map, parent, &empty);
  if (e || empty) return e;
  unsigned seen = 0;
  char key[KEY_MAX];
  for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
    int slot = -1, idx = 0;
    uint64_t n = 0;
    yaml_node_t *v = NULL;
    if ((e = schema_key(c, p, parent, names, NULL, &seen, &slot, &v, key))) return e;
    switch (slot) {
    case 0:
      if (!(e = get_enum(c, v, key, policies, &idx))) off->policy = (kafu_config_offload_policy)idx;
      break;
    case 1: e = get_fraction(c, v, key, &off->cpu_threshold); break;
    case 2:
      if (!(e = get_uint(c, v, key, 1, 3600000, &n))) off->window_ms = (uint32_t)n;
      break;
    }
    if (e) return e;
  }
  return KAFU_OK;
}

/* A CPU list (Kafu `cpus`), checked now so that a typo fails at load, not
 * when the node starts. Null means absent. */
static kafu_err get_cpus(cfg_ctx *c, yaml_node_t *v, const char *key, char **out) {
  if (is_null(v)) return KAFU_OK;
  kafu_err e = get_nonempty(c, v, key, out);
  if (e) return e;
  kafu_cpuset set;
  kafu_error why = {0};
  if (kafu_affinity_parse(*out, &set, &why)) return fail_at(c, KAFU_E_INPUT, line_of(v), key, "%s", why.msg);
  return KAFU_OK;
}

static kafu_err parse_node(cfg_ctx *c, yaml_node_t *keynode, yaml_node_t *map, kafu_config_node *node) {
  static const char *const names[] = {"address", "port",   "placement", "engine",
                                      "preopened_dir", "state_dir", "offload", "cpus", NULL};
  static const char *const engines[] = {"aot", "interp", NULL};
  char parent[KEY_MAX];
  join_key(parent, "nodes", node->name);
  bool empty;
  kafu_err e = want_mapping(c, map, parent, &empty);
  if (e) return e;
  unsigned seen = 0;
  char key[KEY_MAX];
  char *own_dir = NULL;
  for (yaml_node_pair_t *p = empty ? NULL : map->data.mapping.pairs.start;
       p && p < map->data.mapping.pairs.top; p++) {
    int slot = -1, idx = 0;
    uint64_t n = 0;
    yaml_node_t *v = NULL;
    if ((e = schema_key(c, p, parent, names, NULL, &seen, &slot, &v, key))) goto out;
    switch (slot) {
    case 0: e = get_nonempty(c, v, key, &node->address); break;
    case 1:
      if (!(e = get_uint(c, v, key, 1, 65535, &n))) node->port = (uint16_t)n;
      break;
    case 2:
      if (!is_null(v)) e = get_nonempty(c, v, key, &node->placement);
      break;
    case 3:
      if (!(e = get_enum(c, v, key, engines, &idx))) node->engine = (kafu_config_engine)idx;
      break;
    case 4: e = get_path(c, v, key, &own_dir); break;
    case 5: e = get_path(c, v, key, &node->state_dir); break;
    case 6: e = parse_offload(c, v, key, &node->offload); break;
    case 7: e = get_cpus(c, v, key, &node->cpus); break;
    }
    if (e) goto out;
  }
  for (int required = 0; required < 2; required++) {
    if (!(seen & (1u << required))) {
      join_key(key, parent, names[required]);
      e = fail_at(c, KAFU_E_INPUT, line_of(keynode), key, "missing required key");
      goto out;
    }
  }
  if (own_dir) {
    node->preopened_dir = own_dir;
    own_dir = NULL;
  } else if (c->cfg->app_preopened_dir) {
    node->preopened_dir = strdup(c->cfg->app_preopened_dir);
    if (!node->preopened_dir) e = nomem(c);
  }
  if (!e && !node->state_dir) {
    size_t len = strlen(c->cfg->dir) + strlen("/.kafu/") + strlen(node->name) + 1;
    node->state_dir = malloc(len);
    if (!node->state_dir) e = nomem(c);
    else snprintf(node->state_dir, len, "%s/.kafu/%s", strcmp(c->cfg->dir, "/") ? c->cfg->dir : "", node->name);
  }
out:
  free(own_dir);
  return e;
}

static kafu_err parse_nodes(cfg_ctx *c, yaml_node_t *map) {
  kafu_config *cfg = c->cfg;
  if (is_null(map) || (map->type == YAML_MAPPING_NODE && map->data.mapping.pairs.top == map->data.mapping.pairs.start))
    return fail_at(c, KAFU_E_INPUT, line_of(map), "nodes", "at least one node is required");
  if (map->type != YAML_MAPPING_NODE)
    return fail_at(c, KAFU_E_INPUT, line_of(map), "nodes", "expected a mapping of node names, got %s", kind_name(map));
  size_t n = (size_t)(map->data.mapping.pairs.top - map->data.mapping.pairs.start);
  if (n > CONFIG_MAX_NODES)
    return fail_at(c, KAFU_E_INPUT, line_of(map), "nodes", "too many nodes (max %d)", CONFIG_MAX_NODES);
  cfg->nodes = calloc(n, sizeof *cfg->nodes);
  if (!cfg->nodes) return nomem(c);
  for (size_t i = 0; i < n; i++) {
    yaml_node_pair_t *p = &map->data.mapping.pairs.start[i];
    yaml_node_t *k = node_at(c, p->key), *v = node_at(c, p->value);
    if (!k || !v) return fail_at(c, KAFU_E_INPUT, line_of(map), "nodes", "broken YAML document");
    if (k->type != YAML_SCALAR_NODE)
      return fail_at(c, KAFU_E_INPUT, line_of(k), "nodes", "a node name must be a scalar, got %s", kind_name(k));
    char key[KEY_MAX];
    join_key(key, "nodes", scalar_text(k));
    if (!node_name_ok(scalar_text(k)) || strlen(scalar_text(k)) != k->data.scalar.length)
      return fail_at(c, KAFU_E_INPUT, line_of(k), key,
                     "bad node name: use 1-%d characters from A-Z a-z 0-9 _ . -", KAFU_CONFIG_NODE_NAME_MAX);
    for (size_t j = 0; j < i; j++) {
      if (!strcmp(cfg->nodes[j].name, scalar_text(k)))
        return fail_at(c, KAFU_E_INPUT, line_of(k), key, "duplicate node (first defined at line %u)",
                       cfg->nodes[j].line);
    }
    kafu_config_node *node = &cfg->nodes[i];
    cfg->n_nodes = i + 1;
    node->line = line_of(k);
    node->offload.policy = KAFU_CONFIG_OFFLOAD_LOAD;
    node->offload.cpu_threshold = 0.8;
    node->offload.window_ms = 500;
    node->name = strdup(scalar_text(k));
    if (!node->name) return nomem(c);
    kafu_err e = parse_node(c, k, v, node);
    if (e) return e;
    for (size_t j = 0; j < i; j++) {
      if (cfg->nodes[j].port == node->port && !strcmp(cfg->nodes[j].address, node->address))
        return fail_at(c, KAFU_E_INPUT, node->line, key, "same address and port as node '%s' (line %u)",
                       cfg->nodes[j].name, cfg->nodes[j].line);
    }
  }
  return KAFU_OK;
}

/* ---- cluster ---- */

static kafu_err parse_heartbeat(cfg_ctx *c, yaml_node_t *map) {
  static const char *const names[] = {"interval_ms", "follower_on_coordinator_lost", NULL};
  static const char *const actions[] = {"shutdown_self", "ignore", NULL};
  bool empty;
  kafu_err e = want_mapping(c, map, "cluster.heartbeat", &empty);
  if (e || empty) return e;
  unsigned seen = 0;
  char key[KEY_MAX];
  for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
    int slot = -1, idx = 0;
    yaml_node_t *v = NULL;
    if ((e = schema_key(c, p, "cluster.heartbeat", names, NULL, &seen, &slot, &v, key))) return e;
    if (slot == 0) {
      e = get_uint(c, v, key, 1, CONFIG_MAX_MS, &c->cfg->heartbeat.interval_ms);
    } else if (!(e = get_enum(c, v, key, actions, &idx))) {
      c->cfg->heartbeat.follower_on_coordinator_lost = (kafu_config_on_lost)idx;
    }
    if (e) return e;
  }
  return KAFU_OK;
}

static kafu_err parse_migration(cfg_ctx *c, yaml_node_t *map) {
  /* The public Kafu also accepts two old spellings of memory_compression. */
  static const char *const names[] = {"memory_migration", "memory_compression", "delta_compression",
                                      "memroy_compression", "migration_timeout_ms", NULL};
  static const int slots[] = {0, 1, 1, 1, 2};
  static const char *const modes[] = {"delta", "full", NULL};
  bool empty;
  kafu_err e = want_mapping(c, map, "cluster.migration", &empty);
  if (e || empty) return e;
  unsigned seen = 0;
  char key[KEY_MAX];
  for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
    int slot = -1, idx = 0;
    yaml_node_t *v = NULL;
    if ((e = schema_key(c, p, "cluster.migration", names, slots, &seen, &slot, &v, key))) return e;
    switch (slot) {
    case 0:
      if (!(e = get_enum(c, v, key, modes, &idx))) c->cfg->migration.memory_migration = (kafu_config_memory_migration)idx;
      break;
    case 1: e = get_bool(c, v, key, &c->cfg->migration.memory_compression); break;
    case 2: e = get_uint(c, v, key, 1, CONFIG_MAX_MS, &c->cfg->migration.migration_timeout_ms); break;
    }
    if (e) return e;
  }
  return KAFU_OK;
}

static kafu_err parse_cluster(cfg_ctx *c, yaml_node_t *map) {
  static const char *const names[] = {"heartbeat", "migration", NULL};
  bool empty;
  kafu_err e = want_mapping(c, map, "cluster", &empty);
  if (e || empty) return e;
  unsigned seen = 0;
  char key[KEY_MAX];
  for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
    int slot = -1;
    yaml_node_t *v = NULL;
    if ((e = schema_key(c, p, "cluster", names, NULL, &seen, &slot, &v, key))) return e;
    e = slot == 0 ? parse_heartbeat(c, v) : parse_migration(c, v);
    if (e) return e;
  }
  return KAFU_OK;
}

/* ---- top level ---- */

/* `app` must be read before `nodes` (a node inherits app.preopened_dir),
 * whatever their order in the file, so the root is walked in two passes. */
static kafu_err parse_root(cfg_ctx *c, yaml_node_t *root) {
  static const char *const names[] = {"name", "app", "nodes", "cluster", NULL};
  if (root->type != YAML_MAPPING_NODE)
    return fail_at(c, KAFU_E_INPUT, line_of(root), NULL, "expected a mapping at the top level, got %s",
                   kind_name(root));
  unsigned seen = 0;
  char key[KEY_MAX];
  yaml_node_t *values[4] = {NULL, NULL, NULL, NULL};
  kafu_err e;
  for (yaml_node_pair_t *p = root->data.mapping.pairs.start; p < root->data.mapping.pairs.top; p++) {
    int slot = -1;
    yaml_node_t *v = NULL;
    if ((e = schema_key(c, p, "", names, NULL, &seen, &slot, &v, key))) return e;
    values[slot] = v;
  }
  for (int i = 0; i < 3; i++) {
    if (!values[i]) return fail_at(c, KAFU_E_INPUT, line_of(root), names[i], "missing required key");
  }
  if ((e = get_nonempty(c, values[0], "name", &c->cfg->name))) return e;
  if ((e = parse_app(c, values[1]))) return e;
  if ((e = parse_nodes(c, values[2]))) return e;
  if (values[3] && (e = parse_cluster(c, values[3]))) return e;
  return KAFU_OK;
}

/* The absolute directory holding path, as a new string (NULL + err on failure). */
static char *dir_of(const char *path, kafu_error *err) {
  char *abs = realpath(path, NULL);
  if (!abs) {
    kafu_fail(err, errno == ENOMEM ? KAFU_E_NOMEM : KAFU_E_INPUT, "%s: %s", path, strerror(errno));
    return NULL;
  }
  char *slash = strrchr(abs, '/');
  if (slash == abs) slash[1] = '\0';
  else if (slash) *slash = '\0';
  return abs;
}

static kafu_err syntax_error(cfg_ctx *c, yaml_parser_t *parser) {
  return kafu_fail(c->err, KAFU_E_INPUT, "%s:%zu: YAML syntax error: %s", c->path, parser->problem_mark.line + 1,
                   parser->problem ? parser->problem : "unknown");
}

/* libyaml slows down quadratically with nesting depth (100k nested `[` take
 * minutes), with anchors times aliases (40k of each: 36 s) and with %TAG
 * directives (25k: 12 s), so a first pass over the lines and the events
 * refuses such input before the document is built. Syntax errors are left to
 * the second pass. */
static kafu_err check_hostile_shapes(cfg_ctx *c, const void *text, size_t len) {
  const char *bytes = text;
  int n_directives = 0;
  size_t line = 1;
  for (size_t i = 0; i < len; i++) {
    if (bytes[i] == '%' && (i == 0 || bytes[i - 1] == '\n') && ++n_directives > CONFIG_MAX_DIRECTIVES)
      return kafu_fail(c->err, KAFU_E_INPUT, "%s:%zu: too many YAML directives (max %d)", c->path, line,
                       CONFIG_MAX_DIRECTIVES);
    line += bytes[i] == '\n';
  }
  yaml_parser_t parser;
  if (!yaml_parser_initialize(&parser)) return nomem(c);
  yaml_parser_set_input_string(&parser, len ? text : (const void *)"", len);
  kafu_err e = KAFU_OK;
  int depth = 0, n_anchors = 0, n_aliases = 0;
  for (;;) {
    yaml_event_t ev;
    if (!yaml_parser_parse(&parser, &ev)) break;
    yaml_event_type_t type = ev.type;
    line = ev.start_mark.line + 1;
    bool anchored = (type == YAML_SCALAR_EVENT && ev.data.scalar.anchor) ||
                    (type == YAML_SEQUENCE_START_EVENT && ev.data.sequence_start.anchor) ||
                    (type == YAML_MAPPING_START_EVENT && ev.data.mapping_start.anchor);
    yaml_event_delete(&ev);
    if (type == YAML_STREAM_END_EVENT) break;
    if (type == YAML_SEQUENCE_START_EVENT || type == YAML_MAPPING_START_EVENT) depth++;
    if (type == YAML_SEQUENCE_END_EVENT || type == YAML_MAPPING_END_EVENT) depth--;
    n_anchors += anchored;
    n_aliases += type == YAML_ALIAS_EVENT;
    if (depth > CONFIG_MAX_DEPTH) {
      e = kafu_fail(c->err, KAFU_E_INPUT, "%s:%zu: nested too deeply (more than %d levels)", c->path, line,
                    CONFIG_MAX_DEPTH);
      break;
    }
    if (n_anchors > CONFIG_MAX_ANCHORS || n_aliases > CONFIG_MAX_ALIASES) {
      e = kafu_fail(c->err, KAFU_E_INPUT, "%s:%zu: too many YAML %s (max %d)", c->path, line,
                    n_aliases > CONFIG_MAX_ALIASES ? "aliases" : "anchors",
                    n_aliases > CONFIG_MAX_ALIASES ? CONFIG_MAX_ALIASES : CONFIG_MAX_ANCHORS);
      break;
    }
  }
  yaml_parser_delete(&parser);
  return e;
}

kafu_err kafu_config_parse(const char *name, const char *dir, const void *text, size_t len, kafu_config *cfg,
                           kafu_error *err) {
  memset(cfg, 0, sizeof *cfg);
  cfg_ctx c = {.path = name, .cfg = cfg, .err = err};
  yaml_parser_t parser;
  yaml_document_t doc;
  bool parser_ok = false, doc_ok = false;
  kafu_err e = KAFU_OK;
  if (len > CONFIG_MAX_BYTES) {
    e = kafu_fail(err, KAFU_E_INPUT, "%s: config file too large (%zu bytes, max %u)", name, len, CONFIG_MAX_BYTES);
    goto out;
  }
  cfg->heartbeat.interval_ms = 1000;
  cfg->heartbeat.follower_on_coordinator_lost = KAFU_CONFIG_ON_LOST_SHUTDOWN_SELF;
  cfg->migration.memory_migration = KAFU_CONFIG_MEMORY_DELTA;
  cfg->migration.memory_compression = true;
  cfg->migration.migration_timeout_ms = 10000;
  if (!(cfg->path = strdup(name)) || !(cfg->dir = strdup(dir))) {
    e = nomem(&c);
    goto out;
  }

  if ((e = check_hostile_shapes(&c, text, len))) goto out;
  if (!yaml_parser_initialize(&parser)) {
    e = nomem(&c);
    goto out;
  }
  parser_ok = true;
  yaml_parser_set_input_string(&parser, len ? text : (const void *)"", len);
  if (!yaml_parser_load(&parser, &doc)) {
    e = syntax_error(&c, &parser);
    goto out;
  }
  doc_ok = true;
  c.doc = &doc;
  yaml_node_t *root = yaml_document_get_root_node(&doc);
  if (!root) {
    e = kafu_fail(err, KAFU_E_INPUT, "%s:1: empty config", name);
    goto out;
  }
  if ((e = parse_root(&c, root))) goto out;

  /* A second document in the same file would be silently ignored: refuse it. */
  yaml_document_t extra;
  if (!yaml_parser_load(&parser, &extra)) {
    e = syntax_error(&c, &parser);
    goto out;
  }
  yaml_node_t *extra_root = yaml_document_get_root_node(&extra);
  unsigned extra_line = extra_root ? line_of(extra_root) : 0;
  yaml_document_delete(&extra);
  if (extra_root) e = kafu_fail(err, KAFU_E_INPUT, "%s:%u: only one YAML document is allowed", name, extra_line);

out:
  if (doc_ok) yaml_document_delete(&doc);
  if (parser_ok) yaml_parser_delete(&parser);
  if (e) kafu_config_free(cfg);
  return e;
}

kafu_err kafu_config_load(const char *path, kafu_config *cfg, kafu_error *err) {
  memset(cfg, 0, sizeof *cfg);
  uint8_t *text = NULL;
  size_t len = 0;
  char *dir = NULL;
  kafu_err e = kafu_file_read(path, &text, &len, err);
  if (e) goto out;
  if (!(dir = dir_of(path, err))) {
    e = err ? err->code : KAFU_E_INPUT;
    goto out;
  }
  e = kafu_config_parse(path, dir, text, len, cfg, err);
out:
  free(dir);
  free(text);
  return e;
}

void kafu_config_free(kafu_config *cfg) {
  if (!cfg) return;
  for (size_t i = 0; i < cfg->n_nodes; i++) {
    kafu_config_node *n = &cfg->nodes[i];
    free(n->name);
    free(n->address);
    free(n->placement);
    free(n->preopened_dir);
    free(n->state_dir);
    free(n->cpus);
  }
  free(cfg->nodes);
  for (size_t i = 0; i < cfg->n_app_args; i++) free(cfg->app_args[i]);
  free(cfg->app_args);
  free(cfg->app_path);
  free(cfg->app_preopened_dir);
  free(cfg->name);
  free(cfg->dir);
  free(cfg->path);
  memset(cfg, 0, sizeof *cfg);
}

const kafu_config_node *kafu_config_find_node(const kafu_config *cfg, const char *name) {
  for (size_t i = 0; cfg && name && i < cfg->n_nodes; i++) {
    if (!strcmp(cfg->nodes[i].name, name)) return &cfg->nodes[i];
  }
  return NULL;
}

const kafu_config_node *kafu_config_first_node(const kafu_config *cfg) {
  return cfg && cfg->n_nodes ? &cfg->nodes[0] : NULL;
}

const char *kafu_config_engine_name(kafu_config_engine engine) {
  return engine == KAFU_CONFIG_ENGINE_INTERP ? "interp" : "aot";
}

const char *kafu_config_offload_policy_name(kafu_config_offload_policy policy) {
  switch (policy) {
  case KAFU_CONFIG_OFFLOAD_LOAD: return "load";
  case KAFU_CONFIG_OFFLOAD_ALWAYS: return "always";
  case KAFU_CONFIG_OFFLOAD_NEVER: return "never";
  }
  return "?";
}
