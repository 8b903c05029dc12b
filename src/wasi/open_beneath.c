/* The final open of path_open (and of restore), checked by the kernel where
 * it can be: on Linux >= 5.6 the walk's canonical path is opened again from
 * the preopen root with openat2(2) RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS, so
 * even another host process moving directories during the walk cannot make
 * the open land outside the preopen. Kernels without openat2 (ENOSYS) fall
 * back to openat(2) on the walk's directory fd, which is what resolve.c
 * guarantees on its own. KAFU_WASI_NO_OPENAT2=1 in the environment forces
 * that fallback (tests run the sandbox suite both ways). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "wasi/wasi_int.h"

static int g_no_openat2; /* set once the kernel says ENOSYS */

int kafu_wasi_open_beneath(int root_fd, const char *rel_path, int dir_fd, const char *name,
                           int flags, unsigned mode) {
#ifdef SYS_openat2
  if (!g_no_openat2 && !getenv("KAFU_WASI_NO_OPENAT2")) {
    struct open_how how;
    memset(&how, 0, sizeof how);
    how.flags = (uint64_t)(unsigned)flags;
    how.mode = (flags & O_CREAT) ? mode : 0; /* openat2 rejects a stray mode */
    how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
    long fd = syscall(SYS_openat2, root_fd, rel_path[0] ? rel_path : ".", &how, sizeof how);
    if (fd >= 0 || errno != ENOSYS) return (int)fd;
    g_no_openat2 = 1;
  }
#endif
  (void)root_fd;
  (void)rel_path;
  return openat(dir_fd, name, flags, mode);
}
