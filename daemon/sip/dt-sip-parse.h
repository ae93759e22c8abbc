#pragma once

#include <glib.h>

#include <sofia-sip/su_config.h>
#include <sofia-sip/sofia_features.h>
#include <sofia-sip/su_alloc.h>
#include <sofia-sip/sip.h>

G_BEGIN_DECLS

/* What we read out of SIP messages ourselves, beyond Sofia's own parsers:
 * pure functions of their input, so that the backend and the fuzzers
 * (tests/fuzz/) run the same code. */

/* A sip: or sips: URI with a host and nothing that cannot appear in a
 * header unescaped. The error message is fit for a D-Bus reply. */
gboolean  dt_sip_uri_check            (const char   *uri,
                                       GError      **error);

/* The host of a SIP URI (or its maddr) if it is an IP literal, without
 * brackets; else NULL. */
char     *dt_sip_uri_ip               (const char   *uri);

/* Whether the caller asks to be answered without ringing: Call-Info's
 * answer-after (the common intercom form) or Answer-Mode: Auto (RFC 5373),
 * with the delay in seconds. */
gboolean  dt_sip_answer_requested     (sip_t const  *sip,
                                       guint        *delay_s);

/* The signals of an application/dtmf-relay body ("Signal=5\r\nDuration=160"),
 * in order, as characters ('*' and '#' for the numeric 10 and 11); the
 * caller checks they are DTMF. The first value we could not read goes to
 * @unknown (may be NULL), for a log line. */
char     *dt_sip_dtmf_relay_signals   (const char   *body,
                                       gsize         length,
                                       char        **unknown);

/* The status of a message/sipfrag body ("SIP/2.0 180 Ringing"), or 0. */
guint     dt_sip_sipfrag_status       (sip_t const  *sip);

/* The Replaces header hidden in a Refer-To URI's ?headers, unescaped,
 * allocated from @home, or NULL. */
char     *dt_sip_replaces_from_headers (su_home_t   *home,
                                        const char  *headers);

G_END_DECLS
