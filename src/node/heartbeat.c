/* The threads behind the offload view (offload.h): a load sampler that
 * feeds the meter several times per window (and sweeps parked instances), and one HEARTBEAT loop
 * per peer node on its own connection (not the pool, whose lock a long migration holds), recording
 * each reply's load, time and the peer's uptime (peers.h: how coordinators notice a node that
 * restarted). */
#include "node/heartbeat.h"

#include <stdlib.h>
#include <unistd.h>

#include "util/log.h"

/* Sleeps ms in 50 ms slices so a stopping daemon is not held up. */
static void nap(kafu_node_daemon *d, double ms) {
  for (double slept = 0; slept < ms && !d->stop; slept += 50)
    usleep((useconds_t)((ms - slept < 50 ? ms - slept : 50) * 1000));
}

static void *sampler_thread(void *arg) {
  kafu_node_daemon *d = arg;
  /* At most KAFU_LOAD_RING samples per window (load.h): 8 is plenty. */
  double every = d->self->offload.window_ms / 8.0;
  if (every < 10) every = 10;
  if (every > 250) every = 250;
  double last_sweep = kafu_node_now_ms();
  while (!d->stop) {
    double now = kafu_node_now_ms();
    kafu_node_offload_sample(d->offload, now);
    if (now - last_sweep >= KAFU_NODE_SWEEP_MS) { /* rides along: see daemon.h */
      kafu_node_park_sweep(d, now);
      last_sweep = now;
    }
    nap(d, every);
  }
  kafu_node_thread_done(d);
  return NULL;
}

typedef struct hb_arg {
  kafu_node_daemon *d;
  const kafu_config_node *peer;
} hb_arg;

static void *peer_thread(void *arg) {
  hb_arg a = *(hb_arg *)arg;
  free(arg);
  kafu_node_daemon *d = a.d;
  uint64_t interval = d->cfg->heartbeat.interval_ms;
  int fd = -1;
  while (!d->stop) {
    double started = kafu_node_now_ms();
    kafu_error err = {0};
    if (fd < 0 && kafu_node_connect(a.peer->address, a.peer->port, (int)interval + 100,
                                    KAFU_HELLO_NODE, d->self->name, d->cfg->name, &fd, &err))
      fd = -1;
    if (fd >= 0) {
      kafu_msg hb = {.type = KAFU_MSG_HEARTBEAT};
      hb.u.heartbeat.node = d->self->name;
      hb.u.heartbeat.load_permille = kafu_node_offload_load_permille(d->offload);
      hb.u.heartbeat.uptime_ms = (uint64_t)(kafu_node_now_ms() - d->started_ms);
      kafu_node_frame reply;
      double sent = kafu_node_now_ms();
      if (kafu_node_request(fd, &hb, 0, (int)interval + 100, &reply, NULL, &err) ||
          reply.h.type != KAFU_MSG_HEARTBEAT) {
        close(fd);
        fd = -1;
      } else {
        double now = kafu_node_now_ms();
        kafu_node_offload_note_peer(d->offload, a.peer->name, reply.msg.u.heartbeat.load_permille,
                                    now);
        /* Its coordinators tell a restarted node from a live one by this. */
        kafu_node_peers_note_reply(&d->peers, a.peer->name, sent, now,
                                   reply.msg.u.heartbeat.uptime_ms);
      }
      kafu_node_frame_free(&reply);
    }
    double spent = kafu_node_now_ms() - started;
    nap(d, spent < (double)interval ? (double)interval - spent : 0);
  }
  if (fd >= 0) close(fd);
  kafu_node_thread_done(d);
  return NULL;
}

kafu_err kafu_node_heartbeat_start(kafu_node_daemon *d, kafu_error *err) {
  kafu_err rc = kafu_node_spawn(d, sampler_thread, d, err);
  for (size_t i = 0; !rc && i < d->cfg->n_nodes; i++) {
    const kafu_config_node *peer = &d->cfg->nodes[i];
    if (peer == d->self) continue;
    hb_arg *a = malloc(sizeof *a);
    if (!a) return kafu_fail(err, KAFU_E_NOMEM, "out of memory");
    a->d = d;
    a->peer = peer;
    if ((rc = kafu_node_spawn(d, peer_thread, a, err))) free(a);
  }
  return rc;
}
