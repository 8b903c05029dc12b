/* Local cluster processes for kafu run: fork/exec `kafu serve` per node,
 * wait for them to accept, and stop them all. */
#define _GNU_SOURCE
#include "node/cluster.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "node/peers.h"
#include "node/policy.h"
#include "util/file.h"

static void child_exec(const kafu_node_cluster_opts *opts, const kafu_config_node *n,
                       const char *log_path, pid_t parent) {
  /* Die with kafu run even if it is killed with SIGKILL. */
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() != parent) _exit(1);
  int devnull = open("/dev/null", O_RDWR);
  if (devnull >= 0) {
    dup2(devnull, 0);
    dup2(devnull, 1);
  }
  if (log_path) {
    int fd = open(log_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd >= 0) dup2(fd, 2);
  }
  char every[24];
  const char *argv[10];
  int argc = 0;
  argv[argc++] = "kafu";
  argv[argc++] = "serve";
  argv[argc++] = "--config";
  argv[argc++] = opts->config_path;
  argv[argc++] = "--node";
  argv[argc++] = n->name;
  if (opts->chaos_every) {
    snprintf(every, sizeof every, "%u", opts->chaos_every);
    argv[argc++] = "--chaos-every";
    argv[argc++] = every;
  }
  argv[argc] = NULL;
  execv(opts->exe ? opts->exe : "/proc/self/exe", (char *const *)argv);
  fprintf(stderr, "kafu run: cannot exec %s: %s\n", opts->exe ? opts->exe : "/proc/self/exe",
          strerror(errno));
  _exit(127);
}

kafu_err kafu_node_cluster_start(const kafu_config *cfg, const kafu_node_cluster_opts *opts,
                                 kafu_node_cluster *cl, kafu_error *err) {
  memset(cl, 0, sizeof *cl);
  cl->cfg = cfg;
  cl->n = cfg->n_nodes;
  cl->pids = calloc(cl->n ? cl->n : 1, sizeof *cl->pids);
  cl->log_paths = calloc(cl->n ? cl->n : 1, sizeof *cl->log_paths);
  if (!cl->pids || !cl->log_paths) return kafu_fail(err, KAFU_E_NOMEM, "out of memory");
  /* /proc/self/exe must be resolved here: in the child it is still kafu, but
   * resolving once gives a clear error if the binary was replaced. */
  char exe[4096];
  kafu_node_cluster_opts o = *opts;
  if (!o.exe) {
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
      exe[n] = '\0';
      o.exe = exe;
    }
  }
  fflush(NULL);
  for (size_t i = 0; i < cl->n; i++) {
    const kafu_config_node *n = &cfg->nodes[i];
    if (!o.logs_to_stderr && n->state_dir) {
      kafu_error ignored;
      if (!kafu_mkdirs(n->state_dir, &ignored)) {
        size_t len = strlen(n->state_dir) + 16;
        cl->log_paths[i] = malloc(len);
        if (cl->log_paths[i]) snprintf(cl->log_paths[i], len, "%s/serve.log", n->state_dir);
      }
    }
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) {
      kafu_fail(err, KAFU_E_IO, "cannot start node %s: fork: %s", n->name, strerror(errno));
      kafu_node_cluster_stop(cl, 500);
      return KAFU_E_IO;
    }
    if (pid == 0) child_exec(&o, n, cl->log_paths[i], parent);
    cl->pids[i] = pid;
  }
  return KAFU_OK;
}

int kafu_node_cluster_check(kafu_node_cluster *cl, int *status) {
  for (size_t i = 0; i < cl->n; i++) {
    if (cl->pids[i] <= 0) continue;
    int st = 0;
    pid_t r = waitpid(cl->pids[i], &st, WNOHANG);
    if (r == cl->pids[i]) {
      cl->pids[i] = 0;
      if (status) *status = st;
      return (int)i;
    }
  }
  return -1;
}

/* The last line of a node's log, for error messages. */
static void last_log_line(const char *path, char *out, size_t cap) {
  out[0] = '\0';
  uint8_t *data = NULL;
  size_t len = 0;
  kafu_error ignored;
  if (!path || kafu_file_read(path, &data, &len, &ignored)) return;
  while (len > 0 && (data[len - 1] == '\n' || data[len - 1] == '\r')) len--;
  size_t start = len;
  while (start > 0 && data[start - 1] != '\n') start--;
  snprintf(out, cap, "%.*s", (int)(len - start), (const char *)data + start);
  free(data);
}

kafu_err kafu_node_cluster_wait_ready(kafu_node_cluster *cl, int timeout_ms, kafu_error *err) {
  double deadline = kafu_node_now_ms() + timeout_ms;
  for (size_t i = 0; i < cl->n; i++) {
    const kafu_config_node *n = &cl->cfg->nodes[i];
    for (;;) {
      int st = 0, dead = kafu_node_cluster_check(cl, &st);
      if (dead >= 0) {
        char line[400];
        last_log_line(cl->log_paths[dead], line, sizeof line);
        return kafu_fail(err, KAFU_E_IO, "node %s exited at startup (status %d)%s%s",
                         cl->cfg->nodes[dead].name,
                         WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st),
                         line[0] ? ": " : "", line);
      }
      int fd = -1;
      kafu_error ignored;
      if (!kafu_node_connect(n->address, n->port, 500, KAFU_HELLO_CLIENT, "kafu-run", cl->cfg->name,
                             &fd, &ignored)) {
        close(fd);
        break;
      }
      if (kafu_node_now_ms() > deadline)
        return kafu_fail(err, KAFU_E_IO, "node %s does not accept on %s:%u after %d ms%s%s",
                         n->name, n->address, n->port, timeout_ms,
                         cl->log_paths[i] ? "; see " : "", cl->log_paths[i] ? cl->log_paths[i] : "");
      usleep(20 * 1000);
    }
  }
  return KAFU_OK;
}

void kafu_node_cluster_stop(kafu_node_cluster *cl, int grace_ms) {
  if (!cl->pids) return;
  for (size_t i = 0; i < cl->n; i++)
    if (cl->pids[i] > 0) kill(cl->pids[i], SIGTERM);
  double deadline = kafu_node_now_ms() + grace_ms;
  for (;;) {
    bool left = false;
    for (size_t i = 0; i < cl->n; i++) {
      if (cl->pids[i] <= 0) continue;
      if (waitpid(cl->pids[i], NULL, WNOHANG) == cl->pids[i]) cl->pids[i] = 0;
      else left = true;
    }
    if (!left) break;
    if (kafu_node_now_ms() > deadline) {
      for (size_t i = 0; i < cl->n; i++)
        if (cl->pids[i] > 0) {
          kill(cl->pids[i], SIGKILL);
          waitpid(cl->pids[i], NULL, 0);
          cl->pids[i] = 0;
        }
      break;
    }
    usleep(10 * 1000);
  }
  for (size_t i = 0; i < cl->n; i++) free(cl->log_paths[i]);
  free(cl->log_paths);
  free(cl->pids);
  memset(cl, 0, sizeof *cl);
}
