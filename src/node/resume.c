/* kafu resume, node side (resume.h): a MIGRATE from a client turns this node
 * into the job's coordinator and first runner, like a SUBMIT that starts from
 * a snapshot instead of _start. */
#include <inttypes.h>
#include <string.h>

#include "node/resume.h"
#include "util/log.h"

bool kafu_node_is_resume(const kafu_node_daemon *d, const kafu_node_frame *f) {
  return f->h.type == KAFU_MSG_MIGRATE && !strcmp(f->msg.u.migrate.src_node, KAFU_NODE_RESUME_SRC) &&
         !strcmp(f->msg.u.migrate.origin, d->self->name);
}

static bool job_known(kafu_node_daemon *d, uint64_t id) {
  bool known = false;
  pthread_mutex_lock(&d->lock);
  for (kafu_node_job *j = d->jobs; j && !known; j = j->next) known = j->id == id;
  pthread_mutex_unlock(&d->lock);
  return known;
}

void kafu_node_resume_serve(kafu_node_daemon *d, int fd, kafu_node_frame *f) {
  uint64_t id = f->h.job_id;
  if (id == 0 || job_known(d, id) || kafu_node_coord_find(d, id)) {
    kafu_msg m = {.type = KAFU_MSG_NACK};
    m.u.fail.code = KAFU_PROTO_DUPLICATE_JOB;
    m.u.fail.message = "this job is still running or coordinated here; nothing to resume";
    (void)kafu_node_send(fd, &m, id, 0, NULL, NULL);
    return;
  }
  kafu_node_coord *c = kafu_node_coord_new(d, id);
  if (!c) {
    kafu_node_send_error(fd, id, 0, KAFU_PROTO_INTERNAL, "out of memory");
    return;
  }
  pthread_mutex_lock(&c->lock);
  c->next_seq = f->msg.u.migrate.next_output_seq;
  pthread_mutex_unlock(&c->lock);
  kafu_log(KAFU_LOG_INFO, d->self->name, "job %016" PRIx64 ": resume requested (%s, next output %" PRIu64 ")",
           id, f->msg.u.migrate.function[0] ? f->msg.u.migrate.function : "-",
           f->msg.u.migrate.next_output_seq);
  (void)kafu_node_job_receive(d, fd, f);
  /* Started if it runs here now or already reported its end. */
  pthread_mutex_lock(&c->lock);
  bool started = c->exited || c->pending;
  pthread_mutex_unlock(&c->lock);
  if (!started) started = job_known(d, id);
  if (!started) {
    kafu_node_coord_discard(d, c);
    return;
  }
  kafu_node_coord_stream(d, c, fd);
}
