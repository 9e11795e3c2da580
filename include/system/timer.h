/*
 * Clocks and timers.  KEMU_CLOCK_VIRTUAL is guest time: it stops while the VM is
 * paused and, under -accel qtest, advances only when the test steps it.
 * KEMU_CLOCK_REALTIME is host monotonic time; KEMU_CLOCK_HOST is host wall-clock time.
 * Timer callbacks run in the main loop with the BQL held; timer_mod may be
 * called from any thread holding the BQL.
 */
#ifndef SYSTEM_TIMER_H
#define SYSTEM_TIMER_H

#include <stdbool.h>
#include <stdint.h>

#define NANOSECONDS_PER_SECOND 1000000000LL

typedef enum ClockType {
    KEMU_CLOCK_REALTIME = 0,
    KEMU_CLOCK_VIRTUAL = 1,
    KEMU_CLOCK_HOST = 2,
    KEMU_CLOCK_MAX
} ClockType;

typedef struct Timer Timer;
typedef void (*TimerCB)(void *opaque);

int64_t clock_get_ns(ClockType type);
int64_t get_clock_realtime(void); /* host monotonic ns */

Timer *timer_new_ns(ClockType type, TimerCB cb, void *opaque);
void timer_free(Timer *t);
void timer_mod(Timer *t, int64_t expire_ns); /* absolute time on the timer's clock */
void timer_del(Timer *t);
bool timer_pending(Timer *t);
int64_t timer_expire_time(Timer *t);

/* Virtual clock control (run state and qtest). */
void clock_virtual_stop(void);
void clock_virtual_start(void);
void clock_virtual_set_manual(bool manual);      /* qtest: only clock_virtual_step moves it */
int64_t clock_virtual_step(int64_t ns);          /* advance by ns (or to next deadline if 0) */
int64_t clock_virtual_next_deadline(void);       /* -1 if none */
/* Run expired timers of every clock; returns true if any ran. */
bool timers_run_expired(void);
/* ns until the next timer of any clock expires; -1 for none. */
int64_t timers_next_timeout(void);

#endif
