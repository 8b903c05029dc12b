/* The node side of `kafu resume`: a client hands a node the MIGRATE of a
 * failed KAFU_DEST migration (from a resume file); the node becomes the
 * job's new coordinator, restores it, and streams its output to that client
 * as after a SUBMIT. docs/failures.md. */
#ifndef KAFU_NODE_RESUME_H
#define KAFU_NODE_RESUME_H

#include <stdbool.h>

#include "node/daemon.h"

/* The src_node a resume client puts in its MIGRATE; not a valid config node
 * name (names hold no '!'), so no peer can send it by accident. */
#define KAFU_NODE_RESUME_SRC "kafu-resume!"

/* True if MIGRATE f is a resume request: src_node is KAFU_NODE_RESUME_SRC
 * and origin names this node. */
bool kafu_node_is_resume(const kafu_node_daemon *d, const kafu_node_frame *f);

/* Serves a resume request on client connection fd: refuses a job that is
 * still known here (NACK duplicate job), else creates the coordinator
 * record (output numbering continues at next_output_seq), runs the normal
 * MIGRATE/ACK/COMMIT receive and, once the job started, streams its output
 * and exit to fd. Returns when the stream ended; the connection is done. */
void kafu_node_resume_serve(kafu_node_daemon *d, int fd, kafu_node_frame *f);

#endif
