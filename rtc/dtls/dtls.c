/* rtc/dtls/dtls.c: DTLS 1.2 on OpenSSL 3.0 memory-style BIOs, for DTLS-SRTP (RFC 5764).
 *
 * Timers. OpenSSL 3.0 reads gettimeofday() itself for its DTLS retransmission timer; the
 * sans-IO contract is that we only see now_ns. We reconcile the two like this:
 *  - DTLS_set_timer_cb() makes OpenSSL use our RTO schedule (rto_initial_ms, doubling up to
 *    rto_max_ms) instead of its fixed 1 s doubling;
 *  - after every call into OpenSSL we read DTLSv1_get_timeout() (time left on OpenSSL's clock)
 *    and mirror it as a deadline on ours: now_ns + left;
 *  - at that deadline the engine calls rtc_dtls_handle_timeout(), which calls
 *    DTLSv1_handle_timeout(). Both clocks advance at the same rate and OpenSSL treats a timer
 *    with < 15 ms left as expired, so OpenSSL agrees that it fired; if it does not (our now_ns
 *    lagged), nothing is sent and the deadline is recomputed from the time OpenSSL says is
 *    left, so the two converge instead of drifting.
 * The handshake timeout is ours alone (now_ns based). The tests drive both clocks from one
 * simulated clock by interposing gettimeofday() in the test binary.
 *
 * Datagrams. The BIO is ours (BIO_meth_new): a read returns the one datagram being fed; a
 * write (whole records) goes into the caller's rtc_dtls_out_t, appended to the datagram the
 * previous write of the same call started while the two fit in RTC_DTLS_MTU, else as a new
 * datagram. OpenSSL's first sending of a flight already comes as one write per datagram, but
 * its retransmissions come one message per write: packed, a retransmitted flight stays one
 * datagram, so a reordering link cannot put its ChangeCipherSpec ahead of the messages before
 * it (see bio_write). The MTU is fixed with SSL_OP_NO_QUERY_MTU and
 * DTLS_set_link_mtu(RTC_DTLS_MTU) and the BIO reports no overhead, so no datagram we send
 * exceeds RTC_DTLS_MTU. No HelloVerifyRequest cookie exchange: ICE connectivity checks have
 * already verified the peer's address (RFC 8842 §5 leaves it to the implementation), and a
 * cookie round trip costs one RTT per call set-up.
 */
#include "rtc/dtls/dtls.h"

#include <openssl/bio.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>

struct rtc_dtls_ctx {
    SSL_CTX *ssl_ctx;
    BIO_METHOD *bio_meth;
    EVP_PKEY *key;
    X509 *cert;
    uint32_t rto_initial_ms, rto_max_ms, hs_timeout_ms;
    char fp[RTC_DTLS_FP_STRLEN];
    void (*keylog)(const char *line, void *arg);
    void *keylog_arg;
};

/* RFC 5764 §4.1.2 / RFC 7714 §14.2 profile names as OpenSSL spells them; order is our
 * preference (OpenSSL's server picks by its own list order). */
#define SRTP_PROFILES "SRTP_AEAD_AES_128_GCM:SRTP_AES128_CM_SHA1_80"
/* ECDHE with ECDSA (our certificate is P-256) and AEAD first; the CBC suite only as a last
 * resort for old peers. RFC 8827 §6.5: forward secrecy required. */
#define CIPHERS                                                                                    \
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-ECDSA-AES256-GCM-SHA384:"   \
    "ECDHE-ECDSA-AES128-SHA"
#define GROUPS "X25519:P-256:P-384"

static void log_ssl_errors(const char *what)
{
    unsigned long e;
    char buf[256];
    int n = 0;
    while ((e = ERR_get_error()) != 0 && n++ < 4) {
        ERR_error_string_n(e, buf, sizeof buf);
        LOG_DEBUG("dtls: %s: %s", what, buf);
    }
    ERR_clear_error();
}

/* ---------------------------------------------------------------------------------------------
 * The datagram BIO.
 */
