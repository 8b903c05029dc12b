/* Jobs on a node: the job context that travels with a job, creating a job
 * (engine instance, preopens, output hook, policy), its run thread, and
 * sending output/events/exit to the job's coordinator. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "node/daemon.h"
#include "node/delta_job.h"
#include "util/file.h"
#include "util/log.h"

#define CTX_VERSION 1
#define CTX_LIST_MAX KAFU_PROTO_LIST_MAX

/* ---- job context ---- */

static void free_list(char **list, uint32_t n) {
  for (uint32_t i = 0; i < n; i++)
    free(list[i]);
  free(list);
}

void kafu_node_ctx_free(kafu_node_ctx *c) {
  if (!c) return;
  free(c->program);
  free_list(c->args, c->n_args);
  free_list(c->env, c->n_env);
  memset(c, 0, sizeof *c);
}

void kafu_node_ctx_encode(const kafu_node_ctx *c, kafu_buf *out) {
  kafu_buf_u8(out, CTX_VERSION);
  kafu_buf_u32le(out, c->flags);
  kafu_buf_u64le(out, c->chaos_seed);
  kafu_buf_u64le(out, c->n_points);
  kafu_buf_str(out, c->program ? c->program : "");
  kafu_buf_u32le(out, c->n_args);
  for (uint32_t i = 0; i < c->n_args; i++)
    kafu_buf_str(out, c->args[i]);
  kafu_buf_u32le(out, c->n_env);
  for (uint32_t i = 0; i < c->n_env; i++)
    kafu_buf_str(out, c->env[i]);
}

static char *rd_str(kafu_rd *r) {
  uint32_t n = kafu_rd_u32le(r);
  const uint8_t *p = r->bad ? NULL : kafu_rd_bytes(r, n);
  if (!p || memchr(p, 0, n)) {
    r->bad = true;
    return NULL;
  }
  char *s = malloc((size_t)n + 1);
  if (!s) {
    r->bad = true;
    return NULL;
  }
  memcpy(s, p, n);
  s[n] = '\0';
  return s;
}

static bool rd_list(kafu_rd *r, char ***out, uint32_t *n_out) {
  uint32_t n = kafu_rd_u32le(r);
  if (r->bad || n > CTX_LIST_MAX || n > kafu_rd_left(r) / 4) return false;
  char **list = calloc(n ? n : 1, sizeof *list);
  if (!list) return false;
  *out = list;
  for (uint32_t i = 0; i < n; i++) {
    list[i] = rd_str(r);
    if (!list[i]) return false;
    *n_out = i + 1;
  }
  return true;
}

kafu_err kafu_node_ctx_decode(const uint8_t *data, size_t len, kafu_node_ctx *c, kafu_error *err) {
  memset(c, 0, sizeof *c);
  kafu_rd r = kafu_rd_init(data, len);
  if (kafu_rd_u8(&r) != CTX_VERSION || r.bad) {
    return kafu_fail(err, KAFU_E_INPUT, "job context: unknown version or empty");
  }
  c->flags = kafu_rd_u32le(&r);
  c->chaos_seed = kafu_rd_u64le(&r);
  c->n_points = kafu_rd_u64le(&r);
  c->program = rd_str(&r);
  bool ok = !r.bad && rd_list(&r, &c->args, &c->n_args) && rd_list(&r, &c->env, &c->n_env);
  if (!ok || r.bad || kafu_rd_left(&r) != 0) {
    kafu_node_ctx_free(c);
    return kafu_fail(err, KAFU_E_INPUT, "job context: malformed at offset %zu", kafu_rd_offset(&r));
  }
  return KAFU_OK;
}

static char **dup_list(const char **src, uint32_t n, bool *ok) {
  char **list = calloc(n ? n : 1, sizeof *list);
  if (!list) {
    *ok = false;
    return NULL;
  }
  for (uint32_t i = 0; i < n; i++)
    if (!(list[i] = strdup(src[i] ? src[i] : ""))) *ok = false;
  return list;
}

kafu_err kafu_node_ctx_from_submit(const kafu_msg *submit, kafu_node_ctx *c, kafu_error *err) {
  memset(c, 0, sizeof *c);
  bool ok = true;
  c->program =
      strdup(submit->u.submit.program && *submit->u.submit.program ? submit->u.submit.program
                                                                   : "app.wasm");
  c->args = dup_list(submit->u.submit.args, submit->u.submit.n_args, &ok);
  c->n_args = submit->u.submit.n_args;
  c->env = dup_list(submit->u.submit.env, submit->u.submit.n_env, &ok);
  c->n_env = submit->u.submit.n_env;
  c->flags = submit->u.submit.flags;
  c->chaos_seed = submit->u.submit.chaos_seed;
  if (!ok || !c->program) {
    kafu_node_ctx_free(c);
    return kafu_fail(err, KAFU_E_NOMEM, "out of memory");
  }
  return KAFU_OK;
}

