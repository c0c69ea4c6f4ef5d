/* tests/rtc/pc_test.c: JSEP negotiation. Answers to every real offer fixture are checked
 * structurally against the offer; two rtc_pc_t negotiate with each other; misuse of the
 * signaling state machine and bad answers are refused; stopped m-sections are recycled. */
#include "rtc/pc/pc.h"
#include "tests/support/tst.h"

#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define BUF_LEN (64 * 1024)

static void pc_setup(rtc_pc_t *pc, const char *ufrag, uint8_t fp_byte, uint64_t seed)
{
    rtc_pc_cfg_t cfg = {.ice_ufrag = ufrag,
                        .ice_pwd = "abcdefghijklmnopqrstuv",
                        .cname = "cn",
                        .sess_id = seed * 1000,
                        .ssrc_seed = seed};
    cfg.fingerprint.hash = RTC_SDP_HASH_SHA256;
    cfg.fingerprint.len = 32;
    memset(cfg.fingerprint.value, fp_byte, 32);
    cr_assert_eq(rtc_pc_init(pc, &cfg), 0);
}

static rtc_sdp_t *must_parse(const char *text)
{
    rtc_sdp_t *s = NULL;
    rtc_sdp_err_t err = {0};
    int rc = rtc_sdp_parse(text, strlen(text), &s, &err);
    cr_assert_eq(rc, 0, "parse: %d line %u %s\n%s", rc, err.line, err.reason, text);
    return s;
}

static int ext_uri_id(const rtc_sdp_media_t *m, const char *uri)
{
    for (unsigned i = 0; i < m->a.extmap_cnt; i++)
        if (!strcmp(m->a.extmaps[i].uri, uri))
            return m->a.extmaps[i].id;
    return 0;
}

/* Structural checks of @ans against @off (RFC 8829 §5.3.1, RFC 3264 §6). Returns the number
 * of accepted sections. */
static unsigned check_answer_structure(const rtc_sdp_t *off, const rtc_sdp_t *ans,
                                       const rtc_pc_t *pc, const char *name)
{
    cr_assert_eq(ans->media_cnt, off->media_cnt, "%s", name);
    const rtc_sdp_group_t *ob = rtc_sdp_group_find(off, "BUNDLE");
    const rtc_sdp_group_t *ab = rtc_sdp_group_find(ans, "BUNDLE");
    unsigned accepted = 0;
    /* one id per URI and one URI per id across the whole answer (RFC 8843 §9.2) */
    struct {
        int id;
        const char *uri;
    } seen[64];
    unsigned nseen = 0;
    for (unsigned i = 0; i < off->media_cnt; i++) {
        const rtc_sdp_media_t *om = off->media[i], *am = ans->media[i];
        cr_expect_str_eq(am->media, om->media, "%s: m-section %u", name, i);
        cr_expect_str_eq(am->proto, om->proto, "%s", name);
        cr_assert_not_null(am->mid, "%s: answer section %u without mid", name, i);
        cr_expect_str_eq(am->mid, om->mid, "%s: mids in order", name);
        if (am->port == 0) { /* rejected */
            cr_expect_eq(am->candidate_cnt, 0);
            for (unsigned k = 0; ab && k < ab->mid_cnt; k++)
                cr_expect_str_neq(ab->mids[k], am->mid, "%s: rejected mid in BUNDLE", name);
            continue;
        }
        accepted++;
        cr_expect_neq(om->port, 0, "%s: accepted a rejected section", name);
        cr_expect_str_eq(rtc_sdp_ice_ufrag(ans, am), pc->ice_ufrag);
        cr_expect_str_eq(rtc_sdp_ice_pwd(ans, am), pc->ice_pwd);
        const rtc_sdp_fingerprint_t *fp = rtc_sdp_fingerprint(ans, am);
        cr_assert_not_null(fp);
        cr_expect_eq(memcmp(fp->value, pc->fingerprint.value, 32), 0);
        /* RFC 8842 §5.3; once negotiated, an actpass re-offer keeps the DTLS roles (§5.5) */
        rtc_sdp_setup_t os = rtc_sdp_setup(off, om), as = rtc_sdp_setup(ans, am);
        rtc_sdp_setup_t want = os == RTC_SDP_SETUP_ACTIVE ? RTC_SDP_SETUP_PASSIVE
                               : pc->negotiated && os != RTC_SDP_SETUP_PASSIVE && !pc->dtls_client
                                   ? RTC_SDP_SETUP_PASSIVE
                                   : RTC_SDP_SETUP_ACTIVE;
        cr_expect_eq(as, want, "%s: setup", name);
        /* in the BUNDLE group */
        bool in = false;
        for (unsigned k = 0; ab && k < ab->mid_cnt; k++)
            in |= !strcmp(ab->mids[k], am->mid);
        cr_expect(in || !ob, "%s: accepted mid %s not bundled", name, am->mid);
        if (am->rtp) {
            cr_expect(am->rtcp_mux, "%s", name);
            cr_expect_gt(am->codec_cnt, 0, "%s", name);
            for (unsigned k = 0; k < am->codec_cnt; k++) {
                const rtc_sdp_codec_t *ac = &am->codecs[k];
                const rtc_sdp_codec_t *oc = rtc_sdp_codec_find(om, ac->pt);
                cr_assert_not_null(oc, "%s: answer pt %u not offered", name, ac->pt);
                if (oc->name) {
                    cr_expect_eq(strcasecmp(ac->name, oc->name), 0, "%s: pt %u renamed", name,
                                 ac->pt);
                    cr_expect_eq(ac->clock_hz, oc->clock_hz);
                }
                if (ac->name && !strcasecmp(ac->name, "rtx")) {
                    char apt[8];
                    cr_assert_gt(rtc_sdp_fmtp_get(ac->fmtp, "apt", apt, sizeof apt), 0);
                    cr_expect_not_null(rtc_sdp_codec_find(am, atoi(apt)),
                                       "%s: rtx apt=%s not in answer", name, apt);
                }
                for (unsigned f = 0; f < am->fb_cnt; f++) { /* feedback was offered */
                    bool off_fb = false;
                    for (unsigned g = 0; g < om->fb_cnt; g++)
                        off_fb |= om->fbs[g].pt == am->fbs[f].pt &&
                                  !strcmp(om->fbs[g].value, am->fbs[f].value);
                    cr_expect(off_fb, "%s: fb %s not offered", name, am->fbs[f].value);
                }
            }
            /* direction: answer can only send what the offer receives and vice versa */
            rtc_sdp_dir_t od = rtc_sdp_dir(off, om), ad = rtc_sdp_dir(ans, am);
            bool o_send = od == RTC_SDP_DIR_SENDRECV || od == RTC_SDP_DIR_SENDONLY;
            bool o_recv = od == RTC_SDP_DIR_SENDRECV || od == RTC_SDP_DIR_RECVONLY;
            bool a_send = ad == RTC_SDP_DIR_SENDRECV || ad == RTC_SDP_DIR_SENDONLY;
            bool a_recv = ad == RTC_SDP_DIR_SENDRECV || ad == RTC_SDP_DIR_RECVONLY;
            cr_expect(!a_send || o_recv, "%s: answer sends to a non-receiver", name);
            cr_expect(!a_recv || o_send, "%s: answer receives from a non-sender", name);
            if (a_send)
                cr_expect_gt(am->ssrc_cnt, 0, "%s: sending without a=ssrc", name);
            for (unsigned k = 0; k < am->a.extmap_cnt; k++) {
                const rtc_sdp_extmap_t *e = &am->a.extmaps[k];
                cr_expect_eq(ext_uri_id(om, e->uri), e->id, "%s: extmap id changed", name);
                for (unsigned j = 0; j < nseen; j++) {
                    cr_expect(!(seen[j].id == e->id) || !strcmp(seen[j].uri, e->uri),
                              "%s: id %d for two URIs", name, e->id);
                    cr_expect(strcmp(seen[j].uri, e->uri) || seen[j].id == e->id,
                              "%s: URI %s with two ids", name, e->uri);
                }
                if (nseen < 64)
                    seen[nseen++].id = e->id, seen[nseen - 1].uri = e->uri;
            }
        } else {
            cr_expect_eq(am->kind, RTC_SDP_KIND_APPLICATION);
            cr_expect(am->sctp_port == 5000 || !strcmp(am->proto, "DTLS/SCTP"), "%s", name);
        }
    }
    if (ob && accepted) {
        cr_assert_not_null(ab, "%s: no BUNDLE in the answer", name);
        cr_expect_eq(ab->mid_cnt, accepted, "%s", name);
    }
    return accepted;
}

