// Linux file I/O calls that Swift's Glibc module does not show (they need _GNU_SOURCE), for
// EventLog's writer. Header-only so it needs no build flags.
#ifndef TALLY_FILEIO_H
#define TALLY_FILEIO_H

#include <stdint.h>

// Declared here rather than taken from <fcntl.h>, whose declaration is hidden without _GNU_SOURCE;
// the signature is glibc's (off64_t is int64_t on 64-bit Linux).
extern int sync_file_range(int fd, int64_t offset, int64_t nbytes, unsigned int flags);

// Starts writeback of the range's dirty pages without waiting (SYNC_FILE_RANGE_WRITE = 2).
static inline int tally_start_writeback(int fd, int64_t offset, int64_t length) {
    return sync_file_range(fd, offset, length, 2);
}

#endif
