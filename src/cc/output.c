/* Writing kafu cc's results: atomically (temp file + rename) for regular
 * files, so a failed or interrupted build never leaves a partial output, and
 * straight through for devices and pipes (-o /dev/null must stay a device). */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cc/build.h"
#include "util/file.h"

kafu_err kafu_cc_write_output(const char *path, const void *data, size_t len, kafu_error *err) {
  struct stat st;
  if (stat(path, &st) != 0 || S_ISREG(st.st_mode)) return kafu_file_write(path, data, len, err);
  int fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
  if (fd < 0) return kafu_fail(err, KAFU_E_IO, "%s: %s", path, strerror(errno));
  kafu_err rc = KAFU_OK;
  const unsigned char *p = data;
  while (len > 0) {
    ssize_t n = write(fd, p, len);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      rc = kafu_fail(err, KAFU_E_IO, "%s: write failed: %s", path, n ? strerror(errno) : "short");
      break;
    }
    p += n;
    len -= (size_t)n;
  }
  close(fd);
  return rc;
}