static int bio_write(BIO *b, const char *data, int len)
{
    rtc_dtls_t *d = BIO_get_data(b);
    BIO_clear_retry_flags(b);
    if (len <= 0)
        return 0;
    rtc_dtls_out_t *o = d ? d->_out : NULL;
    /* No out (OpenSSL writing outside one of our calls, e.g. an alert from SSL_free) or no
     * room: behave like a lost datagram; DTLS retransmits. */
    if (!o || (size_t)len > sizeof o->buf - o->used) {
        if (o)
            o->dropped_cnt++;
        return len;
    }
    /* Whole records packed into one datagram while they fit (RFC 6347 §4.1.1: "Multiple
     * DTLS records may be placed in a single datagram"). OpenSSL retransmits a flight one
     * message per write; sent as separate datagrams, a link that reorders delivers the
     * client's ChangeCipherSpec before its Certificate, and OpenSSL drops a CCS that comes
     * early (it has no message sequence number to be buffered by): every retransmission
     * then fails the same way. One datagram per flight keeps its records in order. */
    net_view_t *last = o->tx_cnt ? &o->tx[o->tx_cnt - 1] : NULL;
    if (last && last->p + last->len == o->buf + o->used &&
        last->len + (size_t)len <= RTC_DTLS_MTU) {
        memcpy(o->buf + o->used, data, (size_t)len);
        last->len += (size_t)len;
        o->used += (size_t)len;
        return len;
    }
    if (o->tx_cnt == RTC_DTLS_OUT_MAX) {
        o->dropped_cnt++;
        return len;
    }
    memcpy(o->buf + o->used, data, (size_t)len);
    o->tx[o->tx_cnt++] = (net_view_t){o->buf + o->used, (size_t)len};
    o->used += (size_t)len;
    return len;
}

static int bio_read(BIO *b, char *buf, int cap)
{
    rtc_dtls_t *d = BIO_get_data(b);
    BIO_clear_retry_flags(b);
    if (!d || !d->_in) {
        BIO_set_retry_read(b);
        return -1;
    }
    /* One datagram per read, as a UDP socket would; a datagram larger than OpenSSL's buffer
     * is truncated, which OpenSSL then rejects as a bad record. */
    size_t n = NET_MIN(d->_in_len, (size_t)(cap > 0 ? cap : 0));
    memcpy(buf, d->_in, n);
    d->_in = NULL;
    d->_in_len = 0;
    return (int)n;
}

static long bio_ctrl(BIO *b, int cmd, long num, void *ptr)
{
    (void)b, (void)num, (void)ptr;
    switch (cmd) {
    case BIO_CTRL_FLUSH:
        return 1;
    case BIO_CTRL_DGRAM_QUERY_MTU:
        return RTC_DTLS_MTU;
    case BIO_CTRL_DGRAM_GET_MTU_OVERHEAD: /* RTC_DTLS_MTU already counts UDP payload only */
    case BIO_CTRL_WPENDING:
    case BIO_CTRL_PENDING:
    default:
        return 0;
    }
}

static int bio_create(BIO *b)
{
    BIO_set_init(b, 1);
    return 1;
}

/* ---------------------------------------------------------------------------------------------
 * Fingerprints (RFC 8122 §5).
 */
static const struct {
    const char *name;
    int nid;
} fp_hashes[] = {
    {"sha-1", NID_sha1},     {"sha-224", NID_sha224}, {"sha-256", NID_sha256},
    {"sha-384", NID_sha384}, {"sha-512", NID_sha512},
};

