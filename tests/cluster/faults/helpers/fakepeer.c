/* A misbehaving Kafu peer for fault tests, compiled by the test with gcc:
 *   fakepeer PORT hangup   accept, then close at once
 *   fakepeer PORT garbage  accept, read a little, answer with bytes that are
 *                          not a Kafu frame, close
 *   fakepeer PORT corrupt  accept, answer with a Kafu-looking header whose
 *                          checksum is wrong, close
 *   fakepeer PORT silent   accept and never answer (the peer must time out)
 * Serves connections one after another until killed. */
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: fakepeer PORT hangup|garbage|corrupt|silent\n");
    return 2;
  }
  const char *mode = argv[2];
  int s = socket(AF_INET, SOCK_STREAM, 0), one = 1;
  setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(argv[1])),
                          .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  if (bind(s, (struct sockaddr *)&a, sizeof a) || listen(s, 16)) {
    perror("fakepeer: bind/listen");
    return 1;
  }
  for (;;) {
    int c = accept(s, NULL, NULL);
    if (c < 0) continue;
    char buf[4096];
    if (!strcmp(mode, "garbage")) {
      (void)read(c, buf, sizeof buf);
      (void)write(c, "HTTP/1.0 400 Bad Request\r\n\r\n", 28);
    } else if (!strcmp(mode, "corrupt")) {
      (void)read(c, buf, sizeof buf);
      unsigned char hdr[48] = {'K', 'A', 'F', 'U', 1, 1};
      for (int i = 8; i < 48; i++) hdr[i] = (unsigned char)(i * 37);
      (void)write(c, hdr, sizeof hdr);
    } else if (!strcmp(mode, "silent")) {
      while (read(c, buf, sizeof buf) > 0) {
      }
    }
    close(c);
  }
}
