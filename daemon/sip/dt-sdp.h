#pragma once

#include "core/dt-media-types.h"

G_BEGIN_DECLS

/* SDP offer/answer for one audio stream (RFC 3264), as pure functions:
 * text in, descriptions out, nothing else touched. Errors are DT_ERROR /
 * DT_ERROR_INVALID_ARGUMENTS for SDP we cannot parse or use, and
 * DT_ERROR_NOT_SUPPORTED when it is valid but shares nothing with us; the
 * message is fit for a 488 reason and a log line.
 *
 * SDES-SRTP follows the capabilities' encryption policy: an offer with
 * crypto lines is answered with the first suite we share, echoing its tag
 * and with our own key; "mandatory" refuses plain RTP, "none" refuses
 * RTP/SAVP. */

DtMediaDescription *dt_sdp_parse_audio    (const char                *sdp,
                                           gsize                      length,
                                           GError                   **error);

/* One a=crypto value (RFC 4568: "TAG SUITE inline:KEY[|LIFETIME]"): NULL
 * with DT_ERROR_NOT_SUPPORTED for suites, MKIs or session parameters we do
 * not implement, DT_ERROR_INVALID_ARGUMENTS for malformed ones. */
DtCrypto           *dt_sdp_parse_crypto   (const char                *value,
                                           GError                   **error);
char               *dt_sdp_write_crypto   (const DtCrypto            *crypto);

char               *dt_sdp_write          (const DtMediaDescription  *desc,
                                           guint64                    session_id,
                                           guint64                    session_version);

gboolean            dt_sdp_answer         (const DtMediaDescription  *offer,
                                           const DtMediaDescription  *capabilities,
                                           DtMediaDescription       **local_answer,
                                           DtMediaDescription       **remote,
                                           GError                   **error);

gboolean            dt_sdp_accept_answer  (const DtMediaDescription  *local_offer,
                                           const DtMediaDescription  *answer,
                                           DtMediaDescription       **local,
                                           DtMediaDescription       **remote,
                                           GError                   **error);

G_END_DECLS
