/* Private to src/wasi: the WASI context, the fd table, preview1 constants and
 * bounds-checked guest memory access. Nothing outside src/wasi includes this. */
#ifndef KAFU_WASI_INT_H
#define KAFU_WASI_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "wasi/wasi.h"

/* ---- preview1 errno (wasi's numbering, not the host's) ---- */
enum {
  WASI_ESUCCESS = 0,
  WASI_E2BIG = 1,
  WASI_EACCES = 2,
  WASI_EADDRINUSE = 3,
  WASI_EADDRNOTAVAIL = 4,
  WASI_EAFNOSUPPORT = 5,
  WASI_EAGAIN = 6,
  WASI_EALREADY = 7,
  WASI_EBADF = 8,
  WASI_EBADMSG = 9,
  WASI_EBUSY = 10,
  WASI_ECANCELED = 11,
  WASI_ECHILD = 12,
  WASI_ECONNABORTED = 13,
  WASI_ECONNREFUSED = 14,
  WASI_ECONNRESET = 15,
  WASI_EDEADLK = 16,
  WASI_EDESTADDRREQ = 17,
  WASI_EDOM = 18,
  WASI_EDQUOT = 19,
  WASI_EEXIST = 20,
  WASI_EFAULT = 21,
  WASI_EFBIG = 22,
  WASI_EHOSTUNREACH = 23,
  WASI_EIDRM = 24,
  WASI_EILSEQ = 25,
  WASI_EINPROGRESS = 26,
  WASI_EINTR = 27,
  WASI_EINVAL = 28,
  WASI_EIO = 29,
  WASI_EISCONN = 30,
  WASI_EISDIR = 31,
  WASI_ELOOP = 32,
  WASI_EMFILE = 33,
  WASI_EMLINK = 34,
  WASI_EMSGSIZE = 35,
  WASI_EMULTIHOP = 36,
  WASI_ENAMETOOLONG = 37,
  WASI_ENETDOWN = 38,
  WASI_ENETRESET = 39,
  WASI_ENETUNREACH = 40,
  WASI_ENFILE = 41,
  WASI_ENOBUFS = 42,
  WASI_ENODEV = 43,
  WASI_ENOENT = 44,
  WASI_ENOEXEC = 45,
  WASI_ENOLCK = 46,
  WASI_ENOLINK = 47,
  WASI_ENOMEM = 48,
  WASI_ENOMSG = 49,
  WASI_ENOPROTOOPT = 50,
  WASI_ENOSPC = 51,
  WASI_ENOSYS = 52,
  WASI_ENOTCONN = 53,
  WASI_ENOTDIR = 54,
  WASI_ENOTEMPTY = 55,
  WASI_ENOTRECOVERABLE = 56,
  WASI_ENOTSOCK = 57,
  WASI_ENOTSUP = 58,
  WASI_ENOTTY = 59,
  WASI_ENXIO = 60,
  WASI_EOVERFLOW = 61,
  WASI_EOWNERDEAD = 62,
  WASI_EPERM = 63,
  WASI_EPIPE = 64,
  WASI_EPROTO = 65,
  WASI_EPROTONOSUPPORT = 66,
  WASI_EPROTOTYPE = 67,
  WASI_ERANGE = 68,
  WASI_EROFS = 69,
  WASI_ESPIPE = 70,
  WASI_ESRCH = 71,
  WASI_ESTALE = 72,
  WASI_ETIMEDOUT = 73,
  WASI_ETXTBSY = 74,
  WASI_EXDEV = 75,
  WASI_ENOTCAPABLE = 76,
};