static void answer_fixture(const char *name)
{
    char rel[512];
    snprintf(rel, sizeof rel, "sdp/%s", name);
    size_t len;
    char *text = (char *)tst_fixture(rel, &len);
    rtc_pc_t *pc = calloc(1, sizeof *pc);
    pc_setup(pc, "ansr", 0xab, 7);
    rtc_sdp_err_t err = {0};
    int rc = rtc_pc_set_remote(pc, RTC_PC_OFFER, text, len, &err);
    cr_assert_eq(rc, 0, "%s: set_remote %d: %s", name, rc, err.reason);
    cr_assert_eq(pc->state, RTC_PC_HAVE_REMOTE_OFFER);
    char *buf = malloc(BUF_LEN);
    rc = rtc_pc_create_answer(pc, buf, BUF_LEN, &err);
    cr_assert_gt(rc, 0, "%s: create_answer %d: %s", name, rc, err.reason);
    rtc_sdp_t *off = must_parse(text), *ans = must_parse(buf);
    unsigned accepted = check_answer_structure(off, ans, pc, name);
    /* every fixture offers opus or VP8, and a data channel if m=application is there */
    cr_expect_gt(accepted, 0, "%s: nothing accepted", name);
    for (unsigned i = 0; i < off->media_cnt; i++)
        if (off->media[i]->port && off->media[i]->kind != RTC_SDP_KIND_OTHER)
            cr_expect_neq(ans->media[i]->port, 0, "%s: section %u rejected", name, i);
    rc = rtc_pc_set_local(pc, RTC_PC_ANSWER, buf, (size_t)rc, &err);
    cr_assert_eq(rc, 0, "%s: set_local %d: %s", name, rc, err.reason);
    cr_expect_eq(pc->state, RTC_PC_STABLE);
    cr_expect(pc->negotiated);
    cr_expect(pc->dtls_client, "%s: we answered active", name);
    /* remote transport = the offer's BUNDLE tag */
    const rtc_sdp_group_t *b = rtc_sdp_group_find(off, "BUNDLE");
    const rtc_sdp_media_t *tag = b ? rtc_sdp_media_by_mid(off, b->mids[0]) : off->media[0];
    cr_expect_str_eq(pc->remote_ufrag, rtc_sdp_ice_ufrag(off, tag));
    cr_expect_str_eq(pc->remote_pwd, rtc_sdp_ice_pwd(off, tag));
    /* transceivers negotiated with the offered payload types */
    unsigned ntr = 0;
    for (unsigned i = 0; i < pc->tr_cnt; i++) {
        const rtc_pc_transceiver_t *t = &pc->tr[i];
        if (t->stopped)
            continue;
        ntr++;
        cr_assert_geq(t->mline, 0);
        cr_expect_str_eq(t->mid, off->media[t->mline]->mid);
        cr_expect_gt(t->neg_cnt, 0, "%s", name);
        for (unsigned k = 0; k < t->neg_cnt; k++) {
            cr_expect_not_null(rtc_sdp_codec_find(off->media[t->mline], t->neg[k].pt));
            if (t->neg[k].rtx_pt) {
                const rtc_sdp_codec_t *r =
                    rtc_sdp_codec_find(off->media[t->mline], t->neg[k].rtx_pt);
                cr_assert_not_null(r);
                cr_expect_str_eq(r->name, "rtx");
            }
        }
        /* no local tracks: every transceiver was made recvonly by the offer, so it receives
         * exactly when the offer sends (RFC 3264 §6.1) */
        cr_expect_eq(t->direction, RTC_SDP_DIR_RECVONLY);
        rtc_sdp_dir_t od = rtc_sdp_dir(off, off->media[t->mline]);
        bool o_send = od == RTC_SDP_DIR_SENDRECV || od == RTC_SDP_DIR_SENDONLY;
        cr_expect_eq(t->current_direction, o_send ? RTC_SDP_DIR_RECVONLY : RTC_SDP_DIR_INACTIVE,
                     "%s: mid %s", name, t->mid);
    }
    cr_expect_gt(ntr + (pc->remote_sctp_port != 0), 0);
    rtc_sdp_destroy(off);
    rtc_sdp_destroy(ans);
    rtc_pc_fini(pc);
    free(pc);
    free(buf);
    free(text);
}

Test(pc, answers_every_offer_fixture)
{
    DIR *d = opendir(tst_src_path("tests/fixtures/sdp"));
    cr_assert_not_null(d);
    unsigned n = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!strstr(e->d_name, "-offer") || !strstr(e->d_name, ".sdp"))
            continue;
        answer_fixture(e->d_name);
        n++;
    }
    closedir(d);
    cr_assert_geq(n, 12, "only %u offer fixtures", n);
}

