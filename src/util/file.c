/* Whole-file reads, atomic writes and mkdir -p. */
#include "util/file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

kafu_err kafu_file_read(const char *path, uint8_t **out, size_t *len, kafu_error *err) {
  kafu_err rc = KAFU_OK;
  uint8_t *data = NULL;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return kafu_fail(err, KAFU_E_INPUT, "%s: %s", path, strerror(errno));
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    rc = kafu_fail(err, KAFU_E_INPUT, "%s: not a regular file", path);
    goto out;
  }
  size_t size = (size_t)st.st_size;
  data = malloc(size + 1);
  if (!data) {
    rc = kafu_fail(err, KAFU_E_NOMEM, "%s: cannot allocate %zu bytes", path, size);
    goto out;
  }
  size_t got = 0;
  while (got < size) {
    ssize_t n = read(fd, data + got, size - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      rc = kafu_fail(err, KAFU_E_IO, "%s: read failed: %s", path, n ? strerror(errno) : "short");
      goto out;
    }
    got += (size_t)n;
  }
  data[size] = 0;
  *out = data;
  *len = size;
  data = NULL;
out:
  free(data);
  close(fd);
  return rc;
}

/* Writes to an existing device or pipe in place: renaming a temp file over
 * /dev/null (as root) would replace the device with a regular file. */
static kafu_err write_through(const char *path, const void *data, size_t len, kafu_error *err) {
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return kafu_fail(err, KAFU_E_IO, "%s: %s", path, strerror(errno));
  const uint8_t *p = data;
  size_t done = 0;
  while (done < len) {
    ssize_t n = write(fd, p + done, len - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      close(fd);
      return kafu_fail(err, KAFU_E_IO, "%s: write failed: %s", path, strerror(errno));
    }
    done += (size_t)n;
  }
  close(fd);
  return KAFU_OK;
}

kafu_err kafu_file_write(const char *path, const void *data, size_t len, kafu_error *err) {
  struct stat st;
  if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
    if (S_ISDIR(st.st_mode)) return kafu_fail(err, KAFU_E_INPUT, "%s: is a directory", path);
    return write_through(path, data, len, err);
  }
  size_t plen = strlen(path);
  char *tmp = malloc(plen + 32);
  if (!tmp) return kafu_fail(err, KAFU_E_NOMEM, "out of memory");
  snprintf(tmp, plen + 32, "%s.tmp.%ld", path, (long)getpid());
  kafu_err rc = KAFU_OK;
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    rc = kafu_fail(err, KAFU_E_IO, "%s: %s", path, strerror(errno));
    goto out;
  }
  const uint8_t *p = data;
  size_t done = 0;
  while (done < len) {
    ssize_t n = write(fd, p + done, len - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      rc = kafu_fail(err, KAFU_E_IO, "%s: write failed: %s", path, strerror(errno));
      close(fd);
      unlink(tmp);
      goto out;
    }
    done += (size_t)n;
  }
  if (close(fd) != 0 || rename(tmp, path) != 0) {
    rc = kafu_fail(err, KAFU_E_IO, "%s: %s", path, strerror(errno));
    unlink(tmp);
  }
out:
  free(tmp);
  return rc;
}

kafu_err kafu_mkdirs(const char *path, kafu_error *err) {
  char buf[4096];
  size_t n = strlen(path);
  if (n == 0 || n >= sizeof buf) return kafu_fail(err, KAFU_E_INPUT, "bad directory path");
  memcpy(buf, path, n + 1);
  for (size_t i = 1; i <= n; i++) {
    if (buf[i] == '/' || buf[i] == '\0') {
      char c = buf[i];
      buf[i] = '\0';
      if (mkdir(buf, 0755) != 0 && errno != EEXIST)
        return kafu_fail(err, KAFU_E_IO, "%s: mkdir failed: %s", buf, strerror(errno));
      buf[i] = c;
    }
  }
  return KAFU_OK;
}