/* ---- other preview1 enumerations and flags ---- */
enum {
  WASI_FILETYPE_UNKNOWN = 0,
  WASI_FILETYPE_BLOCK_DEVICE = 1,
  WASI_FILETYPE_CHARACTER_DEVICE = 2,
  WASI_FILETYPE_DIRECTORY = 3,
  WASI_FILETYPE_REGULAR_FILE = 4,
  WASI_FILETYPE_SOCKET_DGRAM = 5,
  WASI_FILETYPE_SOCKET_STREAM = 6,
  WASI_FILETYPE_SYMBOLIC_LINK = 7,
};
enum { WASI_WHENCE_SET = 0, WASI_WHENCE_CUR = 1, WASI_WHENCE_END = 2 };
enum {
  WASI_CLOCK_REALTIME = 0,
  WASI_CLOCK_MONOTONIC = 1,
  WASI_CLOCK_PROCESS_CPUTIME = 2,
  WASI_CLOCK_THREAD_CPUTIME = 3,
};
enum {
  WASI_FDFLAG_APPEND = 1,
  WASI_FDFLAG_DSYNC = 2,
  WASI_FDFLAG_NONBLOCK = 4,
  WASI_FDFLAG_RSYNC = 8,
  WASI_FDFLAG_SYNC = 16
};
enum { WASI_OFLAG_CREAT = 1, WASI_OFLAG_DIRECTORY = 2, WASI_OFLAG_EXCL = 4, WASI_OFLAG_TRUNC = 8 };
enum { WASI_LOOKUP_SYMLINK_FOLLOW = 1 };
enum {
  WASI_FSTFLAG_ATIM = 1,
  WASI_FSTFLAG_ATIM_NOW = 2,
  WASI_FSTFLAG_MTIM = 4,
  WASI_FSTFLAG_MTIM_NOW = 8
};
enum { WASI_EVENTTYPE_CLOCK = 0, WASI_EVENTTYPE_FD_READ = 1, WASI_EVENTTYPE_FD_WRITE = 2 };
enum { WASI_SUBCLOCK_ABSTIME = 1 };
enum { WASI_PREOPENTYPE_DIR = 0 };

#define WASI_RIGHT_FD_DATASYNC (1ull << 0)
#define WASI_RIGHT_FD_READ (1ull << 1)
#define WASI_RIGHT_FD_SEEK (1ull << 2)
#define WASI_RIGHT_FD_FDSTAT_SET_FLAGS (1ull << 3)
#define WASI_RIGHT_FD_SYNC (1ull << 4)
#define WASI_RIGHT_FD_TELL (1ull << 5)
#define WASI_RIGHT_FD_WRITE (1ull << 6)
#define WASI_RIGHT_FD_ALLOCATE (1ull << 8)
#define WASI_RIGHT_FD_READDIR (1ull << 14)
#define WASI_RIGHT_FD_FILESTAT_GET (1ull << 21)
#define WASI_RIGHT_FD_FILESTAT_SET_SIZE (1ull << 22)
#define WASI_RIGHT_POLL_FD_READWRITE (1ull << 27)
#define WASI_RIGHTS_ALL ((1ull << 30) - 1)

/* ---- the fd table ---- */
typedef enum wasi_fd_kind {
  WASI_FD_FREE = 0,
  WASI_FD_STDIO,   /* 0/1/2: host fd or the output hook */
  WASI_FD_PREOPEN, /* a configured directory */
  WASI_FD_FILE,    /* opened by path_open (file or directory) */
  WASI_FD_BAD,     /* lost on restore: every use reports EBADF */
} wasi_fd_kind;

typedef struct wasi_dirent_cache {
  bool loaded;
  size_t n;
  struct wasi_dirent_entry {
    uint64_t ino;
    uint8_t type;
    char *name;
  } * entries; /* sorted by name, so cookies (= indices) survive migration */
} wasi_dirent_cache;

typedef struct wasi_fd {
  wasi_fd_kind kind;
  int host_fd;       /* -1 if none (empty stdin, output hook) */
  bool owns_host_fd; /* close host_fd with the entry */
  uint8_t filetype;
  uint8_t stdio; /* which of 0/1/2 for WASI_FD_STDIO */
  uint16_t fdflags;
  uint16_t oflags; /* as passed to path_open (DIRECTORY matters on restore) */
  bool can_read, can_write;
  uint64_t rights_base, rights_inheriting;
  uint32_t preopen; /* index into w->preopens: the root of this fd's path */
  char *rel_path;   /* canonical path below the preopen ("" = the preopen itself) */
  wasi_dirent_cache dir;
} wasi_fd;

typedef struct wasi_preopen {
  char *host_path;
  char *guest_path;
  int root_fd;                 /* owned; the sandbox root, independent of the guest's fd table */
  uint64_t root_dev, root_ino; /* identity: two preopens may share one host dir */
} wasi_preopen;

struct kafu_wasi {
  int argc, envc;
  char **argv, **envp;
  size_t n_preopens;
  wasi_preopen *preopens;
  kafu_wasi_output_fn output;
  void *output_ud;

  wasi_fd *fds;
  uint32_t n_fds; /* entries allocated in fds */

  int64_t mono_offset; /* guest monotonic = host monotonic + mono_offset */
  uint64_t mono_last;  /* the last monotonic value handed out */
  bool exited;
  int exit_code;
};

#define WASI_MAX_FDS 4096u
#define WASI_MAX_PATH 4096u

