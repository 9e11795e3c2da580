/*
 * The I/O thread: a GLib main loop (the default GMainContext) owning fd
 * handlers, timers and bottom halves.  Device state is protected by the big
 * lock (BQL): the main loop holds it while dispatching and drops it while
 * polling; vCPU threads take it around device calls.
 */
#ifndef SYSTEM_MAIN_LOOP_H
#define SYSTEM_MAIN_LOOP_H

#include <stdbool.h>
#include <stdint.h>

void main_loop_init(void);
/* Run until a shutdown is requested and handled; returns the process exit status. */
int main_loop_run(void);
/* One iteration (blocking if `blocking`); used by tools and tests. */
bool main_loop_iterate(bool blocking);
/* Wake the main loop from another thread. */
void main_loop_wakeup(void);

void bql_lock(void);
void bql_unlock(void);
bool bql_locked(void);

/* Bottom halves: deferred callbacks run in the main loop with the BQL held.
 * bh_schedule is safe from any thread. */
typedef struct BH BH;
typedef void (*BHFunc)(void *opaque);
BH *bh_new(BHFunc cb, void *opaque);
void bh_schedule(BH *bh);
void bh_cancel(BH *bh);
void bh_delete(BH *bh);

/* fd handlers; pass NULL for both to remove. Callbacks run with the BQL held. */
typedef void (*IOHandler)(void *opaque);
void main_loop_set_fd_handler(int fd, IOHandler read_cb, IOHandler write_cb, void *opaque);

#endif
