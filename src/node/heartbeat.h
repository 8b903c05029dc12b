/* Peer heartbeats and load sampling: started by kafu serve, they keep
 * d->offload (offload.h) and each peer's liveness (d->peers, peers.h)
 * current. */
#ifndef KAFU_NODE_HEARTBEAT_H
#define KAFU_NODE_HEARTBEAT_H

#include "node/daemon.h"

/* Starts the load sampler and one HEARTBEAT thread per other node of the
 * config; they run until d->stop. Each reply updates the offload view and
 * kafu_node_peers_note_reply. d->offload must be initialized. Errors:
 * KAFU_E_IO when a thread cannot start, KAFU_E_NOMEM. */
kafu_err kafu_node_heartbeat_start(kafu_node_daemon *d, kafu_error *err);

#endif
