/* Call transfer with Sofia-SIP: REFER and its NOTIFYs (RFC 3515), and
 * Replaces (RFC 3891), for both ends of a transfer. */

#include <string.h>

#include <sofia-sip/sip_status.h>
#include <sofia-sip/sip_util.h>
#include <sofia-sip/su_tag_io.h>
#include <sofia-sip/url.h>

#include "core/dt-error.h"
#include "dt-sip-parse.h"
#include "dt-sip-private.h"

/* What a REFER asked of us, carried by the call we place for it, whose
 * progress we report to the referrer. Not with nua's NUTAG_NOTIFY_REFER:
 * it reports a 401/407 challenge as the final answer and turns every
 * failure into 503, so the referrer could neither wait for an
 * authenticated call nor tell busy from not found. */
struct _SipReferral {
  su_home_t     home[1];   /* first: the struct is a Sofia home */
  nua_handle_t *nh;        /* the referrer's dialog, a reference */
  sip_event_t  *event;     /* which refer subscription to notify */
  char         *replaces;  /* from the Refer-To, for our INVITE */
  char         *referred_by;
  tagi_t       *tags;      /* for nua_invite, malloc'd by tl_list */
  gboolean      done;      /* the final NOTIFY is sent */
};

static SipReferral *
referral_new (nua_handle_t      *nh,
              sip_event_t const *event)
{
  SipReferral *r = su_home_new (sizeof *r);

  if (r == NULL)
    return NULL;
  r->nh = nua_handle_ref (nh);
  r->event = event ? sip_event_dup (r->home, event) : NULL;
  return r;
}

void
dt_sip_referral_free (SipReferral *r)
{
  if (r == NULL)
    return;
  if (r->tags != NULL)
    tl_vfree (r->tags);
  nua_handle_unref (r->nh);
  su_home_unref (r->home);
}

tagi_t *
dt_sip_referral_invite_tags (SipReferral *r)
{
  if (r == NULL)
    return NULL;
  if (r->tags == NULL)
    r->tags = tl_list (TAG_IF (r->replaces, SIPTAG_REPLACES_STR (r->replaces)),
                       TAG_IF (r->referred_by, SIPTAG_REFERRED_BY_STR (r->referred_by)),
                       TAG_END ());
  return r->tags;
}

/* A final NOTIFY for a REFER we cannot follow: the referrer's call then
 * carries on. */
static void
notify_refer_failed (nua_handle_t      *nh,
                     sip_event_t const *event,
                     int                status,
                     const char        *phrase)
{
  g_autofree char *frag = g_strdup_printf ("SIP/2.0 %d %s\r\n", status, phrase);

  nua_notify (nh,
              NUTAG_SUBSTATE (nua_substate_terminated),
              TAG_IF (event, SIPTAG_EVENT (event)),
              SIPTAG_CONTENT_TYPE_STR ("message/sipfrag"),
              SIPTAG_PAYLOAD_STR (frag),
              TAG_END ());
}

/* The referred call's progress, as the referrer's NOTIFYs (RFC 3515 2.4.5):
 * provisional responses keep the subscription active, the first final
 * one ends it. */
void
dt_sip_referral_report (SipReferral *r,
                        int          status,
                        const char  *phrase)
{
  g_autofree char *frag = NULL;

  if (r == NULL || r->done || status < 101)
    return;
  frag = g_strdup_printf ("SIP/2.0 %d %s\r\n", status,
                          phrase && *phrase ? phrase : sip_status_phrase (status));
  r->done = status >= 200;
  nua_notify (r->nh,
              NUTAG_SUBSTATE (r->done ? nua_substate_terminated : nua_substate_active),
              TAG_IF (r->event, SIPTAG_EVENT (r->event)),
              SIPTAG_CONTENT_TYPE_STR ("message/sipfrag"),
              SIPTAG_PAYLOAD_STR (frag),
              TAG_END ());
}