Test(pc, aiortc_extmap_collision_is_resolved)
{
    /* aiortc 1.4 offers id 2 for ssrc-audio-level (audio) and abs-send-time (video); Chromium
     * rejects that offer. We answer with one id per URI: abs-send-time is left out. */
    size_t len;
    char *text = (char *)tst_fixture("sdp/aiortc-1.4.0-offer.sdp", &len);
    rtc_pc_t *pc = calloc(1, sizeof *pc);
    pc_setup(pc, "ansr", 1, 1);
    rtc_sdp_err_t err;
    cr_assert_eq(rtc_pc_set_remote(pc, RTC_PC_OFFER, text, len, &err), 0);
    char *buf = malloc(BUF_LEN);
    int n = rtc_pc_create_answer(pc, buf, BUF_LEN, &err);
    cr_assert_gt(n, 0);
    rtc_sdp_t *ans = must_parse(buf);
    const rtc_sdp_media_t *a = ans->media[0], *v = ans->media[1];
    cr_expect_eq(ext_uri_id(a, "urn:ietf:params:rtp-hdrext:ssrc-audio-level"), 2);
    cr_expect_eq(ext_uri_id(v, "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time"), 0);
    cr_expect_eq(ext_uri_id(v, "urn:ietf:params:rtp-hdrext:sdes:mid"), 1);
    /* legacy data channel mirrored */
    cr_expect_str_eq(ans->media[2]->proto, "DTLS/SCTP");
    cr_expect_str_eq(ans->media[2]->fmt, "5000");
    cr_assert_eq(rtc_pc_set_local(pc, RTC_PC_ANSWER, buf, (size_t)n, &err), 0);
    cr_expect_eq(pc->remote_sctp_port, 5000);
    cr_expect_eq(rtc_pc_ext_id(pc, "urn:ietf:params:rtp-hdrext:ssrc-audio-level"), 2);
    cr_expect_eq(rtc_pc_ext_id(pc, "urn:ietf:params:rtp-hdrext:sdes:mid"), 1);
    /* BUNDLE tag is mid 0: its own ufrag, not the other sections' */
    rtc_sdp_t *off = must_parse(text);
    cr_expect_str_eq(pc->remote_ufrag, off->media[0]->a.ice_ufrag);
    cr_expect_str_neq(pc->remote_ufrag, off->media[1]->a.ice_ufrag);
    rtc_sdp_destroy(off);
    rtc_sdp_destroy(ans);
    rtc_pc_fini(pc);
    free(pc);
    free(buf);
    free(text);
}

/* Offer from @a, answer from @b, both applied. */
/* @a offers, @b applies the offer; @buf keeps the offer. */
static void offer_to(rtc_pc_t *a, rtc_pc_t *b, char *buf)
{
    rtc_sdp_err_t err = {0};
    int n = rtc_pc_create_offer(a, buf, BUF_LEN, &err);
    cr_assert_gt(n, 0, "create_offer: %s", err.reason);
    cr_assert_eq(rtc_pc_set_local(a, RTC_PC_OFFER, buf, (size_t)n, &err), 0, "%s", err.reason);
    cr_assert_eq(a->state, RTC_PC_HAVE_LOCAL_OFFER);
    cr_assert_eq(rtc_pc_set_remote(b, RTC_PC_OFFER, buf, (size_t)n, &err), 0, "%s", err.reason);
}

static void negotiate(rtc_pc_t *a, rtc_pc_t *b, char *buf)
{
    rtc_sdp_err_t err = {0};
    offer_to(a, b, buf);
    rtc_sdp_t *off = must_parse(buf);
    int n = rtc_pc_create_answer(b, buf, BUF_LEN, &err);
    cr_assert_gt(n, 0, "create_answer: %s", err.reason);
    rtc_sdp_t *ans = must_parse(buf);
    check_answer_structure(off, ans, b, "self");
    rtc_sdp_destroy(off);
    rtc_sdp_destroy(ans);
    cr_assert_eq(rtc_pc_set_local(b, RTC_PC_ANSWER, buf, (size_t)n, &err), 0, "%s", err.reason);
    cr_assert_eq(rtc_pc_set_remote(a, RTC_PC_ANSWER, buf, (size_t)n, &err), 0, "%s", err.reason);
    cr_assert_eq(a->state, RTC_PC_STABLE);
    cr_assert_eq(b->state, RTC_PC_STABLE);
}

Test(pc, two_peers_negotiate)
{
    rtc_pc_t *a = calloc(1, sizeof *a), *b = calloc(1, sizeof *b);
    char *buf = malloc(BUF_LEN);
    pc_setup(a, "aaaa", 0xaa, 1);
    pc_setup(b, "bbbb", 0xbb, 2);
    cr_assert_eq(rtc_pc_add_transceiver(a, RTC_SDP_KIND_AUDIO, RTC_SDP_DIR_SENDRECV, "s", "ta", 0),
                 0);
    cr_assert_eq(rtc_pc_add_transceiver(a, RTC_SDP_KIND_VIDEO, RTC_SDP_DIR_SENDONLY, "s", "tv", 0),
                 1);
    rtc_pc_add_data_channel(a);
    cr_assert_eq(rtc_pc_add_local_candidate(a, "1 1 udp 2130706431 127.0.0.1 4000 typ host"), 0);
    /* b has its own audio track: it is matched with a's audio m-section */
    cr_assert_eq(rtc_pc_add_transceiver(b, RTC_SDP_KIND_AUDIO, RTC_SDP_DIR_SENDRECV, "x", "y", 0),
                 0);
    negotiate(a, b, buf);
    cr_assert_eq(b->tr_cnt, 2); /* video transceiver created by the offer */
    cr_expect(!b->tr[1].from_remote);
    cr_expect_eq(b->tr[1].direction, RTC_SDP_DIR_RECVONLY);
    for (unsigned i = 0; i < 2; i++) {
        cr_expect_str_eq(a->tr[i].mid, b->tr[i].mid);
        cr_assert_eq(a->tr[i].neg_cnt, b->tr[i].neg_cnt);
        cr_assert_gt(a->tr[i].neg_cnt, 0);
        for (unsigned k = 0; k < a->tr[i].neg_cnt; k++) {
            cr_expect_eq(a->tr[i].neg[k].pt, b->tr[i].neg[k].pt);
            cr_expect_eq(a->tr[i].neg[k].rtx_pt, b->tr[i].neg[k].rtx_pt);
        }
    }
    cr_expect_eq(a->tr[1].neg[0].rtx_pt, 97); /* VP8 + rtx via apt */
    cr_expect_eq(a->tr[0].current_direction, RTC_SDP_DIR_SENDRECV);
    cr_expect_eq(b->tr[0].current_direction, RTC_SDP_DIR_SENDRECV);
    cr_expect_eq(a->tr[1].current_direction, RTC_SDP_DIR_SENDONLY);
    cr_expect_eq(b->tr[1].current_direction, RTC_SDP_DIR_RECVONLY);
    /* SSRCs and msid cross over */
    cr_expect_eq(b->tr[1].remote_ssrc, a->tr[1].ssrc);
    cr_expect_eq(b->tr[1].remote_rtx_ssrc, a->tr[1].rtx_ssrc);
    cr_expect_str_eq(b->tr[1].remote_track_id, "tv");
    cr_expect_eq(a->tr[0].remote_ssrc, b->tr[0].ssrc);
    /* one DTLS client, one server; transport crossed */
    cr_expect(b->dtls_client);
    cr_expect(!a->dtls_client);
    cr_expect_str_eq(a->remote_ufrag, "bbbb");
    cr_expect_str_eq(b->remote_ufrag, "aaaa");
    cr_expect_eq(a->remote_fp->value[0], 0xbb);
    cr_expect_eq(b->remote_sctp_port, 5000);
    cr_expect_eq(b->remote_max_message_size, 262144);
    cr_expect_eq(rtc_pc_ext_id(a, "urn:ietf:params:rtp-hdrext:sdes:mid"),
                 rtc_pc_ext_id(b, "urn:ietf:params:rtp-hdrext:sdes:mid"));
    cr_expect_neq(rtc_pc_ext_id(a, "urn:ietf:params:rtp-hdrext:sdes:mid"), 0);
    /* candidates only in the BUNDLE tag of the answer? the offer carried a's candidate */
    cr_expect_eq(b->cur_remote->media[0]->candidate_cnt, 1);
    cr_expect_eq(b->cur_remote->media[1]->candidate_cnt, 0);

    /* renegotiation: same payload types and ids, sess-version grows */
    uint64_t v0 = a->cur_local->sess_version;
    negotiate(a, b, buf);
    cr_expect_gt(a->cur_local->sess_version, v0);
    cr_expect_eq(a->tr[1].neg[0].pt, 96);
    cr_expect_eq(a->mline_cnt, 3);
    /* b offers now (actpass, as browsers re-offer): a stays the DTLS server and says so */
    negotiate(b, a, buf);
    cr_expect_not_null(strstr(buf, "a=setup:passive"), "%s", buf);
    cr_expect_null(strstr(buf, "a=setup:active"));
    cr_expect(b->dtls_client);
    cr_expect(!a->dtls_client);
    rtc_pc_fini(a);
    rtc_pc_fini(b);
    free(a);
    free(b);
    free(buf);
}

