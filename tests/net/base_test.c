/* tests/net/base_test.c: addresses and byte helpers. */
#include "net/net.h"

#include <criterion/criterion.h>
#include <fcntl.h>
#include <unistd.h>

Test(net_base, addr_parse_and_format)
{
    net_addr_t a, b;
    char buf[NET_ADDR_STRLEN];
    cr_assert_eq(net_addr_parse(&a, "127.0.0.1:40000", -1), 0);
    cr_assert_str_eq(net_addr_fmt(&a, buf, sizeof buf), "127.0.0.1:40000");
    cr_assert_eq(net_addr_parse(&b, "[::1]:9", -1), 0);
    cr_assert_str_eq(net_addr_fmt(&b, buf, sizeof buf), "[::1]:9");
    cr_assert_eq(net_addr_family(&b), AF_INET6);
    cr_assert_eq(net_addr_parse(&b, "::1", 5), 0, "a bare v6 address takes the default port");
    cr_assert_eq(net_addr_port(&b), 5);
    cr_assert_eq(net_addr_parse(&b, "127.0.0.1", -1), -EINVAL, "port required");
    cr_assert_eq(net_addr_parse(&b, "127.0.0.1:70000", -1), -EINVAL);
    cr_assert_eq(net_addr_parse(&b, "bogus:1", -1), -EINVAL);
    cr_assert_eq(net_addr_parse(&b, "[::1", -1), -EINVAL);
    cr_assert_eq(net_addr_parse(&b, "127.0.0.1:40000", -1), 0);
    cr_assert(net_addr_eq(&a, &b));
    net_addr_set_port(&b, 1);
    cr_assert_not(net_addr_eq(&a, &b));
    cr_assert(net_addr_ip_eq(&a, &b));
}

Test(net_base, byte_helpers_round_trip)
{
    uint8_t b[8];
    net_wr16be(b, 0x1234);
    cr_assert_eq(b[0], 0x12);
    cr_assert_eq(net_rd16be(b), 0x1234);
    net_wr24be(b, 0xabcdef);
    cr_assert_eq(net_rd24be(b), 0xabcdef);
    net_wr32be(b + 1, 0xdeadbeef); /* unaligned */
    cr_assert_eq(b[1], 0xde);
    cr_assert_eq(net_rd32be(b + 1), 0xdeadbeef);
    net_wr64be(b, 0x0102030405060708ull);
    cr_assert_eq(b[7], 8);
    cr_assert_eq(net_rd64be(b), 0x0102030405060708ull);
}

Test(net_base, log_level_parse)
{
    cr_assert_eq(net_log_level_parse("debug"), NET_LOG_DEBUG);
    cr_assert_eq(net_log_level_parse("loud"), -EINVAL);
}

static int count_lines(int fd)
{
    char buf[8192];
    ssize_t n = read(fd, buf, sizeof buf);
    int lines = 0;
    for (ssize_t i = 0; i < n; i++)
        lines += buf[i] == '\n';
    return lines;
}

Test(net_base, log_lines_carry_tag_and_ratelimit_suppresses)
{
    int p[2];
    cr_assert_eq(pipe2(p, O_NONBLOCK), 0);
    net_log_set_fd(p[1]);
    net_log_set_level(NET_LOG_INFO);
    net_log_set_tag("s7");
    LOG_INFO("hello %d", 42);
    LOG_DEBUG("not shown at INFO");
    char buf[512];
    ssize_t n = read(p[0], buf, sizeof buf - 1);
    cr_assert_gt(n, 0);
    buf[n] = 0;
    cr_assert_not_null(strstr(buf, " I s7 "), "level and tag in: %s", buf);
    cr_assert_not_null(strstr(buf, "hello 42\n"));
    cr_assert_null(strstr(buf, "not shown"));
    for (int i = 0; i < 100; i++)
        LOG_RATELIMIT(60000, "flood %d", i);
    cr_assert_eq(count_lines(p[0]), 1, "100 calls within the interval print one line");
    LOG_WARN("warned");
    n = read(p[0], buf, sizeof buf - 1);
    buf[n > 0 ? n : 0] = 0;
    cr_assert_not_null(strstr(buf, "(base_test.c:"), "WARN carries file:line: %s", buf);
    net_log_set_fd(2);
    close(p[0]);
    close(p[1]);
}
