/* Hashes: SHA-256 (OpenSSL libcrypto) for module identity, XXH3-64 (libxxhash)
 * for fast checksums of snapshots and wire frames. */
#ifndef KAFU_UTIL_HASH_H
#define KAFU_UTIL_HASH_H

#include <stddef.h>
#include <stdint.h>

#define KAFU_SHA256_LEN 32

void kafu_sha256(const void *data, size_t len, uint8_t out[KAFU_SHA256_LEN]);
/* Lower-case hex of the digest into out (65 bytes incl. NUL). */
void kafu_sha256_hex(const uint8_t digest[KAFU_SHA256_LEN], char out[65]);
uint64_t kafu_checksum64(const void *data, size_t len);
/* XXH3-128 of data with seed (seed 0 is plain XXH3-128): out[0] the low
 * 64 bits, out[1] the high. */
void kafu_hash128(const void *data, size_t len, uint64_t seed, uint64_t out[2]);

#endif