/* Incoming REFER in a call's dialog. nua has already accepted it (202);
 * the call we place reports back through NOTIFYs that nua sends. */
static void
on_incoming_refer (SipCall      *sc,
                   nua_handle_t *nh,
                   sip_t const  *sip,
                   tagi_t        tags[])
{
  DtCall *call = dt_sip_call_get_call (sc);
  DtSipBackend *backend = dt_sip_call_get_backend (sc);
  sip_event_t const *event = NULL;
  sip_referred_by_t const *by = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *target = NULL;
  SipReferral *r;
  url_t *url;
  DtCall *placed;

  tl_gets (tags, NUTAG_REFER_EVENT_REF (event), SIPTAG_REFERRED_BY_REF (by), TAG_END ());
  if (sip == NULL || sip->sip_refer_to == NULL || sip->sip_refer_to->r_url->url_type == url_invalid ||
      (r = referral_new (nh, event)) == NULL)
    {
      g_message ("Call %u: REFER without a usable Refer-To ignored", dt_call_get_index (call));
      notify_refer_failed (nh, event, SIP_400_BAD_REQUEST);
      return;
    }
  url = url_hdup (r->home, sip->sip_refer_to->r_url);
  if (url->url_type != url_sip && url->url_type != url_sips)
    {
      g_message ("Call %u: REFER to a %s URI refused", dt_call_get_index (call),
                 url->url_scheme ? url->url_scheme : "non-SIP");
      notify_refer_failed (nh, event, SIP_416_UNSUPPORTED_URI);
      dt_sip_referral_free (r);
      return;
    }
  r->replaces = dt_sip_replaces_from_headers (r->home, url->url_headers);
  url->url_headers = NULL;
  r->referred_by = by ? sip_header_as_string (r->home, (sip_header_t const *) by) : NULL;
  target = url_as_string (NULL, url);
  g_message ("Call %u: REFER to %s%s", dt_call_get_index (call), target,
             r->replaces ? " (replacing a dialog)" : "");

  /* dt_sip_call_dial() takes it for the call the core places now. */
  backend->pending_referral = r;
  placed = dt_call_notify_referred (call, target, &error);
  if (backend->pending_referral != NULL)
    {
      /* Nothing reached the network: no INVITE will report back. */
      dt_sip_referral_free (g_steal_pointer (&backend->pending_referral));
      g_message ("Call %u: cannot follow the REFER: %s", dt_call_get_index (call),
                 error ? error->message : "the call could not start");
      if (placed == NULL)
        notify_refer_failed (nh, event, SIP_603_DECLINE);
      else
        notify_refer_failed (nh, event, SIP_503_SERVICE_UNAVAILABLE);
    }
}

/* A NOTIFY about our REFER: the target's progress as the transferee sees it. */
static void
on_refer_notify (SipCall     *sc,
                 sip_t const *sip,
                 tagi_t       tags[])
{
  DtCall *call = dt_sip_call_get_call (sc);
  int substate = nua_substate_active;
  guint status = dt_sip_sipfrag_status (sip);

  tl_gets (tags, NUTAG_SUBSTATE_REF (substate), TAG_END ());
  if (sip != NULL && sip->sip_event != NULL && sip->sip_event->o_type != NULL &&
      g_ascii_strcasecmp (sip->sip_event->o_type, "refer") != 0)
    return;
  g_debug ("Call %u: transfer NOTIFY %u (subscription %d)", dt_call_get_index (call), status, substate);
  if (status >= 200 && status < 300)
    dt_call_notify_transfer (call, DT_CALL_TRANSFER_STATE_SUCCEEDED, status);
  else if (status >= 300)
    dt_call_notify_transfer (call, DT_CALL_TRANSFER_STATE_FAILED, status);
  else if (substate == nua_substate_terminated)
    /* Over without a final word: nothing says the target answered. */
    dt_call_notify_transfer (call, DT_CALL_TRANSFER_STATE_FAILED, status);
  else
    dt_call_notify_transfer (call, DT_CALL_TRANSFER_STATE_ACCEPTED, status);
}