/* What the remote wrote per transceiver: the pending offer while answering, the current remote
 * description after. The SFU gives publishers' tracks only to sections the remote receives on. */
Test(pc, remote_direction_per_transceiver)
{
    rtc_pc_t *a = calloc(1, sizeof *a), *b = calloc(1, sizeof *b);
    char *buf = malloc(BUF_LEN);
    pc_setup(a, "aaaa", 0xaa, 1);
    pc_setup(b, "bbbb", 0xbb, 2);
    cr_assert_eq(rtc_pc_add_transceiver(a, RTC_SDP_KIND_AUDIO, RTC_SDP_DIR_SENDONLY, "s", "t", 0),
                 0);
    cr_assert_eq(rtc_pc_add_transceiver(a, RTC_SDP_KIND_AUDIO, RTC_SDP_DIR_RECVONLY, NULL, NULL, 0),
                 1);
    cr_expect_eq(rtc_pc_remote_direction(a, 0), RTC_SDP_DIR_NONE, "nothing from the remote yet");
    offer_to(a, b, buf);
    cr_assert_eq(b->tr_cnt, 2);
    cr_expect_eq(rtc_pc_remote_direction(b, 0), RTC_SDP_DIR_SENDONLY);
    cr_expect_eq(rtc_pc_remote_direction(b, 1), RTC_SDP_DIR_RECVONLY);
    cr_expect_eq(rtc_pc_remote_direction(b, 2), RTC_SDP_DIR_NONE, "out of range");
    rtc_sdp_err_t err = {0};
    int n = rtc_pc_create_answer(b, buf, BUF_LEN, &err);
    cr_assert_gt(n, 0);
    cr_assert_eq(rtc_pc_set_local(b, RTC_PC_ANSWER, buf, (size_t)n, &err), 0);
    cr_assert_eq(rtc_pc_set_remote(a, RTC_PC_ANSWER, buf, (size_t)n, &err), 0);
    cr_expect_eq(rtc_pc_remote_direction(b, 0), RTC_SDP_DIR_SENDONLY, "from the current offer");
    cr_expect_eq(rtc_pc_remote_direction(b, 1), RTC_SDP_DIR_RECVONLY);
    cr_expect_eq(rtc_pc_remote_direction(a, 0), RTC_SDP_DIR_RECVONLY, "b's answer");
    cr_expect_eq(rtc_pc_remote_direction(a, 1), RTC_SDP_DIR_INACTIVE, "b sends nothing there");
    rtc_pc_fini(a);
    rtc_pc_fini(b);
    free(a);
    free(b);
    free(buf);
}

/* RFC 8829 §5.10: a sendonly offered section is not matched with an unassociated local
 * transceiver of its kind (the SFU's send-only leg, after a rolled-back offer, swallowed a
 * member's offered track and answered it inactive); a sendrecv one still is. */
Test(pc, sendonly_offer_section_gets_its_own_transceiver)
{
    rtc_pc_t *a = calloc(1, sizeof *a), *b = calloc(1, sizeof *b);
    char *buf = malloc(BUF_LEN);
    pc_setup(a, "aaaa", 0xaa, 1);
    pc_setup(b, "bbbb", 0xbb, 2);
    cr_assert_eq(rtc_pc_add_transceiver(a, RTC_SDP_KIND_AUDIO, RTC_SDP_DIR_SENDONLY, "s", "ta", 0),
                 0);
    cr_assert_eq(rtc_pc_add_transceiver(a, RTC_SDP_KIND_VIDEO, RTC_SDP_DIR_SENDRECV, "s", "tv", 0),
                 1);
    /* b sends audio and video of its own, not yet associated with any m-section */
    cr_assert_eq(rtc_pc_add_transceiver(b, RTC_SDP_KIND_AUDIO, RTC_SDP_DIR_SENDONLY, "x", "xa", 0),
                 0);
    cr_assert_eq(rtc_pc_add_transceiver(b, RTC_SDP_KIND_VIDEO, RTC_SDP_DIR_SENDONLY, "x", "xv", 0),
                 1);
    negotiate(a, b, buf);
    /* a's sendonly audio: a new receive-only transceiver on b, b's own audio untouched */
    cr_assert_eq(b->tr_cnt, 3);
    cr_expect_eq(b->tr[2].kind, RTC_SDP_KIND_AUDIO);
    cr_expect_eq(b->tr[2].current_direction, RTC_SDP_DIR_RECVONLY);
    cr_expect_str_eq(b->tr[2].mid, a->tr[0].mid);
    cr_expect_eq(b->tr[0].mline, -1, "b's audio stays unassociated");
    cr_expect_eq(a->tr[0].current_direction, RTC_SDP_DIR_SENDONLY);
    /* a's sendrecv video: b's video transceiver takes it and sends on it */
    cr_expect_str_eq(b->tr[1].mid, a->tr[1].mid);
    cr_expect_eq(b->tr[1].current_direction, RTC_SDP_DIR_SENDONLY);
    cr_expect_eq(a->tr[1].current_direction, RTC_SDP_DIR_RECVONLY);
    rtc_pc_fini(a);
    rtc_pc_fini(b);
    free(a);
    free(b);
    free(buf);
}

