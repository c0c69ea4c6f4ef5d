/* signaling/server_main.c: urtc-server, the demo call server (DESIGN.md "Contracts").
 *
 *   urtc-server [--listen 127.0.0.1:8080] [--media-ip 127.0.0.1] [--udp-port 40000]
 *               [--shards N] [options]          serve; stops cleanly on SIGINT/SIGTERM
 *   urtc-server token --room R [--ttl 3600] --secret S   print a room token
 */
#include "engine/engine.h"
#include "signaling/signaling.h"

#include <arpa/inet.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static void usage(FILE *f)
{
    fprintf(f, "usage: urtc-server [options]\n"
               "       urtc-server token --room ROOM [--ttl SECONDS] --secret SECRET\n"
               "\n"
               "The demo call server: the page at /, WebSocket signaling at /ws, WHIP at\n"
               "/whip/ROOM, WHEP at /whep/ROOM, /metrics and /healthz (docs/signaling.md).\n"
               "\n"
               "options:\n"
               "  --listen IP:PORT       HTTP and WebSocket address (default 127.0.0.1:8080;\n"
               "                         port 0: any free port, printed at start)\n"
               "  --media-ip IP          address the media (UDP) sockets bind to (default\n"
               "                         127.0.0.1)\n"
               "  --udp-port N           UDP port of shard 0; shard i uses N+i (default 40000)\n"
               "  --shards N             media shard threads (default: one per CPU)\n"
               "  --web DIR              directory served at / (default: web)\n"
               "  --secret S             require room tokens signed with S for joins, WHIP and\n"
               "                         WHEP (default: $URTC_SECRET, else rooms are open)\n"
               "  --mode sfu|p2p         mode of a room whose first join names none (default\n"
               "                         sfu)\n"
               "  --room-shard-max N     SFU: members of one room a shard takes before the\n"
               "                         room spans another shard (default 64)\n"
               "  --max-rooms N          rooms at once (default 1000)\n"
               "  --max-room-peers N     members per room (default 16)\n"
               "  --max-peers N          members over all rooms (default 10000)\n"
               "  --max-conns N          TCP connections (default 4096)\n"
               "  --max-conns-per-ip N   TCP connections from one address (default 64)\n"
               "  --msg-rate N           signaling messages per second per client (default 50)\n"
               "  --ws-ping-ms N         WebSocket keepalive ping interval (default 20000)\n"
               "  --log LEVEL            error, warn, info, debug or trace (default info)\n"
               "  --help                 this text\n"
               "\n"
               "token options:\n"
               "  --room ROOM            the room the token admits to\n"
               "  --ttl SECONDS          lifetime (default 3600)\n"
               "  --secret S             the server's secret (default: $URTC_SECRET)\n"
               "\n"
               "Debugging only, never in production: URTC_KEYLOG=FILE appends every DTLS\n"
               "association's secret to FILE (NSS key log, for Wireshark; docs/dtls-srtp.md).\n");
}

static int parse_u32(const char *s, uint32_t *out)
{
    char *end;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (errno || end == s || *end || v > UINT32_MAX || s[0] == '-')
        return -EINVAL;
    *out = (uint32_t)v;
    return 0;
}

static int token_main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"room", required_argument, NULL, 'r'},
        {"ttl", required_argument, NULL, 't'},
        {"secret", required_argument, NULL, 's'},
        {"help", no_argument, NULL, 'h'},
        {0},
    };
    const char *room = NULL, *secret = getenv("URTC_SECRET");
    uint32_t ttl = 3600;
    int o;
    while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (o) {
        case 'r':
            room = optarg;
            break;
        case 's':
            secret = optarg;
            break;
        case 't':
            if (parse_u32(optarg, &ttl) < 0 || ttl == 0) {
                fprintf(stderr, "urtc-server token: bad --ttl %s\n", optarg);
                return 2;
            }
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (!room || !secret || !*secret) {
        fprintf(stderr, "urtc-server token: --room and --secret (or URTC_SECRET) are needed\n");
        return 2;
    }
    char tok[SIG_TOKEN_MAX_LEN + 1];
    int n = sig_token_make(secret, room, (uint64_t)time(NULL) + ttl, tok, sizeof tok);
    if (n < 0) {
        fprintf(stderr, "urtc-server token: cannot make a token for room '%s' (%s)\n", room,
                n == -EINVAL ? "room names are 1-64 of A-Z a-z 0-9 _ . -" : strerror(-n));
        return 2;
    }
    printf("%s\n", tok);
    return 0;
}

