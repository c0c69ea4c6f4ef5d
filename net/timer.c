/* net/timer.c: a hashed timing wheel.
 *
 * NET_TIMER_SLOTS slots of NET_TIMER_TICK_NS each; a timer sits in the slot of its due tick
 * (modulo the wheel), so arming and cancelling are O(1) list operations. A timer further away
 * than one lap waits in its slot and is skipped until its lap comes round. A run walks the
 * slots of the ticks that passed, moves what is due onto a local list kept in deadline order,
 * then fires that list. The earliest deadline is cached as a lower bound and recomputed only
 * when it is reached, so a busy shard does not scan the wheel every tick.
 */
#include "net/net.h"

static uint64_t tick_of(uint64_t ns)
{
    return ns / NET_TIMER_TICK_NS;
}

void net_timers_init(net_timers_t *w, uint64_t now_ns)
{
    for (uint32_t i = 0; i < NET_TIMER_SLOTS; i++)
        net_list_init(&w->_slots[i]);
    w->_tick = tick_of(now_ns);
    w->_next_ns = UINT64_MAX;
    w->_armed_cnt = 0;
}

void net_timer_init(net_timer_t *t, net_timer_fn fn)
{
    net_list_init(&t->_node);
    t->_due_ns = 0;
    t->_fn = fn;
    t->_armed = false;
}

void net_timer_cancel(net_timers_t *w, net_timer_t *t)
{
    if (!t->_armed)
        return;
    net_list_del(&t->_node);
    t->_armed = false;
    w->_armed_cnt--;
}

void net_timer_arm(net_timers_t *w, net_timer_t *t, uint64_t due_ns)
{
    net_timer_cancel(w, t);
    /* A deadline already behind the wheel goes in the next slot to be processed. */
    uint64_t tick = NET_MAX(tick_of(due_ns), w->_tick);
    net_list_add_tail(&w->_slots[tick % NET_TIMER_SLOTS], &t->_node);
    t->_due_ns = due_ns;
    t->_armed = true;
    w->_armed_cnt++;
    if (due_ns < w->_next_ns)
        w->_next_ns = due_ns;
}

uint32_t net_timers_armed(const net_timers_t *w)
{
    return w->_armed_cnt;
}

/* Inserts @t into @due, kept in deadline order; equal deadlines keep their arrival order.
 * Slots are visited in tick order, so the common case appends at the tail. */
static void due_insert(net_list_t *due, net_timer_t *t)
{
    net_list_t *pos = due->prev;
    while (pos != due && container_of(pos, net_timer_t, _node)->_due_ns > t->_due_ns)
        pos = pos->prev;
    net_list_insert_after(pos, &t->_node);
}

/* The earliest deadline, exact when it lies within one lap, else a lower bound. */
static uint64_t next_deadline(const net_timers_t *w)
{
    if (w->_armed_cnt == 0)
        return UINT64_MAX;
    for (uint64_t tick = w->_tick; tick < w->_tick + NET_TIMER_SLOTS; tick++) {
        const net_list_t *slot = &w->_slots[tick % NET_TIMER_SLOTS];
        uint64_t best = UINT64_MAX;
        for (const net_list_t *n = slot->next; n != slot; n = n->next) {
            uint64_t due = container_of(n, net_timer_t, _node)->_due_ns;
            if (tick_of(due) <= tick && due < best)
                best = due;
        }
        if (best != UINT64_MAX)
            return best;
    }
    return (w->_tick + NET_TIMER_SLOTS) * NET_TIMER_TICK_NS;
}

uint64_t net_timers_run(net_timers_t *w, uint64_t now_ns, uint64_t max_wait_ns)
{
    if (now_ns >= w->_next_ns) {
        uint64_t now_tick = tick_of(now_ns);
        uint64_t last = NET_MIN(now_tick, w->_tick + NET_TIMER_SLOTS - 1);
        net_list_t due;
        net_list_init(&due);
        for (uint64_t tick = w->_tick; tick <= last; tick++) {
            net_list_t *slot = &w->_slots[tick % NET_TIMER_SLOTS], *n, *tmp;
            net_list_for_each_safe (n, tmp, slot) {
                net_timer_t *t = container_of(n, net_timer_t, _node);
                if (t->_due_ns <= now_ns) {
                    net_list_del(n);
                    due_insert(&due, t);
                }
            }
        }
        /* Keep the current tick: timers due later within it are still in its slot. */
        if (now_tick > w->_tick)
            w->_tick = now_tick;
        /* Fire in order. A callback may cancel or re-arm timers still on @due: both unlink
         * them from it, so each step takes the head afresh. */
        while (!net_list_empty(&due)) {
            net_timer_t *t = container_of(due.next, net_timer_t, _node);
            net_list_del(&t->_node);
            t->_armed = false;
            w->_armed_cnt--;
            t->_fn(t, now_ns);
        }
        w->_next_ns = next_deadline(w);
    }
    if (w->_next_ns == UINT64_MAX)
        return max_wait_ns;
    if (w->_next_ns <= now_ns)
        return 0;
    return NET_MIN(w->_next_ns - now_ns, max_wait_ns);
}