Test(pc, stopped_mline_is_rejected_then_recycled)
{
    rtc_pc_t *a = calloc(1, sizeof *a), *b = calloc(1, sizeof *b);
    char *buf = malloc(BUF_LEN);
    pc_setup(a, "aaaa", 0xaa, 1);
    pc_setup(b, "bbbb", 0xbb, 2);
    cr_assert_eq(rtc_pc_add_transceiver(a, RTC_SDP_KIND_AUDIO, RTC_SDP_DIR_SENDRECV, "s", "a", 0),
                 0);
    cr_assert_eq(rtc_pc_add_transceiver(a, RTC_SDP_KIND_VIDEO, RTC_SDP_DIR_SENDRECV, "s", "v", 0),
                 1);
    negotiate(a, b, buf);
    char old_mid[40];
    strcpy(old_mid, a->tr[1].mid);
    cr_assert_eq(rtc_pc_transceiver_stop(a, 1), 0);
    negotiate(a, b, buf); /* the answer applied last is in buf */
    rtc_sdp_t *ans = must_parse(buf);
    cr_expect_eq(ans->media_cnt, 2);
    cr_expect_eq(ans->media[1]->port, 0);
    cr_expect_str_eq(ans->media[1]->mid, old_mid);
    const rtc_sdp_group_t *g = rtc_sdp_group_find(ans, "BUNDLE");
    cr_assert_not_null(g);
    cr_expect_eq(g->mid_cnt, 1);
    rtc_sdp_destroy(ans);
    cr_expect(a->tr[1].stopped);
    cr_expect(b->tr[1].stopped);
    cr_expect(a->mlines[1].rejected);
    /* a new transceiver takes the recyclable m-section with a new mid (RFC 8829 §5.2.2) */
    cr_assert_eq(rtc_pc_add_transceiver(a, RTC_SDP_KIND_AUDIO, RTC_SDP_DIR_SENDRECV, "s", "a2", 0),
                 2);
    rtc_sdp_err_t err;
    int n = rtc_pc_create_offer(a, buf, BUF_LEN, &err);
    cr_assert_gt(n, 0);
    rtc_sdp_t *off = must_parse(buf);
    cr_expect_eq(off->media_cnt, 2);
    cr_expect_str_eq(off->media[1]->media, "audio");
    cr_expect_neq(off->media[1]->port, 0);
    cr_expect_str_neq(off->media[1]->mid, old_mid);
    cr_expect_str_neq(off->media[1]->mid, off->media[0]->mid);
    rtc_sdp_destroy(off);
    cr_assert_eq(rtc_pc_set_local(a, RTC_PC_OFFER, buf, (size_t)n, &err), 0);
    cr_assert_eq(rtc_pc_set_remote(b, RTC_PC_OFFER, buf, (size_t)n, &err), 0, "%s", err.reason);
    n = rtc_pc_create_answer(b, buf, BUF_LEN, &err);
    cr_assert_gt(n, 0);
    cr_assert_eq(rtc_pc_set_local(b, RTC_PC_ANSWER, buf, (size_t)n, &err), 0, "%s", err.reason);
    cr_assert_eq(rtc_pc_set_remote(a, RTC_PC_ANSWER, buf, (size_t)n, &err), 0, "%s", err.reason);
    cr_expect_eq(a->tr[2].mline, 1);
    /* b made a recvonly transceiver for it */
    cr_expect_eq(a->tr[2].current_direction, RTC_SDP_DIR_SENDONLY);
    cr_expect_eq(a->mline_cnt, 2);
    cr_expect_eq(b->tr_cnt, 3); /* b made a new transceiver for the recycled section */
    cr_expect_eq(b->tr[2].mline, 1);
    rtc_pc_fini(a);
    rtc_pc_fini(b);
    free(a);
    free(b);
    free(buf);
}

Test(pc, signaling_state_misuse)
{
    rtc_pc_t *a = calloc(1, sizeof *a), *b = calloc(1, sizeof *b);
    char *buf = malloc(BUF_LEN), *ans = malloc(BUF_LEN);
    pc_setup(a, "aaaa", 0xaa, 1);
    pc_setup(b, "bbbb", 0xbb, 2);
    cr_assert_eq(rtc_pc_add_transceiver(a, RTC_SDP_KIND_AUDIO, RTC_SDP_DIR_SENDRECV, "s", "a", 0),
                 0);
    rtc_sdp_err_t err;
    cr_expect_eq(rtc_pc_create_answer(a, buf, BUF_LEN, &err), -EINVAL);
    cr_expect_eq(rtc_pc_set_local(a, RTC_PC_ROLLBACK, NULL, 0, &err), -EINVAL);
    int n = rtc_pc_create_offer(a, buf, BUF_LEN, &err);
    cr_assert_gt(n, 0);
    cr_expect_eq(rtc_pc_set_remote(a, RTC_PC_ANSWER, buf, (size_t)n, &err), -EINVAL);
    cr_expect_eq(rtc_pc_set_local(a, RTC_PC_ANSWER, buf, (size_t)n, &err), -EINVAL);
    cr_expect_eq(rtc_pc_create_offer(a, buf, 100, &err), -ENOSPC);
    n = rtc_pc_create_offer(a, buf, BUF_LEN, &err);
    cr_assert_eq(rtc_pc_set_local(a, RTC_PC_OFFER, buf, (size_t)n, &err), 0);
    /* glare: a remote offer in have-local-offer */
    cr_expect_eq(rtc_pc_set_remote(a, RTC_PC_OFFER, buf, (size_t)n, &err), -EINVAL);
    cr_expect_eq(rtc_pc_create_answer(a, buf, BUF_LEN, &err), -EINVAL);
    cr_assert_eq(rtc_pc_set_local(a, RTC_PC_ROLLBACK, NULL, 0, &err), 0);
    cr_expect_eq(a->state, RTC_PC_STABLE);
    n = rtc_pc_create_offer(a, buf, BUF_LEN, &err);
    cr_assert_gt(n, 0);
    cr_assert_eq(rtc_pc_set_local(a, RTC_PC_OFFER, buf, (size_t)n, &err), 0);
    /* b: answer before offer, then a good offer, a local offer in have-remote-offer */
    cr_expect_eq(rtc_pc_set_remote(b, RTC_PC_ANSWER, buf, (size_t)n, &err), -EINVAL);
    cr_assert_eq(rtc_pc_set_remote(b, RTC_PC_OFFER, buf, (size_t)n, &err), 0);
    cr_expect_eq(rtc_pc_create_offer(b, ans, BUF_LEN, &err), -EINVAL);
    cr_expect_eq(rtc_pc_set_local(b, RTC_PC_OFFER, buf, (size_t)n, &err), -EINVAL);
    /* rollback of a remote offer removes the transceiver it created */
    cr_expect_eq(b->tr_cnt, 1);
    cr_assert_eq(rtc_pc_set_remote(b, RTC_PC_ROLLBACK, NULL, 0, &err), 0);
    cr_expect_eq(b->tr_cnt, 0);
    cr_assert_eq(rtc_pc_set_remote(b, RTC_PC_OFFER, buf, (size_t)n, &err), 0);
    int m = rtc_pc_create_answer(b, ans, BUF_LEN, &err);
    cr_assert_gt(m, 0);
    /* the answer is an answer, not an offer for a */
    cr_expect_eq(rtc_pc_set_remote(a, RTC_PC_OFFER, ans, (size_t)m, &err), -EINVAL);
    /* garbage as an answer: a parse error with a line, state unchanged */
    cr_expect_eq(rtc_pc_set_remote(a, RTC_PC_ANSWER, "v=0\r\nx", 6, &err), -EBADMSG);
    cr_expect_eq(err.line, 2);
    cr_expect_eq(a->state, RTC_PC_HAVE_LOCAL_OFFER);
    cr_assert_eq(rtc_pc_set_remote(a, RTC_PC_ANSWER, ans, (size_t)m, &err), 0, "%s", err.reason);
    cr_expect_eq(a->state, RTC_PC_STABLE);
    rtc_pc_fini(a);
    rtc_pc_fini(b);
    free(a);
    free(b);
    free(buf);
    free(ans);
}

