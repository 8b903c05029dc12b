/* Bytewise table-driven CRC-32 over a generated buffer: loads, shifts, xors. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#define LEN (1 << 20)
int main(void) {
  static uint32_t table[256];
  for (uint32_t i = 0; i < 256; i++) {
    uint32_t c = i;
    for (int k = 0; k < 8; k++) c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1;
    table[i] = c;
  }
  uint8_t *buf = malloc(LEN);
  uint32_t x = 1;
  for (int i = 0; i < LEN; i++) buf[i] = (uint8_t)((x = x * 1103515245u + 12345u) >> 16);
  uint32_t crc = 0;
  for (int r = 0; r < 100; r++) {
    crc = ~crc;
    for (int i = 0; i < LEN; i++) crc = table[(crc ^ buf[i]) & 0xff] ^ (crc >> 8);
    crc = ~crc;
  }
  printf("%08x\n", crc);
  free(buf);
  return 0;
}