/* ---- fd table (state.c) ---- */
/* Returns the entry for a live fd, or NULL (the caller answers EBADF). */
wasi_fd *kafu_wasi_fd_get(kafu_wasi *w, uint32_t fd);
/* Finds the lowest free fd >= 3, growing the table; -1 if WASI_MAX_FDS hit. */
int64_t kafu_wasi_fd_alloc(kafu_wasi *w);
/* Releases everything an entry holds and marks it free. */
void kafu_wasi_fd_release(wasi_fd *f);
void kafu_wasi_dircache_clear(wasi_dirent_cache *c);
/* Ensures w->fds has at least n entries. false on allocation failure. */
bool kafu_wasi_fd_reserve(kafu_wasi *w, uint32_t n);
/* After a successful rename of (from_preopen, from_rel) to (to_preopen,
 * to_rel): open fds at or below the old path now live at the new one, so
 * later path calls through them and migration use the new path. */
void kafu_wasi_fds_renamed(kafu_wasi *w, uint32_t from_preopen, const char *from_rel,
                           uint32_t to_preopen, const char *to_rel);
/* Host st_mode -> preview1 filetype. */
uint8_t kafu_wasi_filetype(unsigned mode);
/* Host errno -> preview1 errno. */
uint16_t kafu_wasi_errno(int host_errno);
/* Guest monotonic clock reading in ns (never decreases). */
uint64_t kafu_wasi_monotonic(kafu_wasi *w);
/* The same reading without recording it (for save, which gets a const w). */
uint64_t kafu_wasi_monotonic_peek(const kafu_wasi *w);
uint64_t kafu_wasi_host_monotonic(void);

/* ---- shared by fd.c and path.c ---- */
struct stat;
/* Fills a 64-byte preview1 filestat from a host stat. */
void kafu_wasi_put_filestat(uint8_t *p, const struct stat *st);
/* Translates preview1 (atim, mtim, fstflags) into utimensat times; false on
 * contradictory flags (=> EINVAL). */
bool kafu_wasi_times(uint64_t atim, uint64_t mtim, uint32_t fstflags, struct timespec ts[2]);

/* ---- path resolution inside a preopen (resolve.c) ---- */
typedef struct wasi_resolved {
  int dir_fd;     /* owned O_PATH fd of the directory holding `name` */
  char *name;     /* owned; the last component, or "." for the directory itself */
  char *rel_path; /* owned; canonical path below the preopen */
  uint32_t preopen;
  bool must_dir; /* the guest path ended in '/' */
} wasi_resolved;

/* Resolves `path` (borrowed bytes, not NUL-terminated) relative to directory
 * fd `dir` without ever leaving its preopen. follow_last: resolve a symlink
 * in the final component too. Returns a preview1 errno; on success *out must
 * be released with kafu_wasi_resolved_free. */
uint16_t kafu_wasi_resolve(kafu_wasi *w, wasi_fd *dir, const uint8_t *path, size_t path_len,
                           bool follow_last, wasi_resolved *out);
/* The same, but from a preopen root with an already NUL-terminated path. */
uint16_t kafu_wasi_resolve_in(kafu_wasi *w, uint32_t preopen, const char *rel_prefix,
                              const uint8_t *path, size_t path_len, bool follow_last,
                              wasi_resolved *out);
void kafu_wasi_resolved_free(wasi_resolved *r);
/* openat2(RESOLVE_BENEATH) of rel_path below root_fd where the kernel has it,
 * else openat(dir_fd, name); returns the fd or -1 with errno (open_beneath.c). */
int kafu_wasi_open_beneath(int root_fd, const char *rel_path, int dir_fd, const char *name,
                           int flags, unsigned mode);
/* Opens a resolved path for real; the wasi-level open used by path_open and
 * restore. Returns a preview1 errno, on success fills *f (kind FILE). */
uint16_t kafu_wasi_open_resolved(kafu_wasi *w, wasi_resolved *r, uint16_t oflags, bool want_read,
                                 bool want_write, uint16_t fdflags, wasi_fd *f);

/* ---- guest memory ---- */
/* The guest bytes [ptr, ptr+len), or NULL if any of them is out of bounds. */
static inline uint8_t *kafu_wasi_mem(kafu_engine_instance *inst, uint64_t ptr, uint64_t len) {
  size_t size = 0;
  uint8_t *base = kafu_instance_memory(inst, &size);
  if (!base || ptr > size || len > size - ptr) return NULL;
  return base + ptr;
}

