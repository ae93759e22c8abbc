#pragma once

/* Who may start something with an account over SIP, and how fast.
 *
 * Trust: a new INVITE is taken only from the account's registrar or
 * outbound proxy (the address Sofia sends to; for TCP and TLS any port of
 * that host, since a server may open a connection of its own), or when
 * its Request-URI carries the key we put in the Contact we registered
 * (only the registrar, and the parties of our own calls, have seen it),
 * or when it replaces a dialog of ours (RFC 3891: knowing the dialog's
 * Call-ID and both tags is what in-dialog requests need anyway), or when
 * the account allows direct calls. Anything else gets 403 and never
 * rings. Requests inside a dialog are the dialog's business and are not
 * screened; a REFER inside a call is accepted (202) as before, one
 * outside any dialog is refused (403).
 *
 * Budget: every request that opens a new transaction out of any dialog
 * spends a token from its source's bucket (an IPv4 address, or an IPv6
 * /64; [sip] request-burst at once, request-rate a second); a source
 * without tokens gets 503 with Retry-After. The registrar and the
 * outbound proxy carry all the account's traffic and are not limited;
 * Sofia's own cap on unanswered INVITEs (stateless 503) bounds what they
 * can make ring. Under a heavy flood refused INVITEs are held unanswered
 * for a while, which fills that cap: Sofia then answers the flood itself,
 * without a transaction (see REFUSAL_RATE). */

#include <sys/socket.h>

#include "dt-sip-private.h"

G_BEGIN_DECLS

/* Each source may open @burst requests at once, then @rate a second;
 * a @rate of 0 lifts the limit. */
DtSipGuard *dt_sip_guard_new            (guint         rate,
                                         guint         burst);
void        dt_sip_guard_free           (DtSipGuard   *guard);

/* Right after the account's stack is created, and before it is freed. */
void        dt_sip_guard_account_start  (SipAccount   *sa);
void        dt_sip_guard_account_free   (SipAccount   *sa);

/* The registrar and next hop (outbound proxy or registrar) the account
 * registers through, as dt_sip_resolve_uri_finish() gave them. */
void        dt_sip_guard_set_next_hops  (SipAccount   *sa,
                                         const char   *registrar,
                                         const char   *next_hop);

/* Every event, before it is dispatched: TRUE when the guard answered the
 * request and the event must go no further. */
gboolean    dt_sip_guard_screen         (SipAccount   *sa,
                                         nua_event_t   event,
                                         int           status,
                                         nua_handle_t *nh,
                                         nua_hmagic_t *hmagic,
                                         sip_t const  *sip);

/* A new INVITE: TRUE to go on; FALSE when it was refused (403) and its
 * handle is taken care of. */
gboolean    dt_sip_guard_admit_invite   (SipAccount   *sa,
                                         nua_handle_t *nh,
                                         sip_t const  *sip);

/* The parts, for unit tests. */
gboolean    dt_sip_guard_take_token     (DtSipGuard            *guard,
                                         const struct sockaddr *source,
                                         gsize                  source_len,
                                         gint64                 now_usec);
guint       dt_sip_guard_n_sources      (DtSipGuard            *guard);
SipTrust   *dt_sip_trust_new            (void);
void        dt_sip_trust_free           (SipTrust              *trust);
void        dt_sip_trust_add_next_hop   (SipTrust              *trust,
                                         const char            *uri,
                                         const char            *transport);
gboolean    dt_sip_trust_is_next_hop    (SipTrust              *trust,
                                         const struct sockaddr *source,
                                         gsize                  source_len,
                                         gboolean               stream);

G_END_DECLS