static void
on_refer_response (SipCall    *sc,
                   int         status,
                   const char *phrase)
{
  DtCall *call = dt_sip_call_get_call (sc);

  if (status < 200)
    return;
  if (status < 300)
    dt_call_notify_transfer (call, DT_CALL_TRANSFER_STATE_ACCEPTED, (guint) status);
  else
    {
      g_message ("Call %u: REFER refused: %d %s", dt_call_get_index (call), status, phrase ? phrase : "");
      dt_call_notify_transfer (call, DT_CALL_TRANSFER_STATE_FAILED, (guint) status);
    }
}

void
dt_sip_transfer_event (SipCall      *sc,
                       nua_event_t   event,
                       int           status,
                       char const   *phrase,
                       nua_handle_t *nh,
                       sip_t const  *sip,
                       tagi_t        tags[])
{
  switch (event)
    {
    case nua_i_refer:
      on_incoming_refer (sc, nh, sip, tags);
      break;
    case nua_r_refer:
      on_refer_response (sc, status, phrase);
      break;
    case nua_i_notify:
      on_refer_notify (sc, sip, tags);
      break;
    default:
      break;
    }
}

gboolean
dt_sip_call_transfer (DtBackend   *backend,
                      DtCall      *call,
                      const char  *target_uri,
                      DtCall      *replaces,
                      GError     **error)
{
  DtSipBackend *self = DT_SIP_BACKEND (backend);
  SipCall *sc = dt_sip_backend_call_of (self, call);
  SipCall *other = replaces ? dt_sip_backend_call_of (self, replaces) : NULL;
  su_home_t home[1] = { SU_HOME_INIT (home) };
  g_autofree char *refer_to = NULL;
  g_autofree char *bare = g_strndup (target_uri, strcspn (target_uri, "?>"));

  if (sc == NULL || dt_sip_call_get_handle (sc) == NULL)
    {
      g_set_error_literal (error, DT_ERROR, DT_ERROR_INVALID_STATE, "the call is over");
      return FALSE;
    }
  if (replaces != NULL)
    {
      sip_replaces_t *rp = NULL;
      char *query = NULL;

      if (other == NULL || dt_sip_call_get_handle (other) == NULL ||
          (rp = nua_handle_make_replaces (dt_sip_call_get_handle (other), home, 0)) == NULL ||
          (query = sip_headers_as_url_query (home, SIPTAG_REPLACES (rp), TAG_END ())) == NULL)
        {
          su_home_deinit (home);
          g_set_error_literal (error, DT_ERROR, DT_ERROR_INVALID_STATE, "other: its dialog is not established");
          return FALSE;
        }
      refer_to = g_strdup_printf ("<%s?%s>", bare, query);
    }
  else
    refer_to = g_strdup_printf ("<%s>", bare);
  su_home_deinit (home);

  g_debug ("Call %u: REFER with Refer-To %s", dt_call_get_index (call), refer_to);
  nua_refer (dt_sip_call_get_handle (sc), SIPTAG_REFER_TO_STR (refer_to), TAG_END ());
  return TRUE;
}

/* An INVITE with Replaces: the call it replaces, or NULL when it names no
 * dialog of ours (the caller then answers 481). */
SipCall *
dt_sip_transfer_find_replaced (DtSipBackend *self,
                               sip_t const  *sip)
{
  GHashTableIter iter;
  gpointer value;
  SipCall *found = NULL;

  g_hash_table_iter_init (&iter, self->accounts);
  while (found == NULL && g_hash_table_iter_next (&iter, NULL, &value))
    {
      SipAccount *sa = value;
      nua_handle_t *nh = nua_handle_by_replaces (sa->nua, sip->sip_replaces);

      if (nh == NULL)
        continue;
      found = dt_sip_backend_call_by_handle (self, nh);
      nua_handle_unref (nh);
    }
  return found;
}