/* ---- output ---- */

kafu_err kafu_node_job_emit(kafu_node_job *j, const kafu_msg *m, kafu_error *err) {
  kafu_node_daemon *d = j->d;
  if (!strcmp(j->coordinator, d->self->name)) {
    switch (m->type) {
    case KAFU_MSG_OUTPUT:
      return kafu_node_coord_put(d, j->id, KAFU_MSG_OUTPUT, m->u.output.out_seq, m->u.output.fd,
                                 m->u.output.data.data, m->u.output.data.len, err);
    case KAFU_MSG_EVENT:
      return kafu_node_coord_put(d, j->id, KAFU_MSG_EVENT, m->u.event.out_seq, 0,
                                 (const uint8_t *)m->u.event.text, strlen(m->u.event.text), err);
    case KAFU_MSG_EXIT: return kafu_node_coord_exit(d, j->id, m, err);
    default:
      return kafu_fail(err, KAFU_E_INTERNAL, "cannot emit %s", kafu_proto_type_name(m->type));
    }
  }
  kafu_node_peer *peer = kafu_node_peers_find(&d->peers, j->coordinator);
  if (!peer)
    return kafu_fail(err, KAFU_E_INPUT, "coordinator %s is not in the config", j->coordinator);
  kafu_err rc = KAFU_OK;
  pthread_mutex_lock(&peer->lock);
  for (int attempt = 0; attempt < 2; attempt++) {
    int fd = -1;
    rc = kafu_node_peer_fd(&d->peers, peer, &fd, err);
    if (rc) break;
    rc = kafu_node_send(fd, m, j->id, 0, NULL, err);
    if (!rc) break;
    kafu_node_peer_drop(peer); /* stale pooled connection: reconnect once */
  }
  pthread_mutex_unlock(&peer->lock);
  return rc;
}

static int output_hook(void *ud, int fd, const uint8_t *data, size_t len) {
  kafu_node_job *j = ud;
  kafu_msg m = {.type = KAFU_MSG_OUTPUT};
  kafu_error err = {0};
  /* Frames stay well below the protocol limit. */
  while (len > 0) {
    size_t chunk = len > (1u << 20) ? (1u << 20) : len;
    m.u.output.fd = (uint8_t)fd;
    m.u.output.out_seq = j->out_seq++;
    m.u.output.data.data = data;
    m.u.output.data.len = (uint32_t)chunk;
    if (kafu_node_job_emit(j, &m, &err)) {
      if (!j->failed_output)
        kafu_log(KAFU_LOG_WARN, j->d->self->name, "job %016llx: output lost: %s",
                 (unsigned long long)j->id, err.msg);
      j->failed_output = true;
      return -1;
    }
    data += chunk;
    len -= chunk;
  }
  return 0;
}

/* ---- creation ---- */

/* A fresh engine instance for j (argv, preopens, output hook, policy,
 * delta baselines) in j->job, which must be NULL. */
static kafu_err new_instance(kafu_node_job *j, kafu_error *err) {
  kafu_node_daemon *d = j->d;
  kafu_err rc = KAFU_OK;
  const char **argv = NULL;
  const kafu_program *prog = NULL;
  if ((rc = kafu_node_module_program(d, j->mod, &prog, err))) goto out;

  argv = calloc((size_t)j->ctx.n_args + 2, sizeof *argv);
  if (!argv) {
    rc = kafu_fail(err, KAFU_E_NOMEM, "out of memory");
    goto out;
  }
  argv[0] = j->ctx.program;
  for (uint32_t i = 0; i < j->ctx.n_args; i++)
    argv[i + 1] = j->ctx.args[i];
  /* The preopened dir is the program's "/" and ".". Every node preopens the
   * same guest names, an empty dir when it has none: wasi-libc reads the
   * preopen table once at start, so it must mean the same on every node. */
  kafu_wasi_preopen pre[2];
  size_t n_pre = 0;
  const char *root = d->self->preopened_dir ? d->self->preopened_dir : d->empty_root;
  if (root) {
    pre[n_pre++] = (kafu_wasi_preopen){root, "/"};
    pre[n_pre++] = (kafu_wasi_preopen){root, "."};
  }
  kafu_job_config cfg = {
      .program = prog,
      .node = d->self->name,
      .wasi = {.argc = (int)j->ctx.n_args + 1,
               .argv = argv,
               .envc = (int)j->ctx.n_env,
               .envp = (const char *const *)j->ctx.env,
               .n_preopens = n_pre,
               .preopens = pre,
               .output = output_hook,
               .output_ud = j,
               .stdin_fd = -1},
      .policy = kafu_node_policy_decide,
      .policy_ud = &j->pol,
      .job_id = j->id,
      .snapshot_opts = {.compress = d->cfg->migration.memory_compression},
      .snapshot_opts_for = kafu_node_delta_opts_for,
      .snapshot_ud = j,
  };
  if ((rc = kafu_job_new(&cfg, &j->job, err))) goto out;
  j->pol.job = j->job;
  j->pol.meta = &prog->meta;
out:
  free(argv);
  return rc;
}

