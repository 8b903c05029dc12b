/* Peer heartbeats and load sampling for the offload policy: started by
 * kafu serve, they keep d->offload (offload.h) current. */
#ifndef KAFU_NODE_HEARTBEAT_H
#define KAFU_NODE_HEARTBEAT_H

#include "node/daemon.h"

/* Starts the load sampler and one HEARTBEAT thread per other node of the
 * config; they run until d->stop. d->offload must be initialized. Errors:
 * KAFU_E_IO when a thread cannot start, KAFU_E_NOMEM. */
kafu_err kafu_node_heartbeat_start(kafu_node_daemon *d, kafu_error *err);

#endif