/* Edits @text: replaces the first @from with @to. */
static char *edit(const char *text, const char *from, const char *to)
{
    const char *p = strstr(text, from);
    cr_assert_not_null(p, "'%s' not found", from);
    size_t n = strlen(text) - strlen(from) + strlen(to) + 1;
    char *out = malloc(n);
    snprintf(out, n, "%.*s%s%s", (int)(p - text), text, to, p + strlen(from));
    return out;
}

static int apply_answer_edit(const char *from, const char *to, rtc_sdp_err_t *err)
{
    rtc_pc_t *a = calloc(1, sizeof *a), *b = calloc(1, sizeof *b);
    char *buf = malloc(BUF_LEN);
    pc_setup(a, "aaaa", 0xaa, 1);
    pc_setup(b, "bbbb", 0xbb, 2);
    cr_assert_geq(rtc_pc_add_transceiver(a, RTC_SDP_KIND_AUDIO, RTC_SDP_DIR_SENDRECV, "s", "a", 0),
                  0);
    cr_assert_geq(rtc_pc_add_transceiver(a, RTC_SDP_KIND_VIDEO, RTC_SDP_DIR_SENDRECV, "s", "v", 0),
                  0);
    int n = rtc_pc_create_offer(a, buf, BUF_LEN, err);
    cr_assert_eq(rtc_pc_set_local(a, RTC_PC_OFFER, buf, (size_t)n, err), 0);
    cr_assert_eq(rtc_pc_set_remote(b, RTC_PC_OFFER, buf, (size_t)n, err), 0);
    n = rtc_pc_create_answer(b, buf, BUF_LEN, err);
    cr_assert_gt(n, 0);
    char *bad = edit(buf, from, to);
    int rc = rtc_pc_set_remote(a, RTC_PC_ANSWER, bad, strlen(bad), err);
    if (rc < 0) {
        cr_expect_eq(a->state, RTC_PC_HAVE_LOCAL_OFFER); /* nothing changed */
        cr_expect(!a->negotiated);
    }
    free(bad);
    rtc_pc_fini(a);
    rtc_pc_fini(b);
    free(a);
    free(b);
    free(buf);
    return rc;
}

Test(pc, refuses_bad_answers)
{
    rtc_sdp_err_t err;
    cr_expect_eq(apply_answer_edit("a=setup:active", "a=setup:actpass", &err), -EPROTO);
    cr_expect_str_eq(err.reason, "setup:actpass in an answer");
    cr_expect_eq(apply_answer_edit("a=mid:0", "a=mid:7", &err), -EPROTO);
    cr_expect_eq(apply_answer_edit("a=rtcp-mux\r\n", "", &err), -EPROTO);
    cr_expect_str_eq(err.reason, "rtcp-mux required");
    cr_expect_eq(apply_answer_edit("UDP/TLS/RTP/SAVPF 111", "UDP/TLS/RTP/SAVPF 111 77", &err),
                 -EPROTO);
    cr_expect_str_eq(err.reason, "answer uses a payload type not offered");
    cr_expect_eq(apply_answer_edit("a=group:BUNDLE 0 1", "a=group:BUNDLE 0", &err), -EPROTO);
    cr_expect_eq(apply_answer_edit("m=video", "m=audio", &err), -EPROTO);
    cr_expect_eq(apply_answer_edit("a=ice-pwd:", "a=x-ice-pwd:", &err), -EPROTO);
    cr_expect_eq(apply_answer_edit("a=rtcp-fb:96 nack pli", "a=rtcp-fb:96 nack foo", &err),
                 -EPROTO);
    cr_expect_str_eq(err.reason, "answer uses rtcp-fb not offered");
    cr_expect_eq(
        apply_answer_edit("urn:ietf:params:rtp-hdrext:sdes:mid", "urn:x-not-offered", &err),
        -EPROTO);
    cr_expect_str_eq(err.reason, "answer uses a header extension not offered");
    /* sanity: an unedited answer is accepted */
    cr_expect_eq(apply_answer_edit("a=setup:active", "a=setup:active", &err), 0);
    /* passive answer: we (the offerer) are the DTLS client */
}

Test(pc, refuses_offer_without_rtcp_mux_or_bundle)
{
    size_t len;
    char *text = (char *)tst_fixture("sdp/chromium-156.0.8078.108-offer-av-dc.sdp", &len);
    rtc_pc_t *pc = calloc(1, sizeof *pc);
    pc_setup(pc, "ansr", 1, 1);
    rtc_sdp_err_t err;
    char *t1 = edit(text, "a=rtcp-mux\r\n", "");
    cr_expect_eq(rtc_pc_set_remote(pc, RTC_PC_OFFER, t1, strlen(t1), &err), -EPROTO);
    cr_expect_eq(pc->state, RTC_PC_STABLE);
    char *t2 = edit(text, "a=group:BUNDLE 0 1 2\r\n", "");
    cr_expect_eq(rtc_pc_set_remote(pc, RTC_PC_OFFER, t2, strlen(t2), &err), -EPROTO);
    cr_expect_str_eq(err.reason, "accepted m-section outside the BUNDLE group");
    char *t3 = edit(text, "a=setup:actpass", "a=setup:holdconn");
    cr_expect_eq(rtc_pc_set_remote(pc, RTC_PC_OFFER, t3, strlen(t3), &err), -EPROTO);
    cr_expect_eq(pc->tr_cnt, 0);
    /* an active offerer gets a passive answer */
    char *t4 = edit(text, "a=setup:actpass", "a=setup:active");
    cr_assert_eq(rtc_pc_set_remote(pc, RTC_PC_OFFER, t4, strlen(t4), &err), 0, "%s", err.reason);
    char *buf = malloc(BUF_LEN);
    int n = rtc_pc_create_answer(pc, buf, BUF_LEN, &err);
    cr_assert_gt(n, 0);
    cr_expect_not_null(strstr(buf, "a=setup:passive"));
    cr_assert_eq(rtc_pc_set_local(pc, RTC_PC_ANSWER, buf, (size_t)n, &err), 0, "%s", err.reason);
    cr_expect(!pc->dtls_client);
    rtc_pc_fini(pc);
    free(pc);
    free(buf);
    free(t1);
    free(t2);
    free(t3);
    free(t4);
    free(text);
}