int rtc_dtls_fp_parse(const char *s, rtc_dtls_fp_t *fp)
{
    memset(fp, 0, sizeof *fp);
    if (!s)
        return -EINVAL;
    while (*s == ' ')
        s++;
    size_t nlen = strcspn(s, " ");
    int nid = 0;
    for (size_t i = 0; i < NET_ARRAY_LEN(fp_hashes); i++)
        if (strlen(fp_hashes[i].name) == nlen && strncasecmp(s, fp_hashes[i].name, nlen) == 0)
            nid = fp_hashes[i].nid;
    if (!nid)
        return nlen ? -ENOTSUP : -EINVAL;
    s += nlen;
    while (*s == ' ')
        s++;
    const EVP_MD *md = EVP_get_digestbynid(nid);
    int want = md ? EVP_MD_get_size(md) : 0;
    if (want <= 0 || want > RTC_DTLS_FP_MAX_LEN)
        return -ENOTSUP;
    /* RFC 8122 §5: fingerprint = 2UHEX *(":" 2UHEX); lower case accepted too. */
    int n = 0;
    while (*s) {
        unsigned v;
        char hex[3] = {s[0], s[0] ? s[1] : 0, 0};
        char *end;
        if (n == want || !hex[0] || !hex[1] || !strchr("0123456789abcdefABCDEF", hex[0]) ||
            !strchr("0123456789abcdefABCDEF", hex[1]))
            return -EINVAL;
        v = (unsigned)strtoul(hex, &end, 16);
        fp->v[n++] = (uint8_t)v;
        s += 2;
        if (*s == ':' && s[1])
            s++;
        else if (*s && *s != ' ' && *s != '\r' && *s != '\n')
            return -EINVAL;
        else
            break;
    }
    while (*s == ' ' || *s == '\r' || *s == '\n')
        s++;
    if (*s || n != want)
        return -EINVAL;
    fp->md_nid = nid;
    fp->len = (uint8_t)n;
    return 0;
}

static void fp_format(const uint8_t *v, unsigned len, const char *name, char *out, size_t cap)
{
    size_t off = (size_t)snprintf(out, cap, "%s ", name);
    for (unsigned i = 0; i < len && off + 3 < cap; i++)
        off += (size_t)snprintf(out + off, cap - off, i ? ":%02X" : "%02X", v[i]);
}

/* Replaces chain verification: a WebRTC peer's certificate is self-signed and authenticated
 * only by the fingerprint its (signalling-protected) SDP carries. RFC 8122 §5 / RFC 5763 §5:
 * the certificate MUST match the fingerprint, or the handshake fails. */
static int verify_cert(X509_STORE_CTX *xs, void *arg)
{
    (void)arg;
    SSL *ssl = X509_STORE_CTX_get_ex_data(xs, SSL_get_ex_data_X509_STORE_CTX_idx());
    rtc_dtls_t *d = ssl ? SSL_get_app_data(ssl) : NULL;
    X509 *peer = X509_STORE_CTX_get0_cert(xs);
    if (!d || !peer) {
        X509_STORE_CTX_set_error(xs, X509_V_ERR_UNSPECIFIED);
        return 0;
    }
    if (!d->_remote_fp.md_nid) {
        LOG_DEBUG("dtls: peer certificate arrived before its fingerprint");
        d->_fail = -EACCES;
        X509_STORE_CTX_set_error(xs, X509_V_ERR_CERT_REJECTED);
        return 0;
    }
    uint8_t md[EVP_MAX_MD_SIZE];
    unsigned md_len = 0;
    const EVP_MD *type = EVP_get_digestbynid(d->_remote_fp.md_nid);
    if (!type || !X509_digest(peer, type, md, &md_len) || md_len != d->_remote_fp.len ||
        CRYPTO_memcmp(md, d->_remote_fp.v, md_len) != 0) {
        LOG_DEBUG("dtls: peer certificate does not match the SDP fingerprint");
        d->_fail = -EACCES;
        X509_STORE_CTX_set_error(xs, X509_V_ERR_CERT_REJECTED);
        return 0;
    }
    return 1;
}

/* OpenSSL asks for the next retransmission timeout: 0 means "first". */
static unsigned int timer_cb(SSL *ssl, unsigned int prev_us)
{
    rtc_dtls_t *d = SSL_get_app_data(ssl);
    uint64_t init_us = 1000000, max_us = 8000000;
    if (d && d->_ctx) {
        init_us =
            (uint64_t)(d->_rto_initial_ms ? d->_rto_initial_ms : d->_ctx->rto_initial_ms) * 1000;
        max_us = (uint64_t)d->_ctx->rto_max_ms * 1000;
    }
    if (prev_us == 0)
        return (unsigned int)init_us;
    /* RFC 6347 §4.2.4.1: double at each retransmission. */
    return (unsigned int)NET_MIN((uint64_t)prev_us * 2, max_us);
}

