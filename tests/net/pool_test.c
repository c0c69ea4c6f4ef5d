/* tests/net/pool_test.c */
#include "net/net.h"

#include <criterion/criterion.h>

Test(net_pool, exhausts_without_growing_and_recovers)
{
    net_pool_t *pool = net_pool_create(6); /* rounded to 8 */
    cr_assert_not_null(pool);
    cr_assert_eq(net_pool_cnt(pool), 8);
    net_pkt_t *p[8];
    for (int i = 0; i < 8; i++)
        cr_assert_not_null(p[i] = net_pkt_alloc(pool));
    cr_assert_null(net_pkt_alloc(pool), "an exhausted pool hands out nothing");
    cr_assert_eq(net_pool_avail(pool), 0);
    net_pkt_free(p[3]);
    cr_assert_eq(net_pool_avail(pool), 1);
    net_pkt_t *q = net_pkt_alloc(pool);
    cr_assert_eq(q, p[3]);
    for (int i = 0; i < 8; i++)
        net_pkt_free(p[i]);
    cr_assert_eq(net_pool_avail(pool), 8);
    net_pool_destroy(pool);
}

Test(net_pool, headroom_tailroom_and_refs)
{
    net_pool_t *pool = net_pool_create(4);
    net_pkt_t *p = net_pkt_copy_in(pool, "hello", 5);
    cr_assert_eq(p->len, 5);
    cr_assert_eq(net_pkt_headroom(p), NET_PKT_HEADROOM);
    uint8_t *h = net_pkt_push(p, 4);
    cr_assert_eq(h, p->data);
    memcpy(h, "HDR:", 4);
    cr_assert_eq(memcmp(p->data, "HDR:hello", 9), 0);
    cr_assert_not_null(net_pkt_put(p, 10));
    cr_assert_eq(p->len, 19);
    cr_assert_null(net_pkt_push(p, NET_PKT_HEADROOM), "no more headroom than the slot has");
    cr_assert_null(net_pkt_put(p, NET_PKT_SLOT_LEN), "no more tailroom than the slot has");
    cr_assert_geq(net_pkt_tailroom(p), NET_PKT_TAILROOM);
    cr_assert_eq(memcmp(net_pkt_pull(p, 4), "hello", 5), 0);
    cr_assert_null(net_pkt_pull(p, 1000));
    cr_assert_null(net_pkt_copy_in(pool, "", NET_PKT_MAX_LEN + 1));
    net_pkt_ref(p);
    net_pkt_free(p);
    cr_assert_eq(net_pool_avail(pool), 3, "a referenced packet stays out");
    net_pkt_free(p);
    cr_assert_eq(net_pool_avail(pool), 4);
    net_pkt_free(NULL);
    net_pool_destroy(pool);
}
