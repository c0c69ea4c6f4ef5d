/* tests/net/timer_test.c: the timer wheel keeps deadlines in order and handles cancellation. */
#include "net/net.h"

#include <criterion/criterion.h>
#include <stdlib.h>

#define MS NET_NS_PER_MS

struct rec {
    net_timer_t t;
    int id;
};

static int fired[4096];
static uint64_t fired_at[4096];
static int nfired;

static void on_fire(net_timer_t *t, uint64_t now)
{
    struct rec *r = container_of(t, struct rec, t);
    fired_at[nfired] = now;
    fired[nfired++] = r->id;
}

static void reset(void)
{
    nfired = 0;
}

Test(net_timer, fires_in_deadline_order_within_one_run)
{
    net_timers_t w;
    uint64_t t0 = 1000 * MS;
    net_timers_init(&w, t0);
    reset();
    /* Deadlines within one 1 ms tick and across ticks, armed out of order. */
    const uint64_t due[] = {t0 + 5 * MS + 700000, t0 + 5 * MS + 100000, t0 + 2 * MS,
                            t0 + 900 * MS,        t0 + 3000 * MS,       t0 + 5 * MS + 400000};
    struct rec r[6];
    for (int i = 0; i < 6; i++) {
        r[i].id = i;
        net_timer_init(&r[i].t, on_fire);
        net_timer_arm(&w, &r[i].t, due[i]);
    }
    cr_assert_eq(net_timers_armed(&w), 6);
    /* Nothing due yet; the wait is the time to the earliest deadline. */
    cr_assert_eq(net_timers_run(&w, t0, UINT64_MAX), 2 * MS);
    cr_assert_eq(nfired, 0);
    /* One late run catches up over several laps of the wheel (1024 slots). */
    uint64_t wait = net_timers_run(&w, t0 + 5000 * MS, UINT64_MAX);
    cr_assert_eq(nfired, 6);
    static const int order[] = {2, 1, 5, 0, 3, 4};
    for (int i = 0; i < 6; i++)
        cr_assert_eq(fired[i], order[i], "position %d: got %d, want %d", i, fired[i], order[i]);
    cr_assert_eq(net_timers_armed(&w), 0);
    cr_assert_eq(wait, UINT64_MAX);
}

Test(net_timer, steps_fire_each_at_its_time)
{
    net_timers_t w;
    net_timers_init(&w, 0);
    reset();
    struct rec r[100];
    srand(7);
    for (int i = 0; i < 100; i++) {
        r[i].id = i;
        net_timer_init(&r[i].t, on_fire);
        net_timer_arm(&w, &r[i].t,
                      (uint64_t)(rand() % 3000) * MS + (uint64_t)(rand() % 1000) * 1000);
    }
    uint64_t now = 0;
    while (net_timers_armed(&w)) {
        uint64_t wait = net_timers_run(&w, now, 50 * MS);
        cr_assert(wait <= 50 * MS);
        now += wait ? wait : 1;
    }
    cr_assert_eq(nfired, 100);
    for (int i = 0; i < 100; i++) {
        /* Never early, and (stepping by the returned wait) never late either. */
        cr_assert_eq(fired_at[i], net_timer_due(&r[fired[i]].t), "timer %d fired at %lu, due %lu",
                     fired[i], (unsigned long)fired_at[i],
                     (unsigned long)net_timer_due(&r[fired[i]].t));
        if (i)
            cr_assert_geq(fired_at[i], fired_at[i - 1]);
    }
}

static net_timers_t *cb_wheel;
static struct rec *cb_victim;

static void cancel_other(net_timer_t *t, uint64_t now)
{
    on_fire(t, now);
    net_timer_cancel(cb_wheel, &cb_victim->t);
}

static void rearm_self(net_timer_t *t, uint64_t now)
{
    on_fire(t, now);
    if (nfired < 3)
        net_timer_arm(cb_wheel, t, now + 10 * MS);
}

Test(net_timer, cancel_before_and_during_a_run)
{
    net_timers_t w;
    net_timers_init(&w, 0);
    reset();
    struct rec a = {.id = 1}, b = {.id = 2}, c = {.id = 3};
    net_timer_init(&a.t, on_fire);
    net_timer_init(&b.t, cancel_other);
    net_timer_init(&c.t, on_fire);
    net_timer_arm(&w, &a.t, 5 * MS);
    net_timer_arm(&w, &b.t, 6 * MS);
    net_timer_arm(&w, &c.t, 7 * MS);
    net_timer_cancel(&w, &a.t);
    net_timer_cancel(&w, &a.t); /* twice is harmless */
    cr_assert_not(net_timer_armed(&a.t));
    cb_wheel = &w;
    cb_victim = &c; /* b cancels c, which is already on the due list of the same run */
    net_timers_run(&w, 10 * MS, UINT64_MAX);
    cr_assert_eq(nfired, 1);
    cr_assert_eq(fired[0], 2);
    cr_assert_eq(net_timers_armed(&w), 0);
}

Test(net_timer, callback_rearms_itself_and_past_deadlines_fire_next_run)
{
    net_timers_t w;
    net_timers_init(&w, 100 * MS);
    reset();
    cb_wheel = &w;
    struct rec a = {.id = 9};
    net_timer_init(&a.t, rearm_self);
    net_timer_arm(&w, &a.t, 50 * MS); /* already in the past */
    cr_assert_eq(net_timers_run(&w, 100 * MS, UINT64_MAX), 10 * MS);
    cr_assert_eq(nfired, 1);
    cr_assert_eq(net_timers_run(&w, 110 * MS, UINT64_MAX), 10 * MS);
    cr_assert_eq(net_timers_run(&w, 120 * MS, UINT64_MAX), UINT64_MAX);
    cr_assert_eq(nfired, 3);
}