void rtc_dtls_set_rtt(rtc_dtls_t *d, uint64_t rtt_ns)
{
    if (!rtt_ns)
        return;
    uint64_t ms = 2 * rtt_ns / NET_NS_PER_MS;
    d->_rto_initial_ms = (uint32_t)NET_MIN(NET_MAX(ms, 50), 3000);
}

/* ---------------------------------------------------------------------------------------------
 * Context.
 */
static EVP_PKEY *gen_key(void)
{
    return EVP_EC_gen("P-256"); /* RFC 8827 §6.5: ECDSA P-256 is what every browser accepts */
}

static X509 *gen_cert(EVP_PKEY *key)
{
    X509 *x = X509_new();
    if (!x)
        return NULL;
    uint8_t serial[8];
    if (RAND_bytes(serial, sizeof serial) != 1)
        goto fail;
    serial[0] &= 0x7f; /* positive */
    BIGNUM *bn = BN_bin2bn(serial, sizeof serial, NULL);
    if (!bn || !BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x))) {
        BN_free(bn);
        goto fail;
    }
    BN_free(bn);
    X509_NAME *name = X509_get_subject_name(x);
    if (!X509_set_version(x, 2) ||
        !X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"urtc", -1, -1,
                                    0) ||
        !X509_set_issuer_name(x, name) ||
        /* Back-dated a day against clock skew; a month is ample for a per-process cert. */
        !X509_gmtime_adj(X509_getm_notBefore(x), -86400) ||
        !X509_gmtime_adj(X509_getm_notAfter(x), 30L * 86400) || !X509_set_pubkey(x, key) ||
        !X509_sign(x, key, EVP_sha256()))
        goto fail;
    return x;
fail:
    X509_free(x);
    return NULL;
}

static int load_pem(rtc_dtls_ctx_t *c, const char *cert_path, const char *key_path)
{
    FILE *f = fopen(cert_path, "r");
    if (!f) {
        LOG_ERROR("dtls: cannot open certificate %s", cert_path);
        return -errno;
    }
    c->cert = PEM_read_X509(f, NULL, NULL, NULL);
    fclose(f);
    f = fopen(key_path, "r");
    if (!f) {
        LOG_ERROR("dtls: cannot open key %s", key_path);
        return -errno;
    }
    c->key = PEM_read_PrivateKey(f, NULL, NULL, NULL);
    fclose(f);
    if (!c->cert || !c->key) {
        LOG_ERROR("dtls: cannot parse %s / %s", cert_path, key_path);
        return -EINVAL;
    }
    return 0;
}

/* SSL_CTX_set_keylog_callback: OpenSSL hands over the NSS key log line of an association. */
static void keylog_line(const SSL *ssl, const char *line)
{
    const rtc_dtls_ctx_t *c = SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl));
    if (c && c->keylog)
        c->keylog(line, c->keylog_arg);
}