/* The per-visit fields of j: where output goes, the travelling context
 * (taken from *ctx, emptied) and a fresh policy state. */
static void init_visit(kafu_node_job *j, const char *coordinator, uint64_t out_seq,
                       kafu_node_ctx *ctx) {
  kafu_node_daemon *d = j->d;
  snprintf(j->coordinator, sizeof j->coordinator, "%s", coordinator);
  j->out_seq = out_seq;
  kafu_node_ctx_free(&j->ctx);
  j->ctx = *ctx;
  memset(ctx, 0, sizeof *ctx);
  kafu_job *job = j->job;
  const kafu_meta *meta = j->pol.meta;
  memset(&j->pol, 0, sizeof j->pol);
  j->pol.job = job;
  j->pol.meta = meta;
  j->pol.mode =
      (j->ctx.flags & KAFU_SUBMIT_CHAOS) ? KAFU_NODE_POLICY_CHAOS : KAFU_NODE_POLICY_ANNOTATIONS;
  j->pol.cfg = d->cfg;
  j->pol.here = d->self->name;
  j->pol.offload = d->offload;
  j->pol.chaos_seed = j->ctx.chaos_seed;
  j->pol.chaos_every = d->opts.chaos_every ? d->opts.chaos_every : 1;
  j->pol.n_points = j->ctx.n_points;
  j->failed_output = false;
  j->stay_local = false;
  j->next = NULL;
}

kafu_err kafu_node_job_create(kafu_node_daemon *d, uint64_t id, const char *coordinator,
                              uint64_t out_seq, kafu_node_ctx *ctx, kafu_node_module *mod,
                              kafu_node_job **out, kafu_error *err) {
  kafu_err rc = KAFU_OK;
  kafu_node_job *j = calloc(1, sizeof *j);
  if (!j) return kafu_fail(err, KAFU_E_NOMEM, "out of memory");
  j->d = d;
  j->id = id;
  j->mod = mod;
  pthread_cond_init(&j->wake_cond, NULL);
  init_visit(j, coordinator, out_seq, ctx);
  if ((rc = new_instance(j, err))) goto out;
  *out = j;
  j = NULL;
out:
  kafu_node_job_free(j);
  return rc;
}

void kafu_node_job_reuse(kafu_node_job *j, const char *coordinator, uint64_t out_seq,
                         kafu_node_ctx *ctx) {
  init_visit(j, coordinator, out_seq, ctx);
}

/* A MAY_OFFLOAD handoff gave up: the job goes on here, restored from the
 * snapshot it was about to send into its own spent instance (whose memory
 * already is that image). */
static kafu_err stay_here(kafu_node_job *j, kafu_job_result *res, kafu_error *err) {
  kafu_err rc = kafu_node_delta_to_full(j, res, err);
  if (rc) return rc;
  kafu_node_delta_done(j);
  rc = kafu_job_restore(j->job, res->snapshot.data, res->snapshot.len, err);
  return rc ? kafu_error_prefix(err, "continuing here") : KAFU_OK;
}

void kafu_node_job_free(kafu_node_job *j) {
  if (!j) return;
  kafu_node_delta_done(j);
  kafu_job_free(j->job);
  kafu_node_ctx_free(&j->ctx);
  kafu_page_table_free(&j->table);
  pthread_cond_destroy(&j->wake_cond);
  free(j);
}

static void unregister(kafu_node_job *j) {
  kafu_node_daemon *d = j->d;
  pthread_mutex_lock(&d->lock);
  for (kafu_node_job **p = &d->jobs; *p; p = &(*p)->next)
    if (*p == j) {
      *p = j->next;
      break;
    }
  pthread_mutex_unlock(&d->lock);
}

