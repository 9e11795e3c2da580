/*
 * console.c: COM1 output (PC16550D datasheet: LCR/DLAB divisor latch, LSR.THRE), a small
 * printf (%d %i %u %x %X %s %c %p %%, l/ll, width, '0' and '-' flags, %.Ns precision) and
 * exit() through QEMU's isa-debug-exit port (iobase 0xf4: writing v ends the VM with status
 * (v << 1) | 1).
 */
#include "libk.h"

#define COM1 0x3f8
#define DEBUG_EXIT_PORT 0xf4

static volatile uint32_t console_lock;

void serial_init(void)
{
    outb(COM1 + 1, 0x00);       /* IER: no interrupts */
    outb(COM1 + 3, 0x80);       /* LCR: DLAB */
    outb(COM1 + 0, 0x01);       /* DLL: 115200 baud */
    outb(COM1 + 1, 0x00);       /* DLM */
    outb(COM1 + 3, 0x03);       /* LCR: 8N1 */
    outb(COM1 + 2, 0xc7);       /* FCR: enable and clear FIFOs */
    outb(COM1 + 4, 0x03);       /* MCR: DTR, RTS (OUT2 off: no IRQ4) */
}

void serial_putc(char c)
{
    /* Bounded wait for THR empty: a missing or stuck UART must not hang the test. */
    for (int i = 0; i < 100000 && !(inb(COM1 + 5) & 0x20); i++) {
        cpu_relax();
    }
    outb(COM1, (uint8_t)c);
}

static void lock(void)
{
    uint32_t v;
    do {
        v = 1;
        __asm__ volatile("xchgl %0, %1" : "+r"(v), "+m"(console_lock) :: "memory");
        if (v) {
            cpu_relax();
        }
    } while (v);
}

static void unlock(void)
{
    __asm__ volatile("movl $0, %0" : "=m"(console_lock) :: "memory");
}

/* ---- formatting ---- */

struct out {
    char *buf;
    size_t size, len;
};

static void out_c(struct out *o, char c)
{
    if (o->len + 1 < o->size) {
        o->buf[o->len] = c;
    }
    o->len++;
}

/* 64-bit by 32-bit unsigned division without libgcc's __udivdi3. */
uint64_t divmod64(uint64_t n, uint32_t d, uint32_t *rem)
{
    uint32_t hi = (uint32_t)(n >> 32), lo = (uint32_t)n, qhi = hi / d, r = hi % d, qlo;
    __asm__("divl %4" : "=a"(qlo), "=d"(r) : "a"(lo), "d"(r), "rm"(d));
    *rem = r;
    return ((uint64_t)qhi << 32) | qlo;
}

static void out_num(struct out *o, uint64_t v, unsigned base, bool upper, bool neg, int width,
                    bool zero, bool left)
{
    char tmp[24];
    int n = 0;
    const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
    do {
        uint32_t r;
        v = divmod64(v, base, &r);
        tmp[n++] = digits[r];
    } while (v);
    int len = n + (neg ? 1 : 0);
    if (!left && !zero) {
        for (; width > len; width--) {
            out_c(o, ' ');
        }
    }
    if (neg) {
        out_c(o, '-');
    }
    if (!left && zero) {
        for (; width > len; width--) {
            out_c(o, '0');
        }
    }
    while (n) {
        out_c(o, tmp[--n]);
    }
    if (left) {
        for (; width > len; width--) {
            out_c(o, ' ');
        }
    }
}

int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
    struct out o = { buf, size, 0 };
    for (; *fmt; fmt++) {
        if (*fmt != '%') {
            out_c(&o, *fmt);
            continue;
        }
        fmt++;
        bool zero = false, left = false;
        for (;; fmt++) {
            if (*fmt == '0') {
                zero = true;
            } else if (*fmt == '-') {
                left = true;
            } else {
                break;
            }
        }
        int width = 0, prec = -1;
        while (*fmt >= '0' && *fmt <= '9') {
            width = width * 10 + (*fmt++ - '0');
        }
        if (*fmt == '.') {
            prec = 0;
            for (fmt++; *fmt >= '0' && *fmt <= '9'; fmt++) {
                prec = prec * 10 + (*fmt - '0');
            }
        }
        int lng = 0;
        while (*fmt == 'l') {
            lng++;
            fmt++;
        }
        switch (*fmt) {
        case 'd':
        case 'i': {
            int64_t v = lng >= 2 ? va_arg(ap, long long) : lng ? va_arg(ap, long) : va_arg(ap, int);
            out_num(&o, v < 0 ? -(uint64_t)v : (uint64_t)v, 10, false, v < 0, width, zero, left);
            break;
        }
        case 'u':
        case 'x':
        case 'X': {
            uint64_t v = lng >= 2 ? va_arg(ap, unsigned long long)
                       : lng ? va_arg(ap, unsigned long) : va_arg(ap, unsigned int);
            out_num(&o, v, *fmt == 'u' ? 10 : 16, *fmt == 'X', false, width, zero, left);
            break;
        }
        case 'p':
            out_c(&o, '0');
            out_c(&o, 'x');
            out_num(&o, (uintptr_t)va_arg(ap, void *), 16, false, false, 8, true, false);
            break;
        case 'c':
            out_c(&o, (char)va_arg(ap, int));
            break;
        case 's': {
            const char *s = va_arg(ap, const char *);
            if (!s) {
                s = "(null)";
            }
            int len = 0;
            while (s[len] && (prec < 0 || len < prec)) {
                len++;
            }
            for (; !left && width > len; width--) {
                out_c(&o, ' ');
            }
            for (int i = 0; i < len; i++) {
                out_c(&o, s[i]);
            }
            for (; left && width > len; width--) {
                out_c(&o, ' ');
            }
            break;
        }
        case '%':
            out_c(&o, '%');
            break;
        case '\0':
            fmt--;
            break;
        default:
            out_c(&o, '%');
            out_c(&o, *fmt);
            break;
        }
    }
    if (size) {
        buf[o.len < size ? o.len : size - 1] = '\0';
    }
    return (int)o.len;
}

int snprintf(char *buf, size_t size, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, size, fmt, ap);
    va_end(ap);
    return n;
}

static void write_str(const char *s)
{
    for (; *s; s++) {
        if (*s == '\n') {
            serial_putc('\r');
        }
        serial_putc(*s);
    }
}

int printf(const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    lock();
    write_str(buf);
    unlock();
    return n;
}

void puts(const char *s)
{
    lock();
    write_str(s);
    write_str("\n");
    unlock();
}

void exit(int code)
{
    outl(DEBUG_EXIT_PORT, (uint32_t)code);
    /* Without isa-debug-exit the write is ignored: stop here for good. */
    for (;;) {
        __asm__ volatile("cli; hlt");
    }
}
