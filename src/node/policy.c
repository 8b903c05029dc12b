/* The node's kafu_policy_fn: annotations by default, the manual offload
 * trigger at polls, and the deterministic --chaos mode. */
#include "node/policy.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "node/offload.h"
#include "node/proto.h"

double kafu_node_now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

uint64_t kafu_node_wall_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* splitmix64: a good, tiny, stateless mixer. */
static uint64_t mix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

int kafu_node_policy_chaos_pick(uint64_t seed, uint64_t n, uint32_t every, size_t n_nodes) {
  if (n_nodes == 0) return -1;
  uint64_t r = mix64(seed ^ mix64(n));
  if (every > 1 && (r >> 32) % every != 0) return -1;
  return (int)((r & 0xffffffffu) % n_nodes);
}

static kafu_decision migrate_to(kafu_node_policy *pol, const kafu_point *pt, const char *dst,
                                uint8_t reason) {
  kafu_decision d = {KAFU_MIGRATE, ""};
  snprintf(d.dst, sizeof d.dst, "%s", dst);
  pol->reason = reason;
  pol->site_id = pt->site_id;
  snprintf(pol->function, sizeof pol->function, "%s", pt->site ? pt->site->func : "");
  pol->decided_ms = kafu_node_now_ms();
  return d;
}

/* Whether a KAFU_DEST frame lies inside the innermost MAY_OFFLOAD frame: a
 * DEST function called from an offload region (the people counter's camera
 * read) is pinned to its node until it returns, so its polls must not move. */
static bool inside_dest(const kafu_node_policy *pol, const kafu_point *pt) {
  if (!pol->job || !pol->meta || !pt->offload) return false;
  size_t depth = 0;
  const kafu_mig_frame *stack = kafu_job_stack(pol->job, &depth);
  for (size_t i = depth; i-- > 0 && &stack[i] != pt->offload;) {
    uint32_t site = stack[i].site_id;
    if (site < pol->meta->n_sites && pol->meta->sites[site].kind == KAFU_SITE_DEST) return true;
  }
  return false;
}

kafu_decision kafu_node_policy_decide(void *ud, const kafu_point *pt) {
  kafu_node_policy *pol = ud;
  kafu_decision stay = {KAFU_STAY, ""};
  pol->n_points++;
  uint8_t reason = pt->kind == KAFU_POINT_ENTER   ? KAFU_MIGRATE_DEST
                   : pt->kind == KAFU_POINT_LEAVE ? KAFU_MIGRATE_RETURN
                                                  : KAFU_MIGRATE_OFFLOAD;
  if (pol->mode == KAFU_NODE_POLICY_CHAOS) {
    int idx = kafu_node_policy_chaos_pick(pol->chaos_seed, pol->n_points, pol->chaos_every,
                                          pol->cfg->n_nodes);
    if (idx < 0 || !strcmp(pol->cfg->nodes[idx].name, pol->here)) return stay;
    return migrate_to(pol, pt, pol->cfg->nodes[idx].name, reason);
  }
  if (pt->kind == KAFU_POINT_POLL) {
    /* Manual offload (kafu offload): move to the innermost MAY_OFFLOAD
     * region's node whatever the policy. Otherwise the node's
     * offload.policy, own load and the destination's heartbeats decide. */
    if (!pt->natural_dst || inside_dest(pol, pt)) return stay;
    if (pol->job && kafu_job_offload_requested(pol->job))
      return migrate_to(pol, pt, pt->natural_dst, reason);
    if (kafu_node_offload_should(pol->offload, pt->natural_dst))
      return migrate_to(pol, pt, pt->natural_dst, reason);
    return stay;
  }
  if (pt->natural_dst) return migrate_to(pol, pt, pt->natural_dst, reason);
  return stay;
}
