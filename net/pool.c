/* net/pool.c: fixed pools of 2 KiB packet slots. Allocated once; never grows. */
#include "net/net.h"

#include <stdlib.h>
#include <sys/mman.h>

struct net_pool {
    uint8_t *mem;    /* cnt * NET_PKT_SLOT_LEN bytes */
    net_pkt_t *pkts; /* metadata, one per slot */
    uint32_t *free;  /* stack of free slot indices */
    uint32_t free_cnt;
    uint32_t cnt;
    net_pool_recycle_fn recycle;
    void *recycle_arg;
};

net_pool_t *net_pool_create(uint32_t cnt)
{
    if (cnt == 0 || cnt > (1u << 20)) {
        LOG_ERROR("net_pool_create: bad slot count %u", cnt);
        return NULL;
    }
    cnt = net_round_pow2(cnt);
    net_pool_t *pool = calloc(1, sizeof *pool);
    if (!pool)
        goto fail;
    pool->cnt = cnt;
    /* mmap gives page-aligned, zeroed memory the kernel can write into. */
    size_t mem_len = (size_t)cnt * NET_PKT_SLOT_LEN;
    pool->mem = mmap(NULL, mem_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (pool->mem == MAP_FAILED) {
        pool->mem = NULL;
        goto fail;
    }
    pool->pkts = calloc(cnt, sizeof *pool->pkts);
    pool->free = calloc(cnt, sizeof *pool->free);
    if (!pool->pkts || !pool->free)
        goto fail;
    for (uint32_t i = 0; i < cnt; i++) {
        pool->pkts[i].idx = i;
        pool->pkts[i].pool = pool;
        pool->free[i] = cnt - 1 - i; /* pop order 0, 1, 2, ... */
    }
    pool->free_cnt = cnt;
    return pool;
fail:
    LOG_ERROR("net_pool_create: out of memory for %u slots", cnt);
    net_pool_destroy(pool);
    return NULL;
}

void net_pool_destroy(net_pool_t *pool)
{
    if (!pool)
        return;
    if (pool->mem)
        munmap(pool->mem, (size_t)pool->cnt * NET_PKT_SLOT_LEN);
    free(pool->pkts);
    free(pool->free);
    free(pool);
}

uint32_t net_pool_cnt(const net_pool_t *pool)
{
    return pool->cnt;
}

uint32_t net_pool_avail(const net_pool_t *pool)
{
    return pool->free_cnt;
}

uint8_t *net_pool_slot(const net_pool_t *pool, uint32_t idx)
{
    return pool->mem + (size_t)idx * NET_PKT_SLOT_LEN;
}

net_pkt_t *net_pool_pkt(net_pool_t *pool, uint32_t idx)
{
    return &pool->pkts[idx];
}

void net_pool_set_recycle(net_pool_t *pool, net_pool_recycle_fn fn, void *arg)
{
    pool->recycle = fn;
    pool->recycle_arg = arg;
}

int net_pool_take_free(net_pool_t *pool)
{
    if (pool->free_cnt == 0)
        return -ENOBUFS;
    return (int)pool->free[--pool->free_cnt];
}

net_pkt_t *net_pool_claim(net_pool_t *pool, uint32_t idx)
{
    net_pkt_t *pkt = &pool->pkts[idx];
    pkt->data = net_pool_slot(pool, idx) + NET_PKT_HEADROOM;
    pkt->len = 0;
    pkt->refcnt = 1;
    pkt->rx_ns = 0;
    pkt->user = NULL;
    pkt->addr.len = 0;
    return pkt;
}

net_pkt_t *net_pkt_alloc(net_pool_t *pool)
{
    int idx = net_pool_take_free(pool);
    if (idx < 0)
        return NULL;
    return net_pool_claim(pool, (uint32_t)idx);
}

net_pkt_t *net_pkt_ref(net_pkt_t *pkt)
{
    __atomic_add_fetch(&pkt->refcnt, 1, __ATOMIC_RELAXED);
    return pkt;
}

void net_pkt_free(net_pkt_t *pkt)
{
    if (!pkt)
        return;
    /* The common case, a sole owner, skips the atomic read-modify-write. */
    if (__atomic_load_n(&pkt->refcnt, __ATOMIC_ACQUIRE) != 1 &&
        __atomic_sub_fetch(&pkt->refcnt, 1, __ATOMIC_ACQ_REL) != 0)
        return;
    ENG_ASSERT(pkt->refcnt >= 1);
    pkt->refcnt = 0;
    net_pool_t *pool = pkt->pool;
    if (pool->recycle && pool->recycle(pool->recycle_arg, pkt->idx))
        return;
    DBG_ASSERT(pool->free_cnt < pool->cnt);
    pool->free[pool->free_cnt++] = pkt->idx;
}

uint32_t net_pkt_headroom(const net_pkt_t *pkt)
{
    return (uint32_t)(pkt->data - net_pool_slot(pkt->pool, pkt->idx));
}

uint32_t net_pkt_tailroom(const net_pkt_t *pkt)
{
    return NET_PKT_SLOT_LEN - net_pkt_headroom(pkt) - pkt->len;
}

uint8_t *net_pkt_push(net_pkt_t *pkt, uint32_t n)
{
    if (net_pkt_headroom(pkt) < n)
        return NULL;
    pkt->data -= n;
    pkt->len += n;
    return pkt->data;
}

uint8_t *net_pkt_put(net_pkt_t *pkt, uint32_t n)
{
    if (net_pkt_tailroom(pkt) < n)
        return NULL;
    uint8_t *p = pkt->data + pkt->len;
    pkt->len += n;
    return p;
}

uint8_t *net_pkt_pull(net_pkt_t *pkt, uint32_t n)
{
    if (pkt->len < n)
        return NULL;
    pkt->data += n;
    pkt->len -= n;
    return pkt->data;
}

int net_pkt_set_len(net_pkt_t *pkt, uint32_t len)
{
    if (net_pkt_headroom(pkt) + len > NET_PKT_SLOT_LEN)
        return -EMSGSIZE;
    pkt->len = len;
    return 0;
}

net_pkt_t *net_pkt_copy_in(net_pool_t *pool, const void *data, size_t len)
{
    if (len > NET_PKT_MAX_LEN)
        return NULL;
    net_pkt_t *pkt = net_pkt_alloc(pool);
    if (!pkt)
        return NULL;
    memcpy(pkt->data, data, len);
    pkt->len = (uint32_t)len;
    return pkt;
}
