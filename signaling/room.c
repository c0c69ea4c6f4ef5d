/* signaling/room.c: the room directory of the signaling thread. A room exists while it has
 * members; its mode is fixed by the join that created it. Caps on rooms, members per room and
 * members in all are checked before anything changes. Lookups are linear: max_rooms is small
 * (a thousand by default) and joins are rare next to the messages in a room. */
#include "signaling/sig_priv.h"

#include <stdio.h>
#include <stdlib.h>

bool sig_room_name_ok(const char *room, size_t len)
{
    if (len == 0 || len > SIG_ROOM_MAX_LEN)
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = room[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-' || c == '.'))
            return false;
    }
    return true;
}

void sig_rooms_init(sig_rooms_t *d, uint32_t max_rooms, uint32_t max_peers, uint32_t max_room_peers)
{
    memset(d, 0, sizeof *d);
    net_list_init(&d->rooms);
    d->max_rooms = max_rooms;
    d->max_peers = max_peers;
    d->max_room_peers = max_room_peers;
    d->next_id = 1; /* 0 is never a member id */
}

void sig_rooms_fini(sig_rooms_t *d)
{
    net_list_t *pos, *tmp;
    net_list_for_each_safe (pos, tmp, &d->rooms) {
        sig_room_t *r = container_of(pos, sig_room_t, _node);
        net_list_t *mp, *mt;
        net_list_for_each_safe (mp, mt, &r->members) /* only if a stop gave up on someone */
        {
            sig_member_t *m = container_of(mp, sig_member_t, _node);
            net_list_del(&m->_node);
            m->room = NULL;
        }
        net_list_del(&r->_node);
        free(r);
    }
    d->room_cnt = 0;
}

sig_room_t *sig_rooms_find(sig_rooms_t *d, const char *name)
{
    net_list_t *pos, *tmp;
    net_list_for_each_safe (pos, tmp, &d->rooms) {
        sig_room_t *r = container_of(pos, sig_room_t, _node);
        if (strcmp(r->name, name) == 0)
            return r;
    }
    return NULL;
}

int sig_rooms_join(sig_rooms_t *d, sig_member_t *m, const char *name, enum sig_mode mode)
{
    ENG_ASSERT(!m->room);
    if (!sig_room_name_ok(name, strlen(name)))
        return -EINVAL;
    sig_room_t *r = sig_rooms_find(d, name);
    if (r && r->mode != mode)
        return -EPROTOTYPE;
    if (r && r->cnt >= d->max_room_peers)
        return -ENOSPC;
    if (d->peer_cnt >= d->max_peers)
        return -EUSERS;
    if (!r) {
        if (d->room_cnt >= d->max_rooms)
            return -EMFILE;
        r = calloc(1, sizeof *r);
        if (!r)
            return -ENOMEM;
        snprintf(r->name, sizeof r->name, "%s", name);
        r->mode = mode;
        net_list_init(&r->members);
        net_list_add_tail(&d->rooms, &r->_node);
        d->room_cnt++;
    }
    m->id = d->next_id++;
    if (d->next_id == 0)
        d->next_id = 1;
    m->room = r;
    net_list_add_tail(&r->members, &m->_node);
    r->cnt++;
    d->peer_cnt++;
    return 0;
}

void sig_rooms_leave(sig_rooms_t *d, sig_member_t *m)
{
    sig_room_t *r = m->room;
    if (!r)
        return;
    net_list_del(&m->_node);
    m->room = NULL;
    r->cnt--;
    d->peer_cnt--;
    if (r->cnt == 0) {
        net_list_del(&r->_node);
        d->room_cnt--;
        free(r);
    }
}

sig_member_t *sig_room_member(sig_room_t *room, uint32_t id)
{
    net_list_t *pos, *tmp;
    net_list_for_each_safe (pos, tmp, &room->members) {
        sig_member_t *m = container_of(pos, sig_member_t, _node);
        if (m->id == id)
            return m;
    }
    return NULL;
}