Test(pc, codec_matching)
{
    /* H.264: profile (first two bytes) and packetization-mode must match; level may differ */
    cr_expect(rtc_pc_codec_match("H264", 90000, 0, "profile-level-id=42e01f;packetization-mode=1",
                                 "h264", 90000, 0, "packetization-mode=1;profile-level-id=42e034"));
    cr_expect(!rtc_pc_codec_match("H264", 90000, 0, "profile-level-id=42e01f;packetization-mode=1",
                                  "H264", 90000, 0, "profile-level-id=42e01f"));
    cr_expect(!rtc_pc_codec_match("H264", 90000, 0, "profile-level-id=42e01f", "H264", 90000, 0,
                                  "profile-level-id=4d001f"));
    cr_expect(!rtc_pc_codec_match("H264", 90000, 0, "profile-level-id=42e01f", "H264", 90000, 0,
                                  "profile-level-id=42001f"));
    cr_expect(rtc_pc_codec_match("H264", 90000, 0, NULL, "H264", 90000, 0,
                                 "profile-level-id=42001f")); /* default 420010 */
    /* VP9 profile-id, default 0 */
    cr_expect(rtc_pc_codec_match("VP9", 90000, 0, NULL, "VP9", 90000, 0, "profile-id=0"));
    cr_expect(
        !rtc_pc_codec_match("VP9", 90000, 0, "profile-id=2", "VP9", 90000, 0, "profile-id=0"));
    /* name, clock, channels */
    cr_expect(rtc_pc_codec_match("opus", 48000, 2, "minptime=10", "OPUS", 48000, 2, NULL));
    cr_expect(!rtc_pc_codec_match("opus", 48000, 2, NULL, "opus", 48000, 1, NULL));
    cr_expect(rtc_pc_codec_match("PCMU", 8000, 0, NULL, "PCMU", 8000, 1, NULL));
    cr_expect(!rtc_pc_codec_match("VP8", 90000, 0, NULL, "VP9", 90000, 0, NULL));
}

Test(pc, h264_intersection_keeps_offer_pts)
{
    /* Chromium offers H264 at 102 (42001f pm1), 104 (42001f pm0), 108 (42e01f pm1), ...; our
     * caps are constrained baseline 42e0 pm1 and pm0: 108 and 114 with their rtx 109/115. */
    size_t len;
    char *text = (char *)tst_fixture("sdp/chromium-156.0.8078.108-offer-av-dc.sdp", &len);
    rtc_pc_t *pc = calloc(1, sizeof *pc);
    pc_setup(pc, "ansr", 1, 1);
    rtc_sdp_err_t err;
    cr_assert_eq(rtc_pc_set_remote(pc, RTC_PC_OFFER, text, len, &err), 0);
    char *buf = malloc(BUF_LEN);
    int n = rtc_pc_create_answer(pc, buf, BUF_LEN, &err);
    cr_assert_gt(n, 0);
    rtc_sdp_t *ans = must_parse(buf);
    const rtc_sdp_media_t *v = ans->media[1];
    cr_expect_not_null(rtc_sdp_codec_find(v, 96));  /* VP8 */
    cr_expect_not_null(rtc_sdp_codec_find(v, 97));  /* its rtx */
    cr_expect_not_null(rtc_sdp_codec_find(v, 108)); /* H264 42e01f pm1 */
    cr_expect_not_null(rtc_sdp_codec_find(v, 109));
    cr_expect_not_null(rtc_sdp_codec_find(v, 114)); /* H264 42e01f pm0 */
    cr_expect_null(rtc_sdp_codec_find(v, 102));     /* 42001f: baseline, not constrained */
    cr_expect_null(rtc_sdp_codec_find(v, 116));     /* main profile */
    cr_expect_not_null(rtc_sdp_codec_find(v, 98));  /* VP9 profile 0 */
    cr_expect_null(rtc_sdp_codec_find(v, 100));     /* VP9 profile 2 */
    cr_expect_null(rtc_sdp_codec_find(v, 45));      /* AV1 not in caps */
    cr_expect_null(rtc_sdp_codec_find(v, 118));     /* red */
    cr_expect_eq(v->a.dir, RTC_SDP_DIR_RECVONLY);   /* created by the offer: recvonly */
    rtc_sdp_destroy(ans);
    rtc_pc_fini(pc);
    free(pc);
    free(buf);
    free(text);
}

/* Found by tests/fuzz/pc_fuzz.c: a rejected offer section without a=mid made us write an
 * empty "a=mid:" (our own answer then failed to parse), and a re-offer with that section failed
 * our own set_local. */
Test(pc, rejected_offer_section_without_mid)
{
    size_t len;
    char *text = (char *)tst_fixture("sdp/chromium-156.0.8078.108-offer-av-dc.sdp", &len);
    char *t1 = edit(text, "a=group:BUNDLE 0 1 2", "a=group:BUNDLE 0 2");
    char *t2 = edit(t1, "m=video 56380", "m=video 0");
    char *off = edit(t2, "a=mid:1\r\n", "");
    rtc_pc_t *pc = calloc(1, sizeof *pc);
    pc_setup(pc, "ansr", 1, 1);
    rtc_pc_add_data_channel(pc);
    rtc_sdp_err_t err;
    cr_assert_eq(rtc_pc_set_remote(pc, RTC_PC_OFFER, off, strlen(off), &err), 0, "%s", err.reason);
    char *buf = malloc(BUF_LEN);
    int n = rtc_pc_create_answer(pc, buf, BUF_LEN, &err);
    cr_assert_gt(n, 0);
    cr_expect_null(strstr(buf, "a=mid:\r\n"));
    cr_assert_eq(rtc_pc_set_local(pc, RTC_PC_ANSWER, buf, (size_t)n, &err), 0, "%s", err.reason);
    rtc_sdp_t *ans = must_parse(buf);
    cr_expect_eq(ans->media[1]->port, 0);
    cr_expect_null(ans->media[1]->mid);
    rtc_sdp_destroy(ans);
    n = rtc_pc_create_offer(pc, buf, BUF_LEN, &err);
    cr_assert_gt(n, 0);
    cr_expect_eq(rtc_pc_set_local(pc, RTC_PC_OFFER, buf, (size_t)n, &err), 0, "%s", err.reason);
    rtc_pc_fini(pc);
    free(pc);
    free(buf);
    free(off);
    free(t1);
    free(t2);
    free(text);
}

