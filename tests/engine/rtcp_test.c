/* tests/engine/rtcp_test.c: the RTCP steps the SFU and the API's pcs share (engine/rtcp.c).
 * eng_nack_wait_ns: the spacing of NACK retries from a measured round trip. */
#include "engine/engine_priv.h"

#include <criterion/criterion.h>

#define MS NET_NS_PER_MS

Test(eng_rtcp, nack_wait_is_the_round_trip_and_a_quarter)
{
    cr_assert_eq(eng_nack_wait_ns(200 * MS, 50 * MS), 250 * MS);
    cr_assert_eq(eng_nack_wait_ns(40 * MS, 50 * MS), 50 * MS);
}

Test(eng_rtcp, nack_wait_falls_back_without_a_measurement)
{
    cr_assert_eq(eng_nack_wait_ns(-1, 50 * MS), 50 * MS);
    cr_assert_eq(eng_nack_wait_ns(-1, 125 * MS), 125 * MS);
}

/* A loopback round trip of ~0 and a bogus one of minutes are clamped to 20-500 ms. */
Test(eng_rtcp, nack_wait_clamps_the_round_trip)
{
    cr_assert_eq(eng_nack_wait_ns(0, 50 * MS), ENG_NACK_MIN_NS + ENG_NACK_MIN_NS / 4);
    cr_assert_eq(eng_nack_wait_ns(3 * MS, 50 * MS), 25 * MS);
    cr_assert_eq(eng_nack_wait_ns(ENG_RTT_MAX_NS, 50 * MS), 625 * MS);
    cr_assert_eq(eng_nack_wait_ns(120 * NET_NS_PER_SEC, 50 * MS), 625 * MS);
}
