/* The sandbox: resolves guest paths one component at a time below a preopen's
 * root fd. Every step uses openat(O_NOFOLLOW) and symlinks are expanded here
 * (with a limit), so neither `..`, absolute paths nor symlinks (inside the
 * preopen or chained) can reach a directory outside it. The kernel never
 * follows a symlink on our behalf. */
#define _GNU_SOURCE /* O_PATH, ppoll, renameat, strndup */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "wasi/wasi_int.h"

#define WALK_MAX_DEPTH 256 /* directory fds held open during one walk */
#define WALK_MAX_SYMLINKS 40

typedef struct walk {
  int fds[WALK_MAX_DEPTH + 1];          /* fds[0] = preopen root (borrowed), others owned */
  size_t canon_len[WALK_MAX_DEPTH + 1]; /* length of canon at each depth */
  size_t depth;
  char canon[WASI_MAX_PATH * 2]; /* canonical path of fds[depth] below the root */
} walk;

/* Appends a component to canon; false if the canonical path grows too long. */
static bool canon_push(walk *wk, const char *comp, size_t len) {
  size_t cur = wk->canon_len[wk->depth];
  size_t need = cur + (cur ? 1 : 0) + len;
  if (need >= sizeof wk->canon) return false;
  if (cur) wk->canon[cur++] = '/';
  memcpy(wk->canon + cur, comp, len);
  wk->canon[need] = '\0';
  return true;
}

/* Replaces *rem with link + "/" + rest, or just link if rest is empty. */
static bool splice_link(char **rem, const char *link, size_t link_len, const char *rest) {
  size_t rest_len = strlen(rest);
  char *next = malloc(link_len + 1 + rest_len + 1);
  if (!next) return false;
  memcpy(next, link, link_len);
  if (rest_len) { /* a bare "" rest must not invent a trailing '/' */
    next[link_len] = '/';
    memcpy(next + link_len + 1, rest, rest_len + 1);
  } else {
    next[link_len] = '\0';
  }
  free(*rem);
  *rem = next;
  return true;
}

void kafu_wasi_resolved_free(wasi_resolved *r) {
  if (r->dir_fd >= 0) close(r->dir_fd);
  free(r->name);
  free(r->rel_path);
  r->dir_fd = -1;
  r->name = r->rel_path = NULL;
}