rtc_dtls_ctx_t *rtc_dtls_ctx_create(const rtc_dtls_ctx_cfg_t *cfg)
{
    static const rtc_dtls_ctx_cfg_t defaults;
    if (!cfg)
        cfg = &defaults;
    rtc_dtls_ctx_t *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->rto_initial_ms = cfg->rto_initial_ms ? cfg->rto_initial_ms : 1000;
    c->rto_max_ms = cfg->rto_max_ms ? cfg->rto_max_ms : 8000;
    c->hs_timeout_ms = cfg->handshake_timeout_ms ? cfg->handshake_timeout_ms : 30000;
    if (cfg->cert_pem_path || cfg->key_pem_path) {
        if (!cfg->cert_pem_path || !cfg->key_pem_path ||
            load_pem(c, cfg->cert_pem_path, cfg->key_pem_path) < 0)
            goto fail;
    } else {
        c->key = gen_key();
        c->cert = c->key ? gen_cert(c->key) : NULL;
        if (!c->cert) {
            LOG_ERROR("dtls: cannot generate the ECDSA P-256 certificate");
            goto fail;
        }
    }
    uint8_t md[EVP_MAX_MD_SIZE];
    unsigned md_len = 0;
    if (!X509_digest(c->cert, EVP_sha256(), md, &md_len))
        goto fail;
    fp_format(md, md_len, "sha-256", c->fp, sizeof c->fp);

    c->bio_meth = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "urtc-dgram");
    if (!c->bio_meth || !BIO_meth_set_write(c->bio_meth, bio_write) ||
        !BIO_meth_set_read(c->bio_meth, bio_read) || !BIO_meth_set_ctrl(c->bio_meth, bio_ctrl) ||
        !BIO_meth_set_create(c->bio_meth, bio_create))
        goto fail;

    SSL_CTX *s = c->ssl_ctx = SSL_CTX_new(DTLS_method());
    if (!s)
        goto fail;
    /* DTLS 1.2 only (RFC 8827 §6.5 requires >= 1.2; OpenSSL 3.0 has no DTLS 1.3). */
    if (!SSL_CTX_set_min_proto_version(s, DTLS1_2_VERSION) ||
        !SSL_CTX_set_max_proto_version(s, DTLS1_2_VERSION) ||
        !SSL_CTX_use_certificate(s, c->cert) || !SSL_CTX_use_PrivateKey(s, c->key) ||
        !SSL_CTX_check_private_key(s) || !SSL_CTX_set_cipher_list(s, CIPHERS) ||
        !SSL_CTX_set1_groups_list(s, GROUPS))
        goto fail;
    /* SSL_CTX_set_tlsext_use_srtp returns 0 on success. */
    if (!cfg->no_srtp && SSL_CTX_set_tlsext_use_srtp(s, SRTP_PROFILES) != 0)
        goto fail;
    /* RFC 5763 §5: both ends present certificates; the fingerprint check replaces chain
     * validation. */
    SSL_CTX_set_verify(s, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
    SSL_CTX_set_cert_verify_callback(s, verify_cert, NULL);
    /* No resumption in WebRTC; every association is a full handshake. */
    SSL_CTX_set_session_cache_mode(s, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_options(s, SSL_OP_NO_TICKET | SSL_OP_NO_QUERY_MTU |
                               SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_RENEGOTIATION);
    SSL_CTX_set_read_ahead(s, 1);
    if (cfg->keylog) {
        c->keylog = cfg->keylog;
        c->keylog_arg = cfg->keylog_arg;
        SSL_CTX_set_app_data(s, c);
        SSL_CTX_set_keylog_callback(s, keylog_line);
    }
    return c;
fail:
    log_ssl_errors("ctx");
    rtc_dtls_ctx_destroy(c);
    return NULL;
}

void rtc_dtls_ctx_destroy(rtc_dtls_ctx_t *c)
{
    if (!c)
        return;
    SSL_CTX_free(c->ssl_ctx);
    BIO_meth_free(c->bio_meth);
    X509_free(c->cert);
    EVP_PKEY_free(c->key);
    free(c);
}

const char *rtc_dtls_ctx_fingerprint(const rtc_dtls_ctx_t *c)
{
    return c->fp;
}

/* ---------------------------------------------------------------------------------------------
 * Associations.
 */
int rtc_dtls_init(rtc_dtls_t *d, rtc_dtls_ctx_t *ctx, rtc_dtls_role_t role, const char *remote_fp,
                  uint64_t now_ns)
{
    memset(d, 0, sizeof *d);
    d->_ctx = ctx;
    d->role = role;
    d->_deadline_ns = UINT64_MAX;
    d->_hs_deadline_ns = now_ns + (uint64_t)ctx->hs_timeout_ms * NET_NS_PER_MS;
    if (remote_fp && rtc_dtls_fp_parse(remote_fp, &d->_remote_fp) < 0)
        return -EINVAL;
    SSL *ssl = SSL_new(ctx->ssl_ctx);
    if (!ssl)
        return -ENOMEM;
    d->_ssl = ssl;
    BIO *bio = BIO_new(ctx->bio_meth);
    if (!bio) {
        rtc_dtls_fini(d);
        return -ENOMEM;
    }
    BIO_set_data(bio, d);
    SSL_set_bio(ssl, bio, bio); /* one BIO, both directions; SSL owns one reference */
    SSL_set_app_data(ssl, d);
    DTLS_set_timer_cb(ssl, timer_cb);
    /* RFC 8842 / common WebRTC practice: keep datagrams within 1200 bytes of UDP payload. */
    SSL_set_options(ssl, SSL_OP_NO_QUERY_MTU);
    DTLS_set_link_mtu(ssl, RTC_DTLS_MTU);
    SSL_set_mtu(ssl, RTC_DTLS_MTU);
    if (role == RTC_DTLS_CLIENT)
        SSL_set_connect_state(ssl);
    else
        SSL_set_accept_state(ssl);
    d->state = RTC_DTLS_NEW;
    return 0;
}

int rtc_dtls_set_remote_fingerprint(rtc_dtls_t *d, const char *remote_fp)
{
    rtc_dtls_fp_t fp;
    int ret = rtc_dtls_fp_parse(remote_fp, &fp);
    if (ret < 0)
        return ret;
    d->_remote_fp = fp;
    return 0;
}

void rtc_dtls_fini(rtc_dtls_t *d)
{
    if (!d)
        return;
    if (d->_ssl) {
        d->_out = NULL; /* anything SSL_free writes goes nowhere */
        SSL_free(d->_ssl);
    }
    OPENSSL_cleanse(&d->_keys, sizeof d->_keys);
    memset(d, 0, sizeof *d);
}

static void out_begin(rtc_dtls_t *d, rtc_dtls_out_t *out)
{
    out->tx_cnt = out->rx_cnt = out->used = 0;
    out->dropped_cnt = 0;
    d->_out = out;
}

static int fail(rtc_dtls_t *d, int err)
{
    if (d->state != RTC_DTLS_FAILED) {
        d->state = RTC_DTLS_FAILED;
        if (!d->_fail)
            d->_fail = err;
        d->_deadline_ns = UINT64_MAX;
    }
    return d->_fail;
}

/* RFC 5764 §4.2: the exporter output is client key | server key | client salt | server salt. */
static int export_keys(rtc_dtls_t *d)
{
    SSL *ssl = d->_ssl;
    const SRTP_PROTECTION_PROFILE *p = SSL_get_selected_srtp_profile(ssl);
    if (!p)
        return 0; /* data channel only */
    rtc_srtp_keys_t *k = &d->_keys;
    memset(k, 0, sizeof *k);
    size_t kl, sl;
    if (p->id == SRTP_AEAD_AES_128_GCM)
        k->profile = RTC_SRTP_AEAD_AES_128_GCM;
    else if (p->id == SRTP_AES128_CM_SHA1_80)
        k->profile = RTC_SRTP_AES128_CM_SHA1_80;
    else
        return -ENOTSUP;
    if (rtc_srtp_profile_lens(k->profile, &kl, &sl) < 0)
        return -ENOTSUP;
    uint8_t m[2 * RTC_SRTP_MAX_MASTER_LEN];
    static const char label[] = "EXTRACTOR-dtls_srtp";
    if (SSL_export_keying_material(ssl, m, 2 * (kl + sl), label, sizeof label - 1, NULL, 0, 0) != 1)
        return -EPROTO;
    const uint8_t *ckey = m, *skey = m + kl, *csalt = m + 2 * kl, *ssalt = m + 2 * kl + sl;
    bool client = d->role == RTC_DTLS_CLIENT;
    memcpy(k->local, client ? ckey : skey, kl);
    memcpy(k->local + kl, client ? csalt : ssalt, sl);
    memcpy(k->remote, client ? skey : ckey, kl);
    memcpy(k->remote + kl, client ? ssalt : csalt, sl);
    k->key_len = (uint8_t)kl;
    k->salt_len = (uint8_t)sl;
    OPENSSL_cleanse(m, sizeof m);
    d->_have_keys = true;
    return 0;
}

static void update_deadline(rtc_dtls_t *d, uint64_t now_ns)
{
    struct timeval tv;
    d->_deadline_ns = UINT64_MAX;
    if (d->state == RTC_DTLS_FAILED || d->state == RTC_DTLS_CLOSED)
        return;
    if (DTLSv1_get_timeout((SSL *)d->_ssl, &tv) == 1)
        d->_deadline_ns =
            now_ns + (uint64_t)tv.tv_sec * NET_NS_PER_SEC + (uint64_t)tv.tv_usec * NET_NS_PER_US;
    if (d->state != RTC_DTLS_CONNECTED)
        d->_deadline_ns = NET_MIN(d->_deadline_ns, d->_hs_deadline_ns);
}

/* Maps an SSL_get_error after a failed call. Returns 0 to go on, or a negative errno. */
static int ssl_result(rtc_dtls_t *d, int ret)
{
    SSL *ssl = d->_ssl;
    int err = SSL_get_error(ssl, ret);
    switch (err) {
    case SSL_ERROR_WANT_READ:
    case SSL_ERROR_WANT_WRITE:
        ERR_clear_error();
        return 0;
    case SSL_ERROR_ZERO_RETURN: /* close_notify */
        return 1;
    default:
        log_ssl_errors(d->state == RTC_DTLS_CONNECTED ? "read" : "handshake");
        return fail(d, -EPROTO);
    }
}

/* Drives the handshake, then drains application data. Returns event flags or -errno. */
static int pump(rtc_dtls_t *d, uint64_t now_ns)
{
    SSL *ssl = d->_ssl;
    unsigned ev = 0;
    if (d->state == RTC_DTLS_NEW)
        d->state = RTC_DTLS_HANDSHAKING;
    if (d->state == RTC_DTLS_HANDSHAKING) {
        int ret = SSL_do_handshake(ssl);
        if (ret == 1) {
            d->state = RTC_DTLS_CONNECTED;
            int kr = export_keys(d);
            if (kr < 0)
                return fail(d, kr);
            ev |= RTC_DTLS_EV_CONNECTED;
        } else {
            int r = ssl_result(d, ret);
            if (r < 0)
                return r;
        }
    }
    if (d->state == RTC_DTLS_CONNECTED) {
        rtc_dtls_out_t *o = d->_out;
        /* Bounded: one datagram holds at most a few records. */
        for (int i = 0; i < 2 * RTC_DTLS_OUT_MAX; i++) {
            uint8_t tmp[RTC_DTLS_MTU * 2];
            int n = SSL_read(ssl, tmp, sizeof tmp);
            if (n > 0) {
                if (o && o->rx_cnt < RTC_DTLS_OUT_MAX && (size_t)n <= sizeof o->buf - o->used) {
                    memcpy(o->buf + o->used, tmp, (size_t)n);
                    o->rx[o->rx_cnt++] = (net_view_t){o->buf + o->used, (size_t)n};
                    o->used += (size_t)n;
                } else if (o) {
                    o->dropped_cnt++;
                }
                continue;
            }
            int r = ssl_result(d, n);
            if (r < 0)
                return r;
            if (r == 1) {
                /* RFC 5246 §7.2.1: answer close_notify with our own. */
                SSL_shutdown(ssl);
                d->state = RTC_DTLS_CLOSED;
                ev |= RTC_DTLS_EV_CLOSED;
            }
            break;
        }
    }
    update_deadline(d, now_ns);
    return (int)ev;
}

int rtc_dtls_start(rtc_dtls_t *d, uint64_t now_ns, rtc_dtls_out_t *out)
{
    out_begin(d, out);
    if (d->role != RTC_DTLS_CLIENT || d->state != RTC_DTLS_NEW) {
        d->_out = NULL;
        return 0;
    }
    int r = pump(d, now_ns);
    d->_out = NULL;
    return r < 0 ? r : 0;
}

int rtc_dtls_input(rtc_dtls_t *d, const uint8_t *p, size_t len, uint64_t now_ns,
                   rtc_dtls_out_t *out)
{
    out_begin(d, out);
    if (d->state == RTC_DTLS_FAILED) {
        d->_out = NULL;
        return d->_fail;
    }
    if (d->state == RTC_DTLS_CLOSED || len == 0) {
        d->_out = NULL;
        return 0;
    }
    /* RFC 7983: DTLS content types 20-63; anything else is not for us. */
    if (p[0] < 20 || p[0] > 63) {
        d->bad_cnt++;
        d->_out = NULL;
        return 0;
    }
    d->_in = p;
    d->_in_len = len;
    bool late_hs = d->state == RTC_DTLS_CONNECTED && p[0] == 22;
    int r = pump(d, now_ns);
    if (late_hs) /* the peer did not get our last flight: OpenSSL resends it */
        LOG_DEBUG("dtls: handshake datagram (%zu B) after the handshake: %zu datagrams out", len,
                  (size_t)out->tx_cnt);
    if (d->_in) { /* OpenSSL did not read it (e.g. a record it had no use for) */
        d->_in = NULL;
        d->_in_len = 0;
    }
    d->_out = NULL;
    return r;
}

uint64_t rtc_dtls_deadline(const rtc_dtls_t *d)
{
    return d->_deadline_ns;
}

int rtc_dtls_handle_timeout(rtc_dtls_t *d, uint64_t now_ns, rtc_dtls_out_t *out)
{
    out_begin(d, out);
    int r = 0;
    if (d->state == RTC_DTLS_FAILED) {
        r = d->_fail;
    } else if (d->state != RTC_DTLS_CONNECTED && d->state != RTC_DTLS_CLOSED &&
               now_ns >= d->_hs_deadline_ns) {
        r = fail(d, -ETIMEDOUT);
    } else if (now_ns >= d->_deadline_ns) {
        int ret = DTLSv1_handle_timeout((SSL *)d->_ssl);
        if (ret > 0)
            d->retransmit_cnt++;
        else if (ret < 0) /* too many retransmissions (OpenSSL's own limit) */
            r = fail(d, -ETIMEDOUT);
        ERR_clear_error();
        if (r == 0)
            update_deadline(d, now_ns);
        if (ret > 0)
            LOG_DEBUG("dtls: %s retransmitted its flight (%u so far), next in %" PRIu64 " ms",
                      d->role == RTC_DTLS_CLIENT ? "client" : "server", (unsigned)d->retransmit_cnt,
                      (uint64_t)(d->_deadline_ns == UINT64_MAX
                                     ? 0
                                     : (d->_deadline_ns - now_ns) / NET_NS_PER_MS));
    }
    d->_out = NULL;
    return r;
}

int rtc_dtls_send(rtc_dtls_t *d, const void *data, size_t len, rtc_dtls_out_t *out)
{
    out_begin(d, out);
    int r = 0;
    if (d->state != RTC_DTLS_CONNECTED)
        r = -ENOTCONN;
    else if (len == 0 || len > RTC_DTLS_MTU - 64) /* record overhead: 13 + IV/tag <= 64 */
        r = -EMSGSIZE;
    else if (SSL_write(d->_ssl, data, (int)len) != (int)len) {
        log_ssl_errors("write");
        r = -EPROTO;
    }
    d->_out = NULL;
    return r;
}

int rtc_dtls_close(rtc_dtls_t *d, rtc_dtls_out_t *out)
{
    out_begin(d, out);
    int r = 0;
    if (d->state != RTC_DTLS_CONNECTED) {
        r = -ENOTCONN;
    } else {
        SSL_shutdown(d->_ssl); /* sends close_notify; we do not wait for the peer's */
        ERR_clear_error();
        d->state = RTC_DTLS_CLOSED;
        d->_deadline_ns = UINT64_MAX;
    }
    d->_out = NULL;
    return r;
}

int rtc_dtls_srtp_keys(const rtc_dtls_t *d, rtc_srtp_keys_t *keys)
{
    if (d->state != RTC_DTLS_CONNECTED && d->state != RTC_DTLS_CLOSED)
        return -ENOTCONN;
    if (!d->_have_keys)
        return -ENOTSUP;
    *keys = d->_keys;
    return 0;
}

const char *rtc_dtls_cipher(const rtc_dtls_t *d)
{
    const SSL_CIPHER *c = d->_ssl ? SSL_get_current_cipher(d->_ssl) : NULL;
    return c ? SSL_CIPHER_get_name(c) : "";
}

const char *rtc_dtls_state_name(rtc_dtls_state_t s)
{
    switch (s) {
    case RTC_DTLS_NEW:
        return "new";
    case RTC_DTLS_HANDSHAKING:
        return "handshaking";
    case RTC_DTLS_CONNECTED:
        return "connected";
    case RTC_DTLS_CLOSED:
        return "closed";
    case RTC_DTLS_FAILED:
        return "failed";
    }
    return "?";
}