static inline void kafu_wasi_put_u16(uint8_t *p, uint16_t v) {
  p[0] = (uint8_t)v;
  p[1] = (uint8_t)(v >> 8);
}
static inline void kafu_wasi_put_u32(uint8_t *p, uint32_t v) {
  for (int i = 0; i < 4; i++)
    p[i] = (uint8_t)(v >> (8 * i));
}
static inline void kafu_wasi_put_u64(uint8_t *p, uint64_t v) {
  for (int i = 0; i < 8; i++)
    p[i] = (uint8_t)(v >> (8 * i));
}
static inline uint16_t kafu_wasi_get_u16(const uint8_t *p) {
  return (uint16_t)(p[0] | (p[1] << 8));
}
static inline uint32_t kafu_wasi_get_u32(const uint8_t *p) {
  return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}
static inline uint64_t kafu_wasi_get_u64(const uint8_t *p) {
  return (uint64_t)kafu_wasi_get_u32(p) | ((uint64_t)kafu_wasi_get_u32(p + 4) << 32);
}

/* Writes a u32/u64 result to the guest; false (=> EFAULT) when out of bounds. */
static inline bool kafu_wasi_store_u32(kafu_engine_instance *inst, uint64_t ptr, uint32_t v) {
  uint8_t *p = kafu_wasi_mem(inst, ptr, 4);
  if (!p) return false;
  kafu_wasi_put_u32(p, v);
  return true;
}
static inline bool kafu_wasi_store_u64(kafu_engine_instance *inst, uint64_t ptr, uint64_t v) {
  uint8_t *p = kafu_wasi_mem(inst, ptr, 8);
  if (!p) return false;
  kafu_wasi_put_u64(p, v);
  return true;
}

/* Argument helpers for host functions: i32 args sit in the low 32 bits. */
#define WASI_ARG32(i) ((uint32_t)args[i])
#define WASI_ARG64(i) ((uint64_t)args[i])
/* Every preview1 function but proc_exit returns its errno in results[0]. */
#define WASI_RET(e)                                                                                \
  do {                                                                                             \
    results[0] = (kafu_slot)(uint16_t)(e);                                                         \
    return 0;                                                                                      \
  } while (0)

/* Host function prototypes, defined across args.c, clock.c, fd.c, dir.c,
 * path.c and poll.c; imports.c binds them to their names and signatures. */
#define WASI_HOSTFN(name)                                                                          \
  int kafu_wasi_host_##name(void *env, kafu_engine_instance *inst, const kafu_slot *args,          \
                            kafu_slot *results)
WASI_HOSTFN(args_get);
WASI_HOSTFN(args_sizes_get);
WASI_HOSTFN(environ_get);
WASI_HOSTFN(environ_sizes_get);
WASI_HOSTFN(clock_res_get);
WASI_HOSTFN(clock_time_get);
WASI_HOSTFN(random_get);
WASI_HOSTFN(sched_yield);
WASI_HOSTFN(proc_exit);
WASI_HOSTFN(proc_raise);
WASI_HOSTFN(poll_oneoff);
WASI_HOSTFN(fd_read);
WASI_HOSTFN(fd_write);
WASI_HOSTFN(fd_pread);
WASI_HOSTFN(fd_pwrite);
WASI_HOSTFN(fd_seek);
WASI_HOSTFN(fd_tell);
WASI_HOSTFN(fd_close);
WASI_HOSTFN(fd_sync);
WASI_HOSTFN(fd_datasync);
WASI_HOSTFN(fd_fdstat_get);
WASI_HOSTFN(fd_fdstat_set_flags);
WASI_HOSTFN(fd_fdstat_set_rights);
WASI_HOSTFN(fd_prestat_get);
WASI_HOSTFN(fd_prestat_dir_name);
WASI_HOSTFN(fd_filestat_get);
WASI_HOSTFN(fd_filestat_set_size);
WASI_HOSTFN(fd_filestat_set_times);
WASI_HOSTFN(fd_readdir);
WASI_HOSTFN(fd_advise);
WASI_HOSTFN(fd_allocate);
WASI_HOSTFN(fd_renumber);
WASI_HOSTFN(path_open);
WASI_HOSTFN(path_create_directory);
WASI_HOSTFN(path_unlink_file);
WASI_HOSTFN(path_remove_directory);
WASI_HOSTFN(path_rename);
WASI_HOSTFN(path_filestat_get);
WASI_HOSTFN(path_filestat_set_times);
WASI_HOSTFN(path_readlink);
WASI_HOSTFN(path_symlink);
WASI_HOSTFN(path_link);
WASI_HOSTFN(sock_accept);
WASI_HOSTFN(sock_recv);
WASI_HOSTFN(sock_send);
WASI_HOSTFN(sock_shutdown);

#endif
