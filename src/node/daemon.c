/* kafu serve's core: binds the node's address, accepts connections, counts
 * threads, sends heartbeats to the first node and applies
 * follower_on_coordinator_lost, and shuts down on a signal or SHUTDOWN. */
#define _GNU_SOURCE
#include "node/daemon.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "node/heartbeat.h"
#include "node/net.h"
#include "util/file.h"
#include "util/log.h"

static volatile int *g_stop; /* for the signal handler */

static void on_signal(int sig) {
  (void)sig;
  if (g_stop) *g_stop = 1;
}

kafu_err kafu_node_spawn(kafu_node_daemon *d, void *(*fn)(void *), void *arg, kafu_error *err) {
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  /* Engines run Wasm on this stack (the interpreter keeps its own frames on
   * the heap; aot code recurses natively). */
  pthread_attr_setstacksize(&attr, 64u << 20);
  pthread_mutex_lock(&d->lock);
  d->n_threads++;
  pthread_mutex_unlock(&d->lock);
  pthread_t t;
  int e = pthread_create(&t, &attr, fn, arg);
  pthread_attr_destroy(&attr);
  if (e) {
    kafu_node_thread_done(d);
    return kafu_fail(err, KAFU_E_IO, "cannot start a thread: %s", strerror(e));
  }
  return KAFU_OK;
}

void kafu_node_thread_done(kafu_node_daemon *d) {
  pthread_mutex_lock(&d->lock);
  d->n_threads--;
  pthread_cond_broadcast(&d->idle);
  pthread_mutex_unlock(&d->lock);
}

/* Followers send HEARTBEAT to the first node every interval_ms. After three
 * missed intervals (counted once the first node has answered once, or 10 s
 * after start) the coordinator counts as lost. */
static void *heartbeat_thread(void *arg) {
  kafu_node_daemon *d = arg;
  const kafu_config_node *first = kafu_config_first_node(d->cfg);
  uint64_t interval = d->cfg->heartbeat.interval_ms;
  int fd = -1;
  bool seen = false;
  d->last_coordinator_ok_ms = kafu_node_now_ms();
  while (!d->stop) {
    kafu_error err = {0};
    if (fd < 0 && kafu_node_connect(first->address, first->port, (int)interval, KAFU_HELLO_NODE,
                                    d->self->name, d->cfg->name, &fd, &err))
      fd = -1;
    if (fd >= 0) {
      kafu_msg hb = {.type = KAFU_MSG_HEARTBEAT};
      hb.u.heartbeat.node = d->self->name;
      hb.u.heartbeat.uptime_ms = (uint64_t)(kafu_node_now_ms() - d->started_ms);
      kafu_node_frame reply;
      if (kafu_node_request(fd, &hb, 0, (int)interval * 2 + 100, &reply, NULL, &err)) {
        close(fd);
        fd = -1;
      } else {
        seen = true;
        d->last_coordinator_ok_ms = kafu_node_now_ms();
      }
      kafu_node_frame_free(&reply);
    }
    double heard = atomic_load(&d->coordinator_heard_ms);
    if (heard > d->last_coordinator_ok_ms) {
      d->last_coordinator_ok_ms = heard;
      seen = true;
    }
    double silent = kafu_node_now_ms() - d->last_coordinator_ok_ms;
    double limit = seen ? 3.0 * interval + 100 : (10000 > 3.0 * interval ? 10000 : 3.0 * interval);
    if (silent > limit) {
      if (d->cfg->heartbeat.follower_on_coordinator_lost == KAFU_CONFIG_ON_LOST_SHUTDOWN_SELF) {
        kafu_log(KAFU_LOG_WARN, d->self->name,
                 "coordinator %s lost (no heartbeat reply for %.0f ms): shutting down", first->name,
                 silent);
        d->stop = 1;
        break;
      }
      kafu_log(KAFU_LOG_WARN, d->self->name, "coordinator %s lost (%.0f ms); ignoring", first->name,
               silent);
      d->last_coordinator_ok_ms = kafu_node_now_ms();
    }
    for (uint64_t slept = 0; slept < interval && !d->stop; slept += 50)
      usleep((useconds_t)((interval - slept < 50 ? interval - slept : 50) * 1000));
  }
  if (fd >= 0) close(fd);
  kafu_node_thread_done(d);
  return NULL;
}

static void accept_loop(kafu_node_daemon *d) {
  while (!d->stop) {
    int fd = -1;
    char peer[KAFU_NET_PEER_MAX];
    kafu_error ignored;
    if (kafu_net_accept(d->listen_fd, 100, &fd, peer, &ignored)) continue;
    kafu_node_conn_start(d, fd, peer);
  }
}

