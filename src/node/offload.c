/* The offload rule and the node state it reads: own load from the meter,
 * peers' liveness and load from HEARTBEAT replies. The threads that feed it
 * live in heartbeat.c. */
#include "node/offload.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "node/policy.h"
#include "util/log.h"

kafu_offload_verdict kafu_offload_judge(const kafu_offload_inputs *in) {
  double own = in->own_load < 0 ? 0.0 : in->own_load;
  switch (in->policy) {
  case KAFU_CONFIG_OFFLOAD_NEVER: return KAFU_OFFLOAD_NO_POLICY_NEVER;
  case KAFU_CONFIG_OFFLOAD_LOAD:
    if (in->own_load < 0 || own < in->cpu_threshold) return KAFU_OFFLOAD_NO_NOT_LOADED;
    break;
  case KAFU_CONFIG_OFFLOAD_ALWAYS: break;
  }
  if (!in->dst_alive) return KAFU_OFFLOAD_NO_DST_DEAD;
  /* `always` forces the move: nodes of one machine (or any busy machine) read
   * nearly the same load, and comparing noise would make it random. */
  if (in->policy == KAFU_CONFIG_OFFLOAD_LOAD && !(in->dst_load < own)) return KAFU_OFFLOAD_NO_DST_BUSIER;
  return KAFU_OFFLOAD_GO;
}

const char *kafu_offload_verdict_text(kafu_offload_verdict v) {
  switch (v) {
  case KAFU_OFFLOAD_GO: return "offload";
  case KAFU_OFFLOAD_NO_POLICY_NEVER: return "stay: policy never";
  case KAFU_OFFLOAD_NO_NOT_LOADED: return "stay: this node is not loaded";
  case KAFU_OFFLOAD_NO_DST_DEAD: return "stay: no recent heartbeat from the destination";
  case KAFU_OFFLOAD_NO_DST_BUSIER: return "stay: the destination is not less loaded";
  }
  return "?";
}

kafu_err kafu_node_offload_init(kafu_node_offload *o, const kafu_config *cfg, const kafu_config_node *self,
                                kafu_error *err) {
  memset(o, 0, sizeof *o);
  o->cfg = cfg;
  o->self = self;
  o->own_load = -1.0;
  pthread_mutex_init(&o->lock, NULL);
  o->peers = calloc(cfg->n_nodes ? cfg->n_nodes : 1, sizeof *o->peers);
  if (!o->peers) return kafu_fail(err, KAFU_E_NOMEM, "out of memory");
  o->n_peers = cfg->n_nodes;
  for (size_t i = 0; i < cfg->n_nodes; i++) o->peers[i].node = &cfg->nodes[i];
  kafu_err e;
  if (self->cpus) {
    kafu_cpuset want;
    if ((e = kafu_affinity_parse(self->cpus, &want, err)) || (e = kafu_affinity_apply(&want, err)))
      return kafu_error_prefix(err, self->name);
  }
  if ((e = kafu_affinity_current(&o->cpus, err))) return kafu_error_prefix(err, self->name);
  o->pinned = !kafu_affinity_is_all_online(&o->cpus);
  kafu_load_meter_init(&o->meter, self->offload.window_ms, NULL);
  o->meter.cpus = o->pinned ? &o->cpus : NULL;
  o->meter.self_stat_path = "/proc/self/stat";
  /* A first load before the node answers any HEARTBEAT: on the wire an
   * unknown load would read as 0 (idle) and attract offloads. */
  kafu_node_offload_sample(o, kafu_node_now_ms());
  usleep(50 * 1000);
  kafu_node_offload_sample(o, kafu_node_now_ms());
  return KAFU_OK;
}

void kafu_node_offload_free(kafu_node_offload *o) {
  if (!o) return;
  free(o->peers);
  pthread_mutex_destroy(&o->lock);
  memset(o, 0, sizeof *o);
}

void kafu_node_offload_sample(kafu_node_offload *o, double now_ms) {
  double load = -1.0;
  kafu_error err = {0};
  if (kafu_load_meter_update(&o->meter, (int64_t)now_ms, &load, &err)) {
    static int warned;
    if (!warned++) kafu_log(KAFU_LOG_WARN, o->self->name, "no CPU load: %s", err.msg);
    return;
  }
  pthread_mutex_lock(&o->lock);
  o->own_load = load;
  pthread_mutex_unlock(&o->lock);
}

uint32_t kafu_node_offload_load_permille(kafu_node_offload *o) {
  if (!o) return 0;
  pthread_mutex_lock(&o->lock);
  double load = o->own_load;
  pthread_mutex_unlock(&o->lock);
  return kafu_load_permille(load);
}

static kafu_offload_peer *find_peer(kafu_node_offload *o, const char *name) {
  for (size_t i = 0; i < o->n_peers; i++)
    if (!strcmp(o->peers[i].node->name, name)) return &o->peers[i];
  return NULL;
}

void kafu_node_offload_note_peer(kafu_node_offload *o, const char *name, uint32_t load_permille, double now_ms) {
  pthread_mutex_lock(&o->lock);
  kafu_offload_peer *p = find_peer(o, name);
  if (p) {
    p->last_reply_ms = now_ms;
    p->load_permille = load_permille > 1000 ? 1000 : load_permille;
  }
  pthread_mutex_unlock(&o->lock);
}

void kafu_node_offload_note_alive(kafu_node_offload *o, const char *name, double now_ms) {
  if (!o) return;
  pthread_mutex_lock(&o->lock);
  kafu_offload_peer *p = find_peer(o, name);
  if (p) p->heard_ms = now_ms;
  pthread_mutex_unlock(&o->lock);
}

bool kafu_node_offload_should(kafu_node_offload *o, const char *dst) {
  if (!o || !dst) return false;
  double now = kafu_node_now_ms();
  double alive_ms = KAFU_OFFLOAD_ALIVE_INTERVALS * (double)o->cfg->heartbeat.interval_ms + 100.0;
  pthread_mutex_lock(&o->lock);
  kafu_offload_peer *p = find_peer(o, dst);
  /* A job that just arrived from dst proves it alive before its first
   * heartbeat reply; the load policy still needs a heartbeat's load. */
  double seen = p ? (p->last_reply_ms > p->heard_ms ? p->last_reply_ms : p->heard_ms) : 0;
  bool load_known = p && p->last_reply_ms > 0;
  kafu_offload_inputs in = {
      .policy = o->self->offload.policy,
      .cpu_threshold = o->self->offload.cpu_threshold,
      .own_load = o->own_load,
      .dst_alive = seen > 0 && now - seen <= alive_ms &&
                   (load_known || o->self->offload.policy != KAFU_CONFIG_OFFLOAD_LOAD),
      .dst_load = p ? p->load_permille / 1000.0 : 1.0,
  };
  kafu_offload_verdict v = kafu_offload_judge(&in);
  bool log = p && (v == KAFU_OFFLOAD_GO || !p->logged || p->last_verdict != v);
  if (p) {
    p->last_verdict = v;
    p->logged = true;
  }
  pthread_mutex_unlock(&o->lock);
  if (log)
    kafu_log(KAFU_LOG_INFO, o->self->name,
             "offload to %s? %s (policy %s, load here %.2f, threshold %.2f; %s: %s, load %.2f)", dst,
             kafu_offload_verdict_text(v), kafu_config_offload_policy_name(in.policy), in.own_load,
             in.cpu_threshold, dst, in.dst_alive ? "alive" : "no heartbeat", in.dst_load);
  return v == KAFU_OFFLOAD_GO;
}
