/* Thin wrappers so that the rest of Kafu names one hash API. */
#include "util/hash.h"

#include <openssl/sha.h>
#include <stdio.h>
#include <xxhash.h>

void kafu_sha256(const void *data, size_t len, uint8_t out[KAFU_SHA256_LEN]) {
  SHA256(data, len, out);
}

void kafu_sha256_hex(const uint8_t digest[KAFU_SHA256_LEN], char out[65]) {
  for (int i = 0; i < KAFU_SHA256_LEN; i++) snprintf(out + 2 * i, 3, "%02x", digest[i]);
}

uint64_t kafu_checksum64(const void *data, size_t len) { return XXH3_64bits(data, len); }