Test(pc, accepts_offered_simulcast_as_recv)
{
    static const char *files[] = {"sdp/chromium-156.0.8078.108-offer-simulcast.sdp",
                                  "sdp/firefox-153.7.0esr-offer-simulcast.sdp"};
    for (unsigned f = 0; f < 2; f++) {
        size_t len;
        char *text = (char *)tst_fixture(files[f], &len);
        rtc_pc_t *pc = calloc(1, sizeof *pc);
        pc_setup(pc, "ansr", 1, 1);
        rtc_sdp_err_t err;
        cr_assert_eq(rtc_pc_set_remote(pc, RTC_PC_OFFER, text, len, &err), 0, "%s", err.reason);
        char *buf = malloc(BUF_LEN);
        int n = rtc_pc_create_answer(pc, buf, BUF_LEN, &err);
        cr_assert_gt(n, 0);
        rtc_sdp_t *ans = must_parse(buf), *off = must_parse(text);
        const rtc_sdp_media_t *v = NULL, *ov = NULL;
        for (unsigned i = 0; i < ans->media_cnt; i++)
            if (ans->media[i]->kind == RTC_SDP_KIND_VIDEO)
                v = ans->media[i], ov = off->media[i];
        cr_assert_not_null(v);
        cr_expect_str_eq(v->simulcast_recv, ov->simulcast_send);
        cr_expect_null(v->simulcast_send);
        cr_assert_eq(v->rid_cnt, ov->rid_cnt);
        for (unsigned i = 0; i < v->rid_cnt; i++) {
            cr_expect_str_eq(v->rids[i].id, ov->rids[i].id);
            cr_expect(!v->rids[i].send);
        }
        cr_expect_neq(ext_uri_id(v, "urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id"), 0);
        cr_assert_eq(rtc_pc_set_local(pc, RTC_PC_ANSWER, buf, (size_t)n, &err), 0);
        const rtc_pc_transceiver_t *t = NULL;
        for (unsigned i = 0; i < pc->tr_cnt; i++)
            if (pc->tr[i].kind == RTC_SDP_KIND_VIDEO)
                t = &pc->tr[i];
        cr_assert_not_null(t);
        cr_expect_eq(t->rid_cnt, 3);
        cr_expect_str_eq(t->rids[0], "q");
        cr_expect_str_eq(t->rids[2], "f");
        rtc_sdp_destroy(ans);
        rtc_sdp_destroy(off);
        rtc_pc_fini(pc);
        free(pc);
        free(buf);
        free(text);
    }
}

Test(pc, ice_lite_written)
{
    rtc_pc_t *pc = calloc(1, sizeof *pc);
    rtc_pc_cfg_t cfg = {.ice_ufrag = "lite", .ice_pwd = "abcdefghijklmnopqrstuv", .ice_lite = true};
    cfg.fingerprint.hash = RTC_SDP_HASH_SHA1;
    cfg.fingerprint.len = 20;
    cr_assert_eq(rtc_pc_init(pc, &cfg), 0);
    rtc_pc_add_data_channel(pc);
    char *buf = malloc(BUF_LEN);
    rtc_sdp_err_t err;
    int n = rtc_pc_create_offer(pc, buf, BUF_LEN, &err);
    cr_assert_gt(n, 0);
    rtc_sdp_t *s = must_parse(buf);
    cr_expect(s->a.ice_lite);
    cr_expect_eq(s->media[0]->a.fingerprints[0].hash, RTC_SDP_HASH_SHA1);
    rtc_sdp_destroy(s);
    /* bad credentials and fingerprints are refused */
    cfg.ice_pwd = "short";
    cr_expect_eq(rtc_pc_init(pc, &cfg), -EINVAL);
    cfg.ice_pwd = "abcdefghijklmnopqrstuv";
    cfg.fingerprint.len = 32;
    cr_expect_eq(rtc_pc_init(pc, &cfg), -EINVAL);
    free(pc);
    free(buf);
}

Test(pc, ice_restart_and_munged_local_answer)
{
    rtc_pc_t *a = calloc(1, sizeof *a), *b = calloc(1, sizeof *b);
    char *buf = malloc(BUF_LEN);
    pc_setup(a, "aaaa", 0xaa, 1);
    pc_setup(b, "bbbb", 0xbb, 2);
    cr_assert_eq(rtc_pc_add_transceiver(a, RTC_SDP_KIND_AUDIO, RTC_SDP_DIR_SENDRECV, "s", "a", 0),
                 0);
    negotiate(a, b, buf);
    cr_expect_str_eq(b->remote_ufrag, "aaaa");
    /* restart: new credentials travel in the next offer; candidates are forgotten */
    cr_assert_eq(rtc_pc_add_local_candidate(a, "1 1 udp 1 127.0.0.1 9 typ host"), 0);
    cr_expect_eq(rtc_pc_set_ice_credentials(a, "ab", "abcdefghijklmnopqrstuv"), -EINVAL);
    cr_assert_eq(rtc_pc_set_ice_credentials(a, "zzzz", "ZYXWVUTSRQPONMLKJIHGFE"), 0);
    cr_expect_eq(a->cand_cnt, 0);
    rtc_sdp_err_t e0;
    int n0 = rtc_pc_create_offer(a, buf, BUF_LEN, &e0);
    cr_assert_eq(rtc_pc_set_local(a, RTC_PC_OFFER, buf, (size_t)n0, &e0), 0);
    cr_expect(!b->ice_restart_needed);
    cr_assert_eq(rtc_pc_set_remote(b, RTC_PC_OFFER, buf, (size_t)n0, &e0), 0);
    cr_expect(b->ice_restart_needed); /* b must answer with new credentials */
    cr_assert_eq(rtc_pc_set_ice_credentials(b, "yyyy", "yyyyyyyyyyyyyyyyyyyyyy"), 0);
    cr_expect(!b->ice_restart_needed);
    n0 = rtc_pc_create_answer(b, buf, BUF_LEN, &e0);
    cr_assert_gt(n0, 0);
    cr_assert_eq(rtc_pc_set_local(b, RTC_PC_ANSWER, buf, (size_t)n0, &e0), 0);
    cr_assert_eq(rtc_pc_set_remote(a, RTC_PC_ANSWER, buf, (size_t)n0, &e0), 0);
    cr_expect_str_eq(a->remote_ufrag, "yyyy");
    cr_expect_str_eq(b->remote_ufrag, "zzzz");
    cr_expect_str_eq(b->remote_pwd, "ZYXWVUTSRQPONMLKJIHGFE");
    negotiate(a, b, buf); /* same credentials: no restart */
    cr_expect(!b->ice_restart_needed);
    /* a local answer edited before set_local is taken as written: inactive */
    rtc_sdp_err_t err;
    int n = rtc_pc_create_offer(a, buf, BUF_LEN, &err);
    cr_assert_eq(rtc_pc_set_local(a, RTC_PC_OFFER, buf, (size_t)n, &err), 0);
    cr_assert_eq(rtc_pc_set_remote(b, RTC_PC_OFFER, buf, (size_t)n, &err), 0);
    n = rtc_pc_create_answer(b, buf, BUF_LEN, &err);
    cr_assert_gt(n, 0);
    char *munged = edit(buf, "a=recvonly", "a=inactive"); /* b only receives */
    cr_assert_eq(rtc_pc_set_local(b, RTC_PC_ANSWER, munged, strlen(munged), &err), 0);
    cr_assert_eq(rtc_pc_set_remote(a, RTC_PC_ANSWER, munged, strlen(munged), &err), 0);
    cr_expect_eq(b->tr[0].current_direction, RTC_SDP_DIR_INACTIVE);
    cr_expect_eq(a->tr[0].current_direction, RTC_SDP_DIR_INACTIVE);
    free(munged);
    rtc_pc_fini(a);
    rtc_pc_fini(b);
    free(a);
    free(b);
    free(buf);
}