kafu_err kafu_node_serve(const kafu_config *cfg, const char *node_name,
                         const kafu_node_serve_opts *opts, kafu_error *err) {
  /* Snapshot-sized buffers and memories come and go with every migration:
   * keep them warm in the heap (64 MiB of fresh pages outweigh the whole
   * transfer). */
  kafu_runtime_keep_memory_warm();
  kafu_node_daemon *d = calloc(1, sizeof *d);
  if (!d) return kafu_fail(err, KAFU_E_NOMEM, "out of memory");
  kafu_err rc = KAFU_OK;
  d->cfg = cfg;
  d->listen_fd = -1;
  d->started_ms = kafu_node_now_ms();
  if (opts) d->opts = *opts;
  pthread_mutex_init(&d->lock, NULL);
  pthread_cond_init(&d->idle, NULL);
  pthread_cond_init(&d->parked_cond, NULL);
  d->self = kafu_config_find_node(cfg, node_name);
  if (!d->self) {
    rc = kafu_fail(err, KAFU_E_INPUT, "%s: no node '%s'", cfg->path, node_name);
    goto out;
  }
  const char *engine = kafu_config_engine_name(d->self->engine);
  d->engine = kafu_engine_find(engine);
  if (!d->engine && d->self->engine == KAFU_CONFIG_ENGINE_AOT) {
    d->engine = kafu_engine_find("interp");
    if (d->engine)
      kafu_log(KAFU_LOG_WARN, node_name, "engine aot is not built into this kafu; using interp");
  }
  if (!d->engine) {
    rc = kafu_fail(err, KAFU_E_INPUT, "%s: node %s: engine '%s' is not built into this kafu",
                   cfg->path, node_name, engine);
    goto out;
  }
  if (d->self->state_dir && kafu_mkdirs(d->self->state_dir, err)) {
    kafu_log(KAFU_LOG_WARN, node_name, "no state dir: %s", err->msg);
  } else if (!d->self->preopened_dir && d->self->state_dir) {
    size_t len = strlen(d->self->state_dir) + 8;
    d->empty_root = malloc(len);
    if (d->empty_root) {
      snprintf(d->empty_root, len, "%s/empty", d->self->state_dir);
      kafu_error ignored;
      if (kafu_mkdirs(d->empty_root, &ignored)) {
        free(d->empty_root);
        d->empty_root = NULL;
      }
    }
  }
  /* Pins the process (nodes.*.cpus) before any thread starts. */
  if (!(d->offload = calloc(1, sizeof *d->offload))) {
    rc = kafu_fail(err, KAFU_E_NOMEM, "out of memory");
    goto out;
  }
  if ((rc = kafu_node_offload_init(d->offload, cfg, d->self, err))) goto out;
  if ((rc = kafu_node_peers_init(&d->peers, cfg, d->self->name, 3000, err))) goto out;
  pthread_mutex_init(&d->hb_lock, NULL);
  d->last_heartbeat_ms = calloc(cfg->n_nodes ? cfg->n_nodes : 1, sizeof *d->last_heartbeat_ms);
  if (!d->last_heartbeat_ms) {
    rc = kafu_fail(err, KAFU_E_NOMEM, "out of memory");
    goto out;
  }
  if ((rc = kafu_net_listen(d->self->address, d->self->port, &d->listen_fd, err))) {
    kafu_error_prefix(err, d->self->name);
    goto out;
  }

  g_stop = &d->stop;
  struct sigaction sa = {.sa_handler = on_signal};
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
  signal(SIGPIPE, SIG_IGN);

  kafu_log(KAFU_LOG_INFO, node_name, "listening on %s:%u (engine %s, cluster %s, pid %d)",
           d->self->address, d->self->port, d->engine->name, cfg->name, (int)getpid());
  if (kafu_node_heartbeat_start(d, err))
    kafu_log(KAFU_LOG_WARN, node_name, "no peer heartbeats (offload policy blind): %s", err->msg);
  if (d->self != kafu_config_first_node(cfg) && kafu_node_spawn(d, heartbeat_thread, d, err))
    kafu_log(KAFU_LOG_WARN, node_name, "no heartbeat: %s", err->msg);
  accept_loop(d);
  kafu_log(KAFU_LOG_INFO, node_name, "stopping");
  close(d->listen_fd);
  d->listen_fd = -1;
  /* Parked jobs' threads end now. Give connection threads a moment to
   * notice; jobs still running die with the process (their coordinator
   * reports the node as gone). */
  kafu_node_park_forget(d, 0);
  pthread_mutex_lock(&d->lock);
  for (int i = 0; i < 20 && d->n_threads > 0; i++) {
    pthread_mutex_unlock(&d->lock);
    usleep(50 * 1000);
    pthread_mutex_lock(&d->lock);
  }
  unsigned left = d->n_threads;
  pthread_mutex_unlock(&d->lock);
  g_stop = NULL;
  if (left) {
    /* Threads still use d: leave it to the process exit. */
    return KAFU_OK;
  }
out:
  if (d->listen_fd >= 0) close(d->listen_fd);
  kafu_node_peers_free(&d->peers);
  free(d->empty_root);
  kafu_node_park_forget(d, 0); /* before the modules their programs use */
  kafu_node_baselines_free(&d->baselines);
  kafu_node_offload_free(d->offload);
  free(d->offload);
  free(d->last_heartbeat_ms);
  while (d->modules) {
    kafu_node_module *m = d->modules;
    d->modules = m->next;
    kafu_program_free(m->prog);
    free(m->wasm);
    pthread_mutex_destroy(&m->load_lock);
    free(m);
  }
  free(d);
  return rc;
}
