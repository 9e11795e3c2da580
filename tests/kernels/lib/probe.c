/* probe.c: meson compiles this with the kernel flags to decide whether gcc -m32 works. */
#include <stdint.h>

uint32_t probe(uint32_t x);

uint32_t probe(uint32_t x)
{
    return x + 1;
}