static void send_exit(kafu_node_job *j, uint8_t status, int code, const char *message) {
  kafu_msg m = {.type = KAFU_MSG_EXIT};
  m.u.exit.status = status;
  m.u.exit.code = code;
  m.u.exit.node = j->d->self->name;
  m.u.exit.message = message ? message : "";
  m.u.exit.output_end = j->out_seq;
  kafu_error err = {0};
  if (kafu_node_job_emit(j, &m, &err))
    kafu_log(KAFU_LOG_ERROR, j->d->self->name, "job %016llx: cannot report its exit to %s: %s",
             (unsigned long long)j->id, j->coordinator, err.msg);
}

/* One visit of the job to this node: runs it until it exits, fails or
 * leaves for good. Returns whether it left (its instance is spent). */
static bool run_visit(kafu_node_job *j, kafu_job_result *res) {
  kafu_node_daemon *d = j->d;
  kafu_error err = {0};
  kafu_err rc;
  bool left = false;
  for (;;) {
    rc = kafu_job_run(j->job, res, &err);
    if (rc || res->outcome != KAFU_JOB_MIGRATE) break;
    j->stay_local = false;
    rc = kafu_node_job_migrate(j, res, &err);
    if (!rc && j->stay_local) rc = stay_here(j, res, &err);
    if (rc || !j->stay_local) {
      left = !rc;
      break;
    }
  }
  if (!rc && !left) {
    kafu_log(KAFU_LOG_INFO, d->self->name, "job %016llx: exit %d", (unsigned long long)j->id,
             res->exit_code);
    send_exit(j, KAFU_EXIT_CODE, res->exit_code, "");
  }
  if (rc) {
    kafu_log(KAFU_LOG_ERROR, d->self->name, "job %016llx: failed: %s", (unsigned long long)j->id,
             err.msg);
    send_exit(j, KAFU_EXIT_ERROR, 1, err.msg);
  }
  /* The job ended here: its baselines are of no use any more. */
  if (!left) {
    kafu_node_baselines_forget_job(&d->baselines, j->id);
    kafu_node_park_cancel(d, j->id);
  }
  return left;
}

/* A job's thread lives as long as the job has an instance here: after the
 * job leaves, the thread parks with it and waits, so that the job's next
 * visit starts without a thread spawn and on a stack whose pages are already
 * there (kafu_node_job_start wakes it, kafu_node_job_release ends it). The
 * snapshot buffer is kept across visits too. */
static void *job_thread(void *arg) {
  kafu_node_job *j = arg;
  kafu_node_daemon *d = j->d;
  kafu_job_result res;
  memset(&res, 0, sizeof res);
  for (;;) {
    kafu_buf keep = res.snapshot; /* warm for the next capture */
    memset(&res, 0, sizeof res);
    res.snapshot = keep;
    res.snapshot.len = 0;
    bool left = run_visit(j, &res);
    unregister(j);
    if (!left) break;
    /* Its spent instance holds the image dst got: parked for the return. */
    if (kafu_node_delta_on(d)) kafu_page_table_id(&j->table, j->image_id);
    /* Write tracking for its next departure, set up now rather than on the
     * return's pause (before parking: after it, a restore may take j). */
    if (j->job) kafu_job_track_settle(j->job);
    if (!kafu_node_park(d, j)) break;
    pthread_mutex_lock(&d->lock);
    while (!j->wake)
      pthread_cond_wait(&j->wake_cond, &d->lock);
    int wake = j->wake;
    j->wake = 0;
    pthread_mutex_unlock(&d->lock);
    if (wake != KAFU_NODE_WAKE_RUN) break;
  }
  kafu_buf_free(&res.snapshot);
  j->has_thread = false;
  kafu_node_job_free(j);
  kafu_node_thread_done(d);
  return NULL;
}

void kafu_node_job_release(kafu_node_job *j) {
  if (!j) return;
  if (!j->has_thread) {
    kafu_node_job_free(j);
    return;
  }
  pthread_mutex_lock(&j->d->lock);
  j->wake = KAFU_NODE_WAKE_EXIT;
  pthread_cond_signal(&j->wake_cond);
  pthread_mutex_unlock(&j->d->lock);
}

kafu_err kafu_node_job_start(kafu_node_job *j, kafu_error *err) {
  kafu_node_daemon *d = j->d;
  pthread_mutex_lock(&d->lock);
  j->next = d->jobs;
  d->jobs = j;
  if (j->has_thread) { /* a parked job: its thread is waiting */
    j->wake = KAFU_NODE_WAKE_RUN;
    pthread_cond_signal(&j->wake_cond);
    pthread_mutex_unlock(&d->lock);
    return KAFU_OK;
  }
  j->has_thread = true;
  pthread_mutex_unlock(&d->lock);
  kafu_err rc = kafu_node_spawn(d, job_thread, j, err);
  if (rc) {
    unregister(j);
    j->has_thread = false;
    kafu_node_job_free(j);
  }
  return rc;
}