uint16_t kafu_wasi_resolve_in(kafu_wasi *w, uint32_t preopen, const char *rel_prefix,
                              const uint8_t *path, size_t path_len, bool follow_last,
                              wasi_resolved *out) {
  uint16_t rc = WASI_ESUCCESS;
  memset(out, 0, sizeof *out);
  out->dir_fd = -1;
  if (preopen >= w->n_preopens) return WASI_EBADF;
  if (path_len == 0) return WASI_ENOENT;
  if (path_len > WASI_MAX_PATH) return WASI_ENAMETOOLONG;
  if (memchr(path, '\0', path_len)) return WASI_EINVAL;
  if (path[0] == '/') return WASI_ENOTCAPABLE; /* absolute paths never name a preopen's inside */

  walk *wk = malloc(sizeof *wk);
  if (wk) wk->depth = 0;
  size_t prefix_len = strlen(rel_prefix);
  char *rem = malloc(prefix_len + 1 + path_len + 1);
  char *final_name = NULL;
  if (!wk || !rem) {
    rc = WASI_ENOMEM;
    goto out;
  }
  memcpy(rem, rel_prefix, prefix_len);
  rem[prefix_len] = '/';
  memcpy(rem + prefix_len + 1, path, path_len);
  rem[prefix_len + 1 + path_len] = '\0';
  wk->depth = 0;
  wk->fds[0] = w->preopens[preopen].root_fd;
  wk->canon_len[0] = 0;
  wk->canon[0] = '\0';

  unsigned n_links = 0;
  size_t pos = 0;
  bool must_dir = false;
  for (;;) {
    while (rem[pos] == '/')
      pos++;
    if (rem[pos] == '\0') { /* ran out: the target is the current directory */
      final_name = strdup(".");
      break;
    }
    const char *comp = rem + pos;
    size_t comp_len = strcspn(comp, "/");
    size_t after = pos + comp_len;
    bool had_slash = rem[after] == '/';
    size_t next = after;
    while (rem[next] == '/')
      next++;
    bool is_last = rem[next] == '\0';
    pos = next;

    if (comp_len == 1 && comp[0] == '.') {
      if (is_last) {
        final_name = strdup(".");
        break;
      }
      continue;
    }
    if (comp_len == 2 && comp[0] == '.' && comp[1] == '.') {
      if (wk->depth == 0) {
        rc = WASI_ENOTCAPABLE; /* would climb above the preopen */
        goto out;
      }
      close(wk->fds[wk->depth]);
      wk->depth--;
      wk->canon[wk->canon_len[wk->depth]] = '\0';
      if (is_last) {
        final_name = strdup(".");
        break;
      }
      continue;
    }
    if (comp_len > NAME_MAX) {
      rc = WASI_ENAMETOOLONG;
      goto out;
    }
    char name[NAME_MAX + 1];
    memcpy(name, comp, comp_len);
    name[comp_len] = '\0';
    int cur = wk->fds[wk->depth];

    if (is_last && !follow_last && !had_slash) {
      final_name = strdup(name);
      break;
    }
    char link[WASI_MAX_PATH + 1];
    ssize_t n = readlinkat(cur, name, link, sizeof link);
    if (n >= 0) {
      if (++n_links > WALK_MAX_SYMLINKS) {
        rc = WASI_ELOOP;
        goto out;
      }
      if ((size_t)n >= sizeof link) {
        rc = WASI_ENAMETOOLONG;
        goto out;
      }
      if (n == 0 || link[0] == '/') {
        rc = n == 0 ? WASI_ENOENT : WASI_ENOTCAPABLE; /* absolute targets leave the sandbox */
        goto out;
      }
      /* The rest keeps a trailing '/' so the expansion's last component still
       * has to be a directory. */
      const char *rest = is_last ? (had_slash ? "/" : "") : rem + pos;
      char *rest_copy = strdup(rest);
      if (!rest_copy || !splice_link(&rem, link, (size_t)n, rest_copy)) {
        free(rest_copy);
        rc = WASI_ENOMEM;
        goto out;
      }
      free(rest_copy);
      pos = 0;
      continue;
    }
    if (errno != EINVAL && errno != ENOENT) {
      rc = kafu_wasi_errno(errno);
      goto out;
    }
    if (is_last) { /* not a symlink (or not there yet): it is the target */
      final_name = strdup(name);
      must_dir = had_slash;
      break;
    }
    if (errno == ENOENT) {
      rc = WASI_ENOENT;
      goto out;
    }
    if (wk->depth == WALK_MAX_DEPTH) {
      rc = WASI_ENAMETOOLONG;
      goto out;
    }
    int fd = openat(cur, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
      rc = kafu_wasi_errno(errno);
      goto out;
    }
    if (!canon_push(wk, name, comp_len)) {
      close(fd);
      rc = WASI_ENAMETOOLONG;
      goto out;
    }
    wk->depth++;
    wk->fds[wk->depth] = fd;
    wk->canon_len[wk->depth] = strlen(wk->canon);
  }
  if (!final_name) {
    rc = WASI_ENOMEM;
    goto out;
  }

  /* Hand over the directory fd: the top of the walk (dup'd if it is the root). */
  if (wk->depth == 0) {
    out->dir_fd = fcntl(wk->fds[0], F_DUPFD_CLOEXEC, 3);
    if (out->dir_fd < 0) {
      rc = kafu_wasi_errno(errno);
      goto out;
    }
  } else {
    out->dir_fd = wk->fds[wk->depth];
    wk->depth--; /* so walk_close below leaves it open */
  }
  size_t dir_len = strlen(wk->canon);
  bool is_dot = !strcmp(final_name, ".");
  out->rel_path = malloc(dir_len + 1 + strlen(final_name) + 1);
  if (!out->rel_path) {
    rc = WASI_ENOMEM;
    goto out;
  }
  if (is_dot) {
    memcpy(out->rel_path, wk->canon, dir_len + 1);
  } else {
    sprintf(out->rel_path, "%s%s%s", wk->canon, dir_len ? "/" : "", final_name);
  }
  out->name = final_name;
  final_name = NULL;
  out->preopen = preopen;
  out->must_dir = must_dir;

  if (must_dir && !is_dot) { /* "x/" must name a directory if it exists */
    struct stat st;
    if (fstatat(out->dir_fd, out->name, &st, AT_SYMLINK_NOFOLLOW) == 0 && !S_ISDIR(st.st_mode))
      rc = WASI_ENOTDIR;
  }
out:
  if (wk) {
    for (size_t d = 1; d <= wk->depth; d++)
      close(wk->fds[d]);
  }
  free(wk);
  free(rem);
  free(final_name);
  if (rc != WASI_ESUCCESS) kafu_wasi_resolved_free(out);
  return rc;
}

uint16_t kafu_wasi_resolve(kafu_wasi *w, wasi_fd *dir, const uint8_t *path, size_t path_len,
                           bool follow_last, wasi_resolved *out) {
  memset(out, 0, sizeof *out);
  out->dir_fd = -1;
  if (dir->kind != WASI_FD_PREOPEN && dir->kind != WASI_FD_FILE) return WASI_EBADF;
  if (dir->filetype != WASI_FILETYPE_DIRECTORY) return WASI_ENOTDIR;
  return kafu_wasi_resolve_in(w, dir->preopen, dir->rel_path ? dir->rel_path : "", path, path_len,
                              follow_last, out);
}
