#pragma once

/* Shared by the files of the SIP backend only. */

#include <sofia-sip/su_config.h>
#include <sofia-sip/sofia_features.h>
#include <sofia-sip/su_glib.h>
#include <sofia-sip/nua.h>
#include <sofia-sip/nua_tag.h>
#include <sofia-sip/sip_header.h>

#include "core/dt-account.h"
#include "core/dt-call.h"
#include "dt-sip-backend.h"

typedef struct _SipAccount SipAccount;
typedef struct _SipCall SipCall;
typedef struct _SipReferral SipReferral;
typedef struct _SipTrust SipTrust;
typedef struct _DtSipGuard DtSipGuard;

struct _DtSipBackend {
  GObject     parent_instance;

  su_home_t   home[1];
  su_root_t  *root;
  GSource    *source;
  guint       transaction_timeout_ms;
  GPtrArray  *codecs;    /* DtCodec: what incoming offers are checked against */

  GHashTable *accounts;  /* DtAccount → SipAccount (live) */
  GPtrArray  *retiring;  /* SipAccount, detached, shutting down */
  GPtrArray  *lingering; /* retired past the bound, still shutting down */
  GTask      *shutdown_task;
  GHashTable *calls;     /* DtCall → SipCall */
  SipReferral *pending_referral; /* for the call a REFER is placing now */
  DtSipGuard  *guard;    /* dt-sip-guard.c: per-source request budgets */

  GString    *log_line;  /* Sofia logs in fragments; we log whole lines */
  gint64      tls_failure_usec;
};

struct _SipAccount {
  DtSipBackend *backend;
  DtAccount    *account;     /* NULL once retiring */
  char         *id;          /* for log lines */
  gboolean      tls;
  char         *cert_dir;    /* private folder holding cafile.pem */
  nua_t        *nua;
  nua_handle_t *reg;
  GCancellable *resolving;
  char         *next_hop;    /* resolved proxy (or registrar) */
  gint64        register_sent_usec;
  gboolean      auth_sent;   /* credentials answered the last challenge */
  gboolean      registered;  /* the registrar holds our contact */
  gboolean      unregistering;
  gboolean      shutdown_sent;
  gboolean      shut_down;
  guint         bound_id;
  SipTrust     *trust;       /* dt-sip-guard.c: who may call in */
};

/* Digest credentials for a challenge in @sip (401 or 407), from the
 * account's settings: "Digest:\"realm\":user:password", or NULL when the
 * account has no password. */
char *dt_sip_account_credentials (SipAccount  *sa,
                                  sip_t const *sip,
                                  int          status);

/* dt-sip-calls.c */
void  dt_sip_calls_incoming_invite (SipAccount   *sa,
                                    nua_handle_t *nh,
                                    sip_t const  *sip);
void  dt_sip_calls_event           (SipCall      *sc,
                                    nua_event_t   event,
                                    int           status,
                                    char const   *phrase,
                                    nua_handle_t *nh,
                                    sip_t const  *sip,
                                    tagi_t        tags[]);
void  dt_sip_calls_account_gone    (DtSipBackend *self,
                                    SipAccount   *sa);
SipAccount *dt_sip_backend_account_of (DtSipBackend *self,
                                       DtAccount    *account);

gboolean dt_sip_call_dial   (DtBackend *backend, DtCall *call, const DtMediaDescription *caps, GError **error);
gboolean dt_sip_call_answer (DtBackend *backend, DtCall *call, const DtMediaDescription *caps, GError **error);
void     dt_sip_call_reject (DtBackend *backend, DtCall *call, guint status);
void     dt_sip_call_hangup (DtBackend *backend, DtCall *call);
gboolean dt_sip_call_reoffer (DtBackend *backend, DtCall *call, DtMediaDirection direction, GError **error);
gboolean dt_sip_call_send_dtmf_info (DtBackend *backend, DtCall *call, char digit, guint duration_ms,
                                     GError **error);

/* Transfer: dt-sip-transfer.c, and what it needs of dt-sip-calls.c. */
SipCall      *dt_sip_backend_call_of        (DtSipBackend *self,
                                             DtCall       *call);
SipCall      *dt_sip_backend_call_by_handle (DtSipBackend *self,
                                             nua_handle_t *nh);
DtCall       *dt_sip_call_get_call          (SipCall      *sc);
DtSipBackend *dt_sip_call_get_backend       (SipCall      *sc);
nua_handle_t *dt_sip_call_get_handle        (SipCall      *sc);
void          dt_sip_transfer_event         (SipCall      *sc,
                                             nua_event_t   event,
                                             int           status,
                                             char const   *phrase,
                                             nua_handle_t *nh,
                                             sip_t const  *sip,
                                             tagi_t        tags[]);
SipCall      *dt_sip_transfer_find_replaced (DtSipBackend *self,
                                             sip_t const  *sip);
tagi_t       *dt_sip_referral_invite_tags   (SipReferral  *r);
void          dt_sip_referral_free          (SipReferral  *r);
void          dt_sip_referral_report        (SipReferral  *r,
                                             int           status,
                                             const char   *phrase);
gboolean      dt_sip_call_transfer          (DtBackend    *backend,
                                             DtCall       *call,
                                             const char   *target_uri,
                                             DtCall       *replaces,
                                             GError      **error);
