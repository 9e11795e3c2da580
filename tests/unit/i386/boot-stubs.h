#ifndef TESTS_UNIT_I386_BOOT_STUBS_H
#define TESTS_UNIT_I386_BOOT_STUBS_H

#include <stddef.h>
#include <stdint.h>

#include "hw/loader.h"

typedef struct StubBlob {
    char *name;
    uint8_t *data;
    size_t len;
    hwaddr addr;
} StubBlob;

extern StubBlob stub_blobs[64];
extern unsigned stub_nr_blobs;
void stub_blobs_reset(void);
/* Write data to a file `name` in a per-process temporary directory; g_free the path. */
char *stub_write_temp(const void *data, size_t len, const char *name);

#endif
