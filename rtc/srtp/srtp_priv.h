/* rtc/srtp/srtp_priv.h: shared between rtc/srtp/srtp.c (sessions) and rtc/srtp/ossl.c (the
 * OpenSSL transforms). No foreign types here. */
#ifndef URTC_RTC_SRTP_SRTP_PRIV_H
#define URTC_RTC_SRTP_SRTP_PRIV_H

#include "rtc/srtp/srtp.h"

/* Replaces libsrtp's AES-ICM-128, AES-GCM-128, AES-GCM-256 and HMAC-SHA1 with ours
 * (srtp_replace_cipher_type / srtp_replace_auth_type run both our known-answer tests and the
 * stock type's). srtp_init() must have run. 0 or -EIO. */
WARN_UNUSED int rtc_srtp_ossl_register(void);
/* Runs libsrtp's self-test on each of our types. 0 or -EIO. */
WARN_UNUSED int rtc_srtp_ossl_self_test(void);

#endif
