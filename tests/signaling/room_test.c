/* tests/signaling/room_test.c: the room directory and its caps. */
#include "signaling/sig_priv.h"

#include <criterion/criterion.h>

Test(signaling_room, join_leave_ids_and_caps)
{
    sig_rooms_t d;
    sig_rooms_init(&d, 2, 5, 3);
    sig_member_t m[8] = {0};
    cr_assert_eq(sig_rooms_join(&d, &m[0], "a", SIG_MODE_P2P), 0);
    cr_assert_eq(sig_rooms_join(&d, &m[1], "a", SIG_MODE_P2P), 0);
    cr_expect_neq(m[0].id, m[1].id);
    cr_expect_neq(m[0].id, 0);
    cr_expect_eq(sig_rooms_join(&d, &m[2], "a", SIG_MODE_SFU), -EPROTOTYPE);
    cr_assert_eq(sig_rooms_join(&d, &m[2], "a", SIG_MODE_P2P), 0);
    cr_expect_eq(sig_rooms_join(&d, &m[3], "a", SIG_MODE_P2P), -ENOSPC, "room cap 3");
    cr_assert_eq(sig_rooms_join(&d, &m[3], "b", SIG_MODE_P2P), 0);
    cr_expect_eq(sig_rooms_join(&d, &m[4], "c", SIG_MODE_P2P), -EMFILE, "room count cap 2");
    cr_assert_eq(sig_rooms_join(&d, &m[4], "b", SIG_MODE_P2P), 0);
    cr_expect_eq(sig_rooms_join(&d, &m[5], "b", SIG_MODE_P2P), -EUSERS, "total cap 5");
    cr_expect_eq(d.room_cnt, 2);
    cr_expect_eq(d.peer_cnt, 5);
    sig_room_t *a = sig_rooms_find(&d, "a");
    cr_assert_not_null(a);
    cr_expect_eq(sig_room_member(a, m[1].id), &m[1]);
    cr_expect_null(sig_room_member(a, m[3].id), "members of b are not in a");
    cr_expect_eq(sig_rooms_join(&d, &m[6], "bad room", SIG_MODE_P2P), -EINVAL);
    sig_rooms_leave(&d, &m[3]);
    sig_rooms_leave(&d, &m[4]);
    cr_expect_null(sig_rooms_find(&d, "b"), "an empty room goes away");
    cr_expect_eq(d.room_cnt, 1);
    sig_rooms_leave(&d, &m[4]); /* twice is a no-op */
    cr_assert_eq(sig_rooms_join(&d, &m[5], "c", SIG_MODE_SFU), 0);
    for (int i = 0; i < 3; i++)
        sig_rooms_leave(&d, &m[i]);
    sig_rooms_leave(&d, &m[5]);
    cr_expect_eq(d.room_cnt, 0);
    cr_expect_eq(d.peer_cnt, 0);
    sig_rooms_fini(&d);
}

Test(signaling_room, names)
{
    cr_expect(sig_room_name_ok("Room_1.a-b", 10));
    cr_expect(!sig_room_name_ok("", 0));
    cr_expect(!sig_room_name_ok("a b", 3));
    cr_expect(!sig_room_name_ok("a/b", 3));
    char long_name[66];
    memset(long_name, 'a', 65);
    long_name[65] = 0;
    cr_expect(sig_room_name_ok(long_name, 64));
    cr_expect(!sig_room_name_ok(long_name, 65));
}