static bool is_loopback(const net_addr_t *a)
{
    if (net_addr_family(a) == AF_INET)
        return (ntohl(a->in4.sin_addr.s_addr) >> 24) == 127;
    return net_addr_family(a) == AF_INET6 && IN6_IS_ADDR_LOOPBACK(&a->in6.sin6_addr);
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "token") == 0)
        return token_main(argc - 1, argv + 1);

    static const struct option opts[] = {
        {"listen", required_argument, NULL, 'l'},
        {"media-ip", required_argument, NULL, 'm'},
        {"udp-port", required_argument, NULL, 'u'},
        {"shards", required_argument, NULL, 'n'},
        {"web", required_argument, NULL, 'w'},
        {"secret", required_argument, NULL, 's'},
        {"mode", required_argument, NULL, 'M'},
        {"max-rooms", required_argument, NULL, 1},
        {"max-room-peers", required_argument, NULL, 2},
        {"max-peers", required_argument, NULL, 3},
        {"max-conns", required_argument, NULL, 4},
        {"max-conns-per-ip", required_argument, NULL, 5},
        {"msg-rate", required_argument, NULL, 6},
        {"ws-ping-ms", required_argument, NULL, 7},
        {"room-shard-max", required_argument, NULL, 8},
        {"log", required_argument, NULL, 'L'},
        {"help", no_argument, NULL, 'h'},
        {0},
    };
    sig_cfg_t sc = {.listen = "127.0.0.1:8080", .web_root = "web", .secret = getenv("URTC_SECRET")};
    eng_cfg_t ec = {.media_ip = "127.0.0.1", .udp_port = 40000};
    eng_sfu_cfg_t sfu_cfg = {0};
    uint32_t v = 0;
    int o;
    while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        uint32_t *dst = NULL;
        switch (o) {
        case 'l':
            sc.listen = optarg;
            continue;
        case 'm':
            ec.media_ip = optarg;
            continue;
        case 'w':
            sc.web_root = optarg;
            continue;
        case 's':
            sc.secret = optarg;
            continue;
        case 'h':
            usage(stdout);
            return 0;
        case 'M':
            if (strcmp(optarg, "p2p") == 0) {
                sc.def_mode = SIG_MODE_P2P;
            } else if (strcmp(optarg, "sfu") == 0) {
                sc.def_mode = SIG_MODE_SFU;
            } else {
                fprintf(stderr, "urtc-server: --mode is sfu or p2p\n");
                return 2;
            }
            continue;
        case 'L': {
            int lvl = net_log_level_parse(optarg);
            if (lvl < 0) {
                fprintf(stderr, "urtc-server: bad --log %s\n", optarg);
                return 2;
            }
            net_log_set_level((enum net_log_level)lvl);
            continue;
        }
        case 'u':
        case 'n':
            break;
        case 1:
            dst = &sc.max_rooms;
            break;
        case 2:
            dst = &sc.max_room_peers;
            break;
        case 3:
            dst = &sc.max_peers;
            break;
        case 4:
            dst = &sc.max_conns;
            break;
        case 5:
            dst = &sc.max_conns_ip;
            break;
        case 6:
            dst = &sc.msg_rate;
            break;
        case 7:
            dst = &sc.ws_ping_ms;
            break;
        case 8:
            dst = &sfu_cfg.room_max_per_shard;
            break;
        default:
            usage(stderr);
            return 2;
        }
        if (parse_u32(optarg, &v) < 0) {
            fprintf(stderr, "urtc-server: bad number '%s'\n", optarg);
            return 2;
        }
        if (o == 'u') {
            if (v > 65535) {
                fprintf(stderr, "urtc-server: --udp-port is 0..65535\n");
                return 2;
            }
            ec.udp_port = (uint16_t)v;
        } else if (o == 'n') {
            ec.shards = v;
        } else {
            *dst = v;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "urtc-server: unexpected argument '%s'\n", argv[optind]);
        usage(stderr);
        return 2;
    }
    net_log_set_tag("main");

    net_addr_t la;
    if (net_addr_parse(&la, sc.listen, 8080) < 0) {
        fprintf(stderr, "urtc-server: bad --listen %s\n", sc.listen);
        return 2;
    }
    if ((!sc.secret || !*sc.secret) && !is_loopback(&la))
        LOG_WARN("listening on %s without --secret: anyone who can reach it may join any room",
                 sc.listen);
    char idx[1024];
    snprintf(idx, sizeof idx, "%s/index.html", sc.web_root);
    if (access(idx, R_OK) != 0)
        LOG_WARN("%s is missing: the demo page will answer 404 (see --web)", idx);

    /* Every thread started from here inherits this mask; eng_wait_signal() takes the signals. */
    sigset_t block;
    sigemptyset(&block);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGTERM);
    sigaddset(&block, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &block, NULL);

    eng_t *eng = eng_create(&ec);
    if (!eng) {
        fprintf(stderr, "urtc-server: cannot start the media shards (see the log above)\n");
        return 1;
    }
    /* The SFU (engine/sfu.c): its control thread is the signaling thread from here on. */
    eng_sfu_t *sfu = eng_sfu_create(eng, &sfu_cfg);
    if (!sfu)
        LOG_WARN("no SFU: WHIP and WHEP will answer 501");
    sc.sfu = sfu;
    sig_server_t *sig = sig_server_start(&sc, eng);
    if (!sig) {
        eng_destroy(eng);
        eng_sfu_destroy(sfu);
        fprintf(stderr, "urtc-server: cannot start signaling on %s\n", sc.listen);
        return 1;
    }
    net_addr_t a, m0;
    sig_server_addr(sig, &a);
    eng_shard_addr(eng, 0, &m0);
    char as[NET_ADDR_STRLEN], ms[NET_ADDR_STRLEN];
    printf("urtc-server: listening on http://%s/ (media %s, %u shards%s)\n",
           net_addr_fmt(&a, as, sizeof as), net_addr_fmt(&m0, ms, sizeof ms), eng_shard_count(eng),
           sc.secret && *sc.secret ? ", room tokens required" : "");
    fflush(stdout);

    int sig_no = eng_wait_signal(0);
    LOG_INFO("signal %d: stopping", sig_no);
    sig_server_stop(sig);
    eng_destroy(eng);
    eng_sfu_destroy(sfu); /* after the engine: the shards used its state */
    return 0;
}
