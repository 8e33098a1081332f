// CRC-32C with the SSE 4.2 `crc32` instruction, for EventLog's batch and index checksums.
//
// Header-only so it needs no build flags: the target attribute lets the compiler use the
// instruction in this function alone, and callers check `tally_crc32c_hw_available()` first
// (EventLog falls back to a table-driven loop elsewhere).
#ifndef TALLY_CHECKSUM_H
#define TALLY_CHECKSUM_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#if defined(__x86_64__)
__attribute__((target("sse4.2")))
static inline uint32_t tally_crc32c_hw(uint32_t crc, const void *data, size_t length) {
    const unsigned char *p = (const unsigned char *)data;
    uint64_t c = crc;
    while (length >= 8) {
        uint64_t word;
        memcpy(&word, p, 8);
        c = __builtin_ia32_crc32di(c, word);
        p += 8;
        length -= 8;
    }
    uint32_t c32 = (uint32_t)c;
    while (length > 0) {
        c32 = __builtin_ia32_crc32qi(c32, *p);
        p++;
        length--;
    }
    return c32;
}

static inline int tally_crc32c_hw_available(void) { return __builtin_cpu_supports("sse4.2"); }
#else
static inline uint32_t tally_crc32c_hw(uint32_t crc, const void *data, size_t length) {
    (void)data;
    (void)length;
    return crc;
}

static inline int tally_crc32c_hw_available(void) { return 0; }
#endif

#endif
