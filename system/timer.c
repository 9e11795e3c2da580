/*
 * Clocks and timers (see include/system/timer.h).  Timers live in one list per
 * clock sorted by expiry; the main loop asks for the next deadline and runs
 * expired timers.  The lists are protected by their own mutex so that vCPU
 * threads (holding the BQL) can arm timers while the main loop polls.
 */
#include "system/timer.h"

#include <time.h>
#include <glib.h>

#include "system/main-loop.h"

struct Timer {
    ClockType type;
    TimerCB cb;
    void *opaque;
    int64_t expire;   /* -1 when not pending */
    Timer *next;
};

static GMutex timer_lock;
static Timer *active[KEMU_CLOCK_MAX];

/* Virtual clock state */
static bool vclock_running;
static bool vclock_manual;
static int64_t vclock_offset;   /* virtual = realtime + offset while running */
static int64_t vclock_frozen;   /* value while stopped or in manual mode */

int64_t get_clock_realtime(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * NANOSECONDS_PER_SECOND + ts.tv_nsec;
}

static int64_t vclock_now_locked(void)
{
    if (vclock_running && !vclock_manual) {
        return get_clock_realtime() + vclock_offset;
    }
    return vclock_frozen;
}

int64_t clock_get_ns(ClockType type)
{
    switch (type) {
    case KEMU_CLOCK_VIRTUAL: {
        g_mutex_lock(&timer_lock);
        int64_t v = vclock_now_locked();
        g_mutex_unlock(&timer_lock);
        return v;
    }
    case KEMU_CLOCK_HOST: {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        return ts.tv_sec * NANOSECONDS_PER_SECOND + ts.tv_nsec;
    }
    case KEMU_CLOCK_REALTIME:
    default:
        return get_clock_realtime();
    }
}

void clock_virtual_stop(void)
{
    g_mutex_lock(&timer_lock);
    if (vclock_running) {
        vclock_frozen = vclock_now_locked();
        vclock_running = false;
    }
    g_mutex_unlock(&timer_lock);
}

void clock_virtual_start(void)
{
    g_mutex_lock(&timer_lock);
    if (!vclock_running) {
        vclock_offset = vclock_frozen - get_clock_realtime();
        vclock_running = true;
    }
    g_mutex_unlock(&timer_lock);
    main_loop_wakeup();
}

void clock_virtual_set_manual(bool manual)
{
    g_mutex_lock(&timer_lock);
    vclock_frozen = vclock_now_locked();
    vclock_manual = manual;
    if (!manual) {
        vclock_offset = vclock_frozen - get_clock_realtime();
    }
    g_mutex_unlock(&timer_lock);
}

static void timer_unlink_locked(Timer *t)
{
    for (Timer **pp = &active[t->type]; *pp; pp = &(*pp)->next) {
        if (*pp == t) {
            *pp = t->next;
            break;
        }
    }
    t->next = NULL;
    t->expire = -1;
}

Timer *timer_new_ns(ClockType type, TimerCB cb, void *opaque)
{
    Timer *t = g_new0(Timer, 1);
    t->type = type;
    t->cb = cb;
    t->opaque = opaque;
    t->expire = -1;
    return t;
}

void timer_free(Timer *t)
{
    if (t) {
        timer_del(t);
        g_free(t);
    }
}

void timer_del(Timer *t)
{
    g_mutex_lock(&timer_lock);
    if (t->expire >= 0) {
        timer_unlink_locked(t);
    }
    g_mutex_unlock(&timer_lock);
}

void timer_mod(Timer *t, int64_t expire_ns)
{
    if (expire_ns < 0) {
        expire_ns = 0;
    }
    g_mutex_lock(&timer_lock);
    if (t->expire >= 0) {
        timer_unlink_locked(t);
    }
    t->expire = expire_ns;
    Timer **pp = &active[t->type];
    while (*pp && (*pp)->expire <= expire_ns) {
        pp = &(*pp)->next;
    }
    t->next = *pp;
    *pp = t;
    bool first = active[t->type] == t;
    g_mutex_unlock(&timer_lock);
    if (first) {
        main_loop_wakeup();
    }
}

bool timer_pending(Timer *t)
{
    return t->expire >= 0;
}

int64_t timer_expire_time(Timer *t)
{
    return t->expire;
}

static int64_t clock_now_for(ClockType type)
{
    return type == KEMU_CLOCK_VIRTUAL ? vclock_now_locked() : clock_get_ns(type);
}

/* Run expired timers of one clock up to `now`. Called with the BQL held. */
static bool timers_run_clock(ClockType type, int64_t now)
{
    bool ran = false;
    for (;;) {
        g_mutex_lock(&timer_lock);
        Timer *t = active[type];
        if (!t || t->expire > now) {
            g_mutex_unlock(&timer_lock);
            break;
        }
        timer_unlink_locked(t);
        g_mutex_unlock(&timer_lock);
        t->cb(t->opaque);
        ran = true;
    }
    return ran;
}

bool timers_run_expired(void)
{
    bool ran = false;
    for (int c = 0; c < KEMU_CLOCK_MAX; c++) {
        if (c == KEMU_CLOCK_VIRTUAL) {
            g_mutex_lock(&timer_lock);
            bool frozen = !vclock_running || vclock_manual;
            int64_t now = vclock_now_locked();
            g_mutex_unlock(&timer_lock);
            if (frozen && !vclock_manual) {
                continue; /* paused VM: virtual timers wait */
            }
            ran |= timers_run_clock(c, now);
        } else {
            ran |= timers_run_clock(c, clock_get_ns(c));
        }
    }
    return ran;
}

int64_t timers_next_timeout(void)
{
    int64_t best = -1;
    g_mutex_lock(&timer_lock);
    for (int c = 0; c < KEMU_CLOCK_MAX; c++) {
        Timer *t = active[c];
        if (!t) {
            continue;
        }
        if (c == KEMU_CLOCK_VIRTUAL && (!vclock_running || vclock_manual)) {
            continue;
        }
        int64_t delta = t->expire - clock_now_for(c);
        if (delta < 0) {
            delta = 0;
        }
        if (best < 0 || delta < best) {
            best = delta;
        }
    }
    g_mutex_unlock(&timer_lock);
    return best;
}

int64_t clock_virtual_next_deadline(void)
{
    g_mutex_lock(&timer_lock);
    int64_t d = active[KEMU_CLOCK_VIRTUAL] ? active[KEMU_CLOCK_VIRTUAL]->expire : -1;
    g_mutex_unlock(&timer_lock);
    return d;
}

int64_t clock_virtual_step(int64_t ns)
{
    /* Advance in steps so each timer sees its own expiry time as "now". */
    g_mutex_lock(&timer_lock);
    int64_t target;
    if (ns > 0) {
        target = vclock_frozen + ns;
    } else {
        target = active[KEMU_CLOCK_VIRTUAL] ? active[KEMU_CLOCK_VIRTUAL]->expire : vclock_frozen;
        if (target < vclock_frozen) {
            target = vclock_frozen;
        }
    }
    g_mutex_unlock(&timer_lock);
    for (;;) {
        g_mutex_lock(&timer_lock);
        Timer *t = active[KEMU_CLOCK_VIRTUAL];
        if (!t || t->expire > target) {
            vclock_frozen = target;
            g_mutex_unlock(&timer_lock);
            break;
        }
        if (t->expire > vclock_frozen) {
            vclock_frozen = t->expire;
        }
        int64_t now = vclock_frozen;
        g_mutex_unlock(&timer_lock);
        timers_run_clock(KEMU_CLOCK_VIRTUAL, now);
    }
    return target;
}
