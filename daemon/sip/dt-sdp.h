#pragma once

#include "core/dt-media-types.h"

G_BEGIN_DECLS

/* SDP offer/answer for one audio stream (RFC 3264), as pure functions:
 * text in, descriptions out, nothing else touched. Errors are DT_ERROR /
 * DT_ERROR_INVALID_ARGUMENTS for SDP we cannot parse or use, and
 * DT_ERROR_NOT_SUPPORTED when it is valid but shares nothing with us; the
 * message is fit for a 488 reason and a log line. */

DtMediaDescription *dt_sdp_parse_audio    (const char                *sdp,
                                           gsize                      length,
                                           GError                   **error);

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
