#include <string.h>

#include <gio/gio.h>

#include <sofia-sip/sip_status.h>
#include <sofia-sip/url.h>

#include "core/dt-error.h"
#include "dt-sdp.h"
#include "dt-sip-guard.h"
#include "dt-sip-parse.h"
#include "dt-sip-private.h"
#include "dt-sip-resolver.h"

/* One INVITE dialog. Its handle's magic points here; the DtCall keeps it
 * alive until the dialog is over and the handle destroyed. */
struct _SipCall {
  DtSipBackend       *backend;
  SipAccount         *sa;
  DtCall             *call;
  nua_handle_t       *nh;
  gboolean            incoming;

  DtMediaDescription *caps;          /* ours: address, port, codecs */
  DtMediaDescription *remote_offer;  /* an offer waiting for our answer */
  DtMediaDescription *local_offer;   /* our offer waiting for an answer */
  DtMediaDescription *local;         /* negotiated */
  DtMediaDescription *remote;
  guint64             sdp_id;
  guint64             sdp_version;

  int                 final_status;
  char               *final_phrase;
  DtCallStateReason   end_reason;    /* set when we know why it ends */
  gboolean            established;
  gboolean            auth_sent;
  gboolean            hangup_requested;
  gboolean            reoffering;    /* our re-INVITE awaits its answer */
  gboolean            finished;      /* DtCall told it ended */
  GCancellable       *resolving;
  SipReferral        *referral;      /* placed for a REFER: nua notifies the referrer */
  guint               media_id;      /* the media starts with local/remote (use_media) */
};

static void
sip_call_free (SipCall *sc)
{
  if (sc->resolving != NULL)
    g_cancellable_cancel (sc->resolving);
  g_clear_object (&sc->resolving);
  g_clear_handle_id (&sc->media_id, g_source_remove);
  g_clear_pointer (&sc->referral, dt_sip_referral_free);
  g_clear_pointer (&sc->caps, dt_media_description_free);
  g_clear_pointer (&sc->remote_offer, dt_media_description_free);
  g_clear_pointer (&sc->local_offer, dt_media_description_free);
  g_clear_pointer (&sc->local, dt_media_description_free);
  g_clear_pointer (&sc->remote, dt_media_description_free);
  g_free (sc->final_phrase);
  g_clear_object (&sc->call);
  g_free (sc);
}

static gboolean
destroy_handle_later (gpointer user_data)
{
  nua_handle_destroy (user_data);
  return G_SOURCE_REMOVE;
}

/* The dialog is over: tell the call (once), forget it, and release the
 * handle outside Sofia's callback. */
static void
finish (SipCall           *sc,
        DtCallStateReason  reason,
        int                status,
        const char        *phrase)
{
  if (sc->finished)
    return;
  sc->finished = TRUE;
  if (sc->end_reason != DT_CALL_STATE_REASON_NONE)
    reason = sc->end_reason;
  /* A referred call that ends unanswered still owes the referrer its end. */
  dt_sip_referral_report (sc->referral, status >= 300 ? status : 487, status >= 300 ? phrase : NULL);
  g_hash_table_remove (sc->backend->calls, sc->call);
  dt_call_notify_ended (sc->call, reason, (guint) MAX (status, 0), phrase);
  if (sc->nh != NULL)
    {
      /* Events may still come on the handle until it is destroyed: the
       * dispatcher ignores handles bound to the backend itself. */
      nua_handle_bind (sc->nh, (nua_hmagic_t *) sc->backend);
      g_idle_add (destroy_handle_later, sc->nh);
      sc->nh = NULL;
    }
  sip_call_free (sc);
}

static char *
sdp_from_payload (sip_t const *sip,
                  gsize       *length)
{
  if (sip == NULL || sip->sip_payload == NULL || sip->sip_payload->pl_len == 0)
    return NULL;
  if (sip->sip_content_type != NULL && sip->sip_content_type->c_type != NULL &&
      g_ascii_strcasecmp (sip->sip_content_type->c_type, "application/sdp") != 0)
    return NULL;
  *length = sip->sip_payload->pl_len;
  return g_strndup (sip->sip_payload->pl_data, sip->sip_payload->pl_len);
}

/* The IP the kernel would use to reach @peer: what goes into our SDP when
 * the media socket is bound to every address. */
static char *
local_address_toward (const char *peer)
{
  g_autoptr(GInetAddress) remote = peer ? g_inet_address_new_from_string (peer) : NULL;
  g_autoptr(GSocket) socket = NULL;
  g_autoptr(GSocketAddress) target = NULL;
  g_autoptr(GSocketAddress) local = NULL;

  if (remote == NULL)
    return NULL;
  socket = g_socket_new (g_inet_address_get_family (remote), G_SOCKET_TYPE_DATAGRAM,
                         G_SOCKET_PROTOCOL_UDP, NULL);
  target = g_inet_socket_address_new (remote, 9);
  if (socket == NULL || !g_socket_connect (socket, target, NULL, NULL))
    return NULL;
  local = g_socket_get_local_address (socket, NULL);
  return local ? g_inet_address_to_string (g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (local)))
               : NULL;
}

static gboolean
is_unspecified (const char *address)
{
  return address == NULL || g_str_equal (address, "0.0.0.0") || g_str_equal (address, "::");
}

static DtMediaDescription *
capabilities_toward (const DtMediaDescription *caps,
                     const char               *peer)
{
  DtMediaDescription *desc = dt_media_description_copy (caps);

  if (is_unspecified (desc->address))
    {
      char *address = local_address_toward (peer);

      g_free (desc->address);
      desc->address = address ? address : g_strdup ("127.0.0.1");
    }
  return desc;
}

static void
send_sdp_response (SipCall                  *sc,
                   int                       status,
                   const char               *phrase,
                   const DtMediaDescription *desc)
{
  g_autofree char *sdp = dt_sdp_write (desc, sc->sdp_id, ++sc->sdp_version);

  nua_respond (sc->nh, status, phrase,
               SIPTAG_CONTENT_TYPE_STR ("application/sdp"),
               SIPTAG_PAYLOAD_STR (sdp),
               TAG_END ());
}

static void
set_media (SipCall            *sc,
           DtMediaDescription *local,
           DtMediaDescription *remote)
{
  g_clear_pointer (&sc->local, dt_media_description_free);
  g_clear_pointer (&sc->remote, dt_media_description_free);
  sc->local = local;
  sc->remote = remote;
}

static void
use_media (SipCall            *sc,
           DtMediaDescription *local,
           DtMediaDescription *remote)
{
  g_clear_handle_id (&sc->media_id, g_source_remove);
  set_media (sc, local, remote);
  dt_call_notify_media (sc->call, sc->local, sc->remote);
}

static gboolean
start_media (gpointer user_data)
{
  SipCall *sc = user_data;

  sc->media_id = 0;
  dt_call_notify_media (sc->call, sc->local, sc->remote);
  return G_SOURCE_REMOVE;
}

/* The media of an answer we just queued. Starting it builds or rebuilds a
 * pipeline, milliseconds of work, and nua sends the answer (the 200 with
 * our SDP) only when the main loop runs its source again: the media waits
 * for that, in a source of the same priority attached after Sofia's, so
 * the answer leaves first and the ACK, which comes after it, still finds
 * the media started. */
static void
use_media_after_answer (SipCall            *sc,
                        DtMediaDescription *local,
                        DtMediaDescription *remote)
{
  set_media (sc, local, remote);
  if (sc->media_id == 0)
    sc->media_id = g_idle_add_full (G_PRIORITY_DEFAULT, start_media, sc, NULL);
}

/* Our answer to an offer (incoming INVITE, re-INVITE): the direction we
 * answer with keeps whatever the call already wants. */
static gboolean
answer_offer (SipCall                  *sc,
              const DtMediaDescription *offer,
              GError                  **error)
{
  DtMediaDescription *local = NULL, *remote = NULL;

  if (!dt_sdp_answer (offer, sc->caps, &local, &remote, error))
    return FALSE;
  send_sdp_response (sc, 200, "OK", local);
  use_media_after_answer (sc, local, remote);
  return TRUE;
}

static DtCallStateReason
reason_for_status (SipCall *sc,
                   int      status)
{
  switch (status)
    {
    case 486: case 600: return DT_CALL_STATE_REASON_BUSY;
    case 603: case 403: return DT_CALL_STATE_REASON_DECLINED;
    case 404: case 604: case 484: return DT_CALL_STATE_REASON_NOT_FOUND;
    case 480: case 410: return DT_CALL_STATE_REASON_UNAVAILABLE;
    case 487: return sc->hangup_requested ? DT_CALL_STATE_REASON_LOCAL_HANGUP : DT_CALL_STATE_REASON_CANCELLED;
    case 488: case 606:
      /* Offering RTP/SAVP only, a refusal is nearly always for want of SRTP. */
      if (sc->local_offer != NULL && sc->local_offer->secure_profile)
        return DT_CALL_STATE_REASON_ENCRYPTION_REQUIRED;
      return DT_CALL_STATE_REASON_INCOMPATIBLE;
    case 415: return DT_CALL_STATE_REASON_INCOMPATIBLE;
    case 408: return DT_CALL_STATE_REASON_TIMEOUT;
    default:
      if (status >= 500 && status < 600)
        return DT_CALL_STATE_REASON_SERVER_ERROR;
      return DT_CALL_STATE_REASON_UNAVAILABLE;
    }
}

static SipCall *
sip_call_new (SipAccount *sa,
              DtCall     *call,
              gboolean    incoming)
{
  SipCall *sc = g_new0 (SipCall, 1);

  sc->backend = sa->backend;
  sc->sa = sa;
  sc->call = g_object_ref (call);
  sc->incoming = incoming;
  sc->sdp_id = (guint64) g_get_real_time ();
  sc->end_reason = DT_CALL_STATE_REASON_NONE;
  g_hash_table_insert (sa->backend->calls, call, sc);
  return sc;
}

/* Incoming calls */

void
dt_sip_calls_incoming_invite (SipAccount   *sa,
                              nua_handle_t *nh,
                              sip_t const  *sip)
{
  g_autoptr(DtMediaDescription) offer = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *sdp = NULL;
  g_autofree char *from = NULL;
  g_autofree char *to = NULL;
  g_autofree char *display = NULL;
  DtCall *call;
  SipCall *sc;
  SipCall *replaced = NULL;
  gsize length = 0;

  if (!dt_sip_guard_admit_invite (sa, nh, sip))
    return;
  if (sa->account == NULL || sip == NULL || sip->sip_from == NULL)
    {
      nua_respond (nh, SIP_480_TEMPORARILY_UNAVAILABLE, TAG_END ());
      g_idle_add (destroy_handle_later, nh);
      return;
    }

  /* Refuse what we cannot take before the phone rings. */
  sdp = sdp_from_payload (sip, &length);
  if (sdp == NULL && sip->sip_payload != NULL && sip->sip_payload->pl_len > 0)
    {
      g_message ("Account %s: INVITE with a body that is not SDP refused (415)", sa->id);
      nua_respond (nh, SIP_415_UNSUPPORTED_MEDIA, SIPTAG_ACCEPT_STR ("application/sdp"), TAG_END ());
      g_idle_add (destroy_handle_later, nh);
      return;
    }
  if (sdp != NULL)
    {
      DtMediaDescription *answer = NULL, *remote = NULL;
      g_autoptr(DtMediaDescription) probe = dt_media_description_new ();

      offer = dt_sdp_parse_audio (sdp, length, &error);
      if (offer != NULL)
        {
          probe->address = g_strdup ("0.0.0.0");
          probe->port = 9;
          for (guint i = 0; i < sa->backend->codecs->len; i++)
            g_ptr_array_add (probe->codecs, dt_codec_copy (sa->backend->codecs->pdata[i]));
          /* The probe's keys are never used: the call makes its own. */
          dt_account_describe_encryption (sa->account, probe);
          if (dt_sdp_answer (offer, probe, &answer, &remote, &error))
            {
              dt_media_description_free (answer);
              dt_media_description_free (remote);
            }
          else
            g_clear_pointer (&offer, dt_media_description_free);
        }
      if (offer == NULL)
        {
          g_autofree char *warning = g_strdup_printf ("399 dialtone \"%s\"", error->message);

          g_message ("Account %s: INVITE refused (488): %s", sa->id, error->message);
          nua_respond (nh, SIP_488_NOT_ACCEPTABLE, SIPTAG_WARNING_STR (warning), TAG_END ());
          g_idle_add (destroy_handle_later, nh);
          return;
        }
    }

  from = url_as_string (NULL, sip->sip_from->a_url);
  to = sip->sip_to ? url_as_string (NULL, sip->sip_to->a_url) : NULL;
  display = sip->sip_from->a_display ? g_strdup (sip->sip_from->a_display) : NULL;
  if (display && display[0] == '"')
    {
      char *unquoted = g_strndup (display + 1, strlen (display) > 1 ? strlen (display) - 2 : 0);
      g_free (display);
      display = unquoted;
    }

  /* RFC 3891: a Replaces naming no dialog of ours is refused. */
  if (sip->sip_replaces != NULL && (replaced = dt_sip_transfer_find_replaced (sa->backend, sip)) == NULL)
    {
      g_message ("Account %s: INVITE with Replaces for an unknown dialog refused (481)", sa->id);
      nua_respond (nh, SIP_481_NO_TRANSACTION, TAG_END ());
      g_idle_add (destroy_handle_later, nh);
      return;
    }

  call = dt_backend_emit_incoming_call (DT_BACKEND (sa->backend), sa->account, from, display, to);
  if (call == NULL)
    {
      nua_respond (nh, SIP_486_BUSY_HERE, TAG_END ());
      g_idle_add (destroy_handle_later, nh);
      return;
    }
  sc = sip_call_new (sa, call, TRUE);
  g_object_unref (call);
  sc->nh = nh;
  sc->remote_offer = g_steal_pointer (&offer);
  nua_handle_bind (nh, sc);
  if (replaced != NULL)
    {
      /* It takes the replaced call's place: answered now, never rings. */
      if (!dt_call_notify_replacing (sc->call, replaced->call, &error))
        {
          g_message ("Call %u: cannot replace call %u: %s", dt_call_get_index (sc->call),
                     dt_call_get_index (replaced->call), error->message);
          if (!dt_call_is_ended (sc->call))
            dt_call_reject (sc->call, 481, NULL);
        }
      return;
    }
  nua_respond (nh, SIP_180_RINGING, TAG_END ());
  {
    guint delay = 0;

    if (dt_sip_answer_requested (sip, &delay))
      dt_call_notify_answer_requested (sc->call, delay);
  }
}

gboolean
dt_sip_call_answer (DtBackend                 *backend,
                    DtCall                    *call,
                    const DtMediaDescription  *caps,
                    GError                   **error)
{
  DtSipBackend *self = DT_SIP_BACKEND (backend);
  SipCall *sc = g_hash_table_lookup (self->calls, call);
  g_autofree char *peer = NULL;

  if (sc == NULL || sc->nh == NULL)
    {
      g_set_error_literal (error, DT_ERROR, DT_ERROR_INVALID_STATE, "the call is over");
      return FALSE;
    }
  peer = sc->remote_offer ? g_strdup (sc->remote_offer->address) : dt_sip_uri_ip (dt_call_get_remote_uri (call));
  g_clear_pointer (&sc->caps, dt_media_description_free);
  sc->caps = capabilities_toward (caps, peer);

  if (sc->remote_offer != NULL)
    {
      g_autoptr(GError) local_error = NULL;
      g_autoptr(DtMediaDescription) offer = g_steal_pointer (&sc->remote_offer);

      if (!answer_offer (sc, offer, &local_error))
        {
          g_autofree char *warning = g_strdup_printf ("399 dialtone \"%s\"", local_error->message);

          nua_respond (sc->nh, SIP_488_NOT_ACCEPTABLE, SIPTAG_WARNING_STR (warning), TAG_END ());
          sc->end_reason = DT_CALL_STATE_REASON_INCOMPATIBLE;
          g_set_error (error, DT_ERROR, DT_ERROR_NOT_SUPPORTED, "%s", local_error->message);
          return FALSE;
        }
      return TRUE;
    }

  /* No offer in the INVITE: ours goes in the 200, the answer in the ACK. */
  g_clear_pointer (&sc->local_offer, dt_media_description_free);
  sc->local_offer = dt_media_description_copy (sc->caps);
  send_sdp_response (sc, 200, "OK", sc->local_offer);
  return TRUE;
}

void
dt_sip_call_reject (DtBackend *backend,
                    DtCall    *call,
                    guint      status)
{
  DtSipBackend *self = DT_SIP_BACKEND (backend);
  SipCall *sc = g_hash_table_lookup (self->calls, call);

  if (sc == NULL || sc->nh == NULL)
    return;
  sc->end_reason = DT_CALL_STATE_REASON_REJECTED;
  nua_respond (sc->nh, (int) status, sip_status_phrase ((int) status), TAG_END ());
}

/* Outgoing calls */

typedef struct {
  SipCall *sc;
  char    *uri;
} Dial;

static void
send_invite (SipCall    *sc,
             const char *request_uri)
{
  g_autofree char *sdp = dt_sdp_write (sc->local_offer, sc->sdp_id, ++sc->sdp_version);

  nua_invite (sc->nh,
              TAG_IF (request_uri, NUTAG_URL (request_uri)),
              SIPTAG_CONTENT_TYPE_STR ("application/sdp"),
              SIPTAG_PAYLOAD_STR (sdp),
              TAG_NEXT (dt_sip_referral_invite_tags (sc->referral)));
}

static void
on_target_resolved (GObject      *source,
                    GAsyncResult *result,
                    gpointer      user_data)
{
  Dial *d = user_data;
  g_autoptr(GError) error = NULL;
  g_autofree char *resolved = dt_sip_resolve_uri_finish (result, &error);

  if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      SipCall *sc = d->sc;

      g_clear_object (&sc->resolving);
      if (resolved == NULL)
        {
          g_message ("Call %u: cannot resolve %s: %s", dt_call_get_index (sc->call), d->uri, error->message);
          finish (sc, DT_CALL_STATE_REASON_NOT_FOUND, 0, NULL);
        }
      else
        send_invite (sc, resolved);
    }
  g_free (d->uri);
  g_free (d);
}

gboolean
dt_sip_call_dial (DtBackend                 *backend,
                  DtCall                    *call,
                  const DtMediaDescription  *caps,
                  GError                   **error)
{
  DtSipBackend *self = DT_SIP_BACKEND (backend);
  SipAccount *sa = dt_sip_backend_account_of (self, dt_call_get_account (call));
  const char *target = dt_call_get_remote_uri (call);
  g_autofree char *peer = NULL;
  g_autofree char *target_ip = NULL;
  SipCall *sc;

  if (sa == NULL)
    {
      g_set_error (error, DT_ERROR, DT_ERROR_INVALID_STATE, "account %s is not ready to call",
                   dt_account_get_id (dt_call_get_account (call)));
      return FALSE;
    }
  sc = sip_call_new (sa, call, FALSE);
  sc->referral = g_steal_pointer (&self->pending_referral);
  target_ip = dt_sip_uri_ip (target);
  peer = sa->next_hop ? dt_sip_uri_ip (sa->next_hop) : g_strdup (target_ip);
  sc->caps = capabilities_toward (caps, peer);
  sc->local_offer = dt_media_description_copy (sc->caps);
  sc->nh = nua_handle (sa->nua, sc, SIPTAG_TO_STR (target), TAG_END ());

  /* Without a proxy, Sofia would resolve the target's host itself; its
   * resolver must not run (it spins when DNS is unreachable). */
  if (sa->next_hop == NULL && target_ip == NULL)
    {
      Dial *d = g_new0 (Dial, 1);

      d->sc = sc;
      d->uri = g_strdup (target);
      sc->resolving = g_cancellable_new ();
      dt_sip_resolve_uri_async (target, dt_account_get_transport (dt_call_get_account (call)),
                                sc->resolving, on_target_resolved, d);
      return TRUE;
    }
  send_invite (sc, NULL);
  return TRUE;
}

void
dt_sip_call_hangup (DtBackend *backend,
                    DtCall    *call)
{
  DtSipBackend *self = DT_SIP_BACKEND (backend);
  SipCall *sc = g_hash_table_lookup (self->calls, call);

  if (sc == NULL)
    return;
  sc->hangup_requested = TRUE;
  if (sc->resolving != NULL)
    {
      finish (sc, DT_CALL_STATE_REASON_LOCAL_HANGUP, 0, NULL);
      return;
    }
  if (sc->nh == NULL)
    return;
  if (sc->incoming && !sc->established && sc->local == NULL && sc->local_offer == NULL)
    nua_respond (sc->nh, SIP_480_TEMPORARILY_UNAVAILABLE, TAG_END ());
  else if (!sc->incoming && !sc->established)
    nua_cancel (sc->nh, TAG_END ());
  else
    nua_bye (sc->nh, TAG_END ());
}

/* Events on a call's handle */

static void
on_invite_response (SipCall     *sc,
                    int          status,
                    char const  *phrase,
                    sip_t const *sip)
{
  g_autofree char *sdp = NULL;
  gsize length = 0;

  if (status < 100)
    return;

  if ((status == 401 || status == 407) && !sc->auth_sent && sc->sa->account != NULL)
    {
      g_autofree char *credentials = dt_sip_account_credentials (sc->sa, sip, status);

      if (credentials != NULL)
        {
          sc->auth_sent = TRUE;
          nua_authenticate (sc->nh, NUTAG_AUTH (credentials), TAG_END ());
          explicit_bzero (credentials, strlen (credentials));
          return;
        }
    }

  dt_sip_referral_report (sc->referral, status, phrase);
  if (status >= 300 && sc->established)
    {
      /* A refused re-INVITE leaves the call as it was (RFC 3261 14.1);
       * Sofia ends the dialog itself for the statuses that mean it is
       * gone (481, 408). */
      g_clear_pointer (&sc->local_offer, dt_media_description_free);
      if (sc->reoffering)
        {
          sc->reoffering = FALSE;
          if (sc->local != NULL)
            sc->caps->direction = sc->local->direction;
          dt_call_notify_reoffer_failed (sc->call, (guint) status, phrase);
        }
      return;
    }
  if (status >= 300)
    {
      sc->final_status = status;
      g_free (sc->final_phrase);
      sc->final_phrase = g_strdup (phrase);
      return;  /* nua_i_state terminated follows */
    }

  /* 2xx: answered (before its SDP, which is then not early media). */
  if (status >= 200)
    {
      sc->established = TRUE;
      dt_call_notify_answered (sc->call);
    }

  /* 18x or 2xx: an answer may come with it (early media, or the final). */
  sdp = sdp_from_payload (sip, &length);
  if (sdp != NULL && sc->local_offer != NULL)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(DtMediaDescription) answer = dt_sdp_parse_audio (sdp, length, &error);
      DtMediaDescription *local = NULL, *remote = NULL;

      if (answer == NULL || !dt_sdp_accept_answer (sc->local_offer, answer, &local, &remote, &error))
        {
          g_warning ("Call %u: unusable SDP answer: %s", dt_call_get_index (sc->call), error->message);
          sc->end_reason = answer != NULL && dt_media_description_crypto (answer) == NULL &&
                           sc->local_offer->encryption == DT_MEDIA_ENCRYPTION_MANDATORY
                             ? DT_CALL_STATE_REASON_ENCRYPTION_REQUIRED : DT_CALL_STATE_REASON_INCOMPATIBLE;
          if (status >= 200)
            nua_bye (sc->nh, TAG_END ());
          else
            nua_cancel (sc->nh, TAG_END ());
          return;
        }
      if (status >= 200)
        {
          g_clear_pointer (&sc->local_offer, dt_media_description_free);
          sc->reoffering = FALSE;
        }
      use_media (sc, local, remote);
    }

  if (status < 200)
    dt_call_notify_progress (sc->call, (guint) status, phrase);
}

static void
on_incoming_reinvite (SipCall     *sc,
                      sip_t const *sip)
{
  g_autofree char *sdp = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(DtMediaDescription) offer = NULL;
  gsize length = 0;

  sdp = sdp_from_payload (sip, &length);
  if (sdp == NULL)
    {
      /* Offerless re-INVITE: we offer again, the answer comes in the ACK. */
      g_clear_pointer (&sc->local_offer, dt_media_description_free);
      sc->local_offer = dt_media_description_copy (sc->caps);
      send_sdp_response (sc, 200, "OK", sc->local_offer);
      return;
    }
  offer = dt_sdp_parse_audio (sdp, length, &error);
  if (offer == NULL || !answer_offer (sc, offer, &error))
    {
      g_autofree char *warning = g_strdup_printf ("399 dialtone \"%s\"", error->message);

      /* A re-INVITE we cannot take leaves the call as it was (RFC 3261 14.2). */
      g_message ("Call %u: re-INVITE refused: %s", dt_call_get_index (sc->call), error->message);
      nua_respond (sc->nh, SIP_488_NOT_ACCEPTABLE, SIPTAG_WARNING_STR (warning), TAG_END ());
    }
}

static void
on_ack (SipCall     *sc,
        sip_t const *sip)
{
  g_autofree char *sdp = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(DtMediaDescription) answer = NULL;
  DtMediaDescription *local = NULL, *remote = NULL;
  gsize length = 0;

  if (sc->local_offer == NULL || (sdp = sdp_from_payload (sip, &length)) == NULL)
    return;
  answer = dt_sdp_parse_audio (sdp, length, &error);
  if (answer == NULL || !dt_sdp_accept_answer (sc->local_offer, answer, &local, &remote, &error))
    {
      g_warning ("Call %u: unusable SDP answer in the ACK: %s", dt_call_get_index (sc->call), error->message);
      sc->end_reason = DT_CALL_STATE_REASON_INCOMPATIBLE;
      nua_bye (sc->nh, TAG_END ());
      return;
    }
  g_clear_pointer (&sc->local_offer, dt_media_description_free);
  use_media (sc, local, remote);
}

/* SIP INFO with application/dtmf-relay ("Signal=5\r\nDuration=160"), the
 * de-facto format; nua has answered it already. */
static void
on_info (SipCall     *sc,
         sip_t const *sip)
{
  g_autofree char *signals = NULL;
  g_autofree char *unknown = NULL;

  if (sip == NULL || sip->sip_payload == NULL || sip->sip_content_type == NULL ||
      sip->sip_content_type->c_type == NULL ||
      g_ascii_strcasecmp (sip->sip_content_type->c_type, "application/dtmf-relay") != 0)
    return;
  signals = dt_sip_dtmf_relay_signals (sip->sip_payload->pl_data, sip->sip_payload->pl_len, &unknown);
  for (const char *s = signals; *s; s++)
    dt_call_notify_dtmf (sc->call, *s);
  if (unknown != NULL)
    g_message ("Call %u: INFO with an unknown DTMF signal '%s' ignored",
               dt_call_get_index (sc->call), unknown);
}

gboolean
dt_sip_call_send_dtmf_info (DtBackend  *backend,
                            DtCall     *call,
                            char        digit,
                            guint       duration_ms,
                            GError    **error)
{
  SipCall *sc = g_hash_table_lookup (DT_SIP_BACKEND (backend)->calls, call);
  g_autofree char *body = NULL;

  if (sc == NULL || sc->nh == NULL || !sc->established)
    {
      g_set_error_literal (error, DT_ERROR, DT_ERROR_INVALID_STATE, "the call is not established");
      return FALSE;
    }
  body = g_strdup_printf ("Signal=%c\r\nDuration=%u\r\n", digit, duration_ms);
  nua_info (sc->nh,
            SIPTAG_CONTENT_TYPE_STR ("application/dtmf-relay"),
            SIPTAG_PAYLOAD_STR (body),
            TAG_END ());
  return TRUE;
}

/* Hold and resume: a new offer with the negotiated codecs and the
 * direction we want, so the stream (and anything playing or recording on
 * it) carries on unchanged. */
gboolean
dt_sip_call_reoffer (DtBackend         *backend,
                     DtCall            *call,
                     DtMediaDirection   direction,
                     GError           **error)
{
  SipCall *sc = g_hash_table_lookup (DT_SIP_BACKEND (backend)->calls, call);

  if (sc == NULL || sc->nh == NULL || !sc->established || sc->local == NULL)
    {
      g_set_error_literal (error, DT_ERROR, DT_ERROR_INVALID_STATE, "the call is not established");
      return FALSE;
    }
  if (sc->local_offer != NULL || sc->remote_offer != NULL)
    {
      g_set_error_literal (error, DT_ERROR, DT_ERROR_IN_PROGRESS,
                           "an offer/answer exchange is under way; try again");
      return FALSE;
    }
  sc->caps->direction = direction;
  sc->local_offer = dt_media_description_copy (sc->local);
  sc->local_offer->direction = direction;
  sc->reoffering = TRUE;
  send_invite (sc, NULL);
  return TRUE;
}

static void
on_state (SipCall     *sc,
          int          status,
          char const  *phrase,
          tagi_t       tags[])
{
  int state = nua_callstate_init;

  tl_gets (tags, NUTAG_CALLSTATE_REF (state), TAG_END ());
  switch (state)
    {
    case nua_callstate_ready:
      sc->established = TRUE;
      dt_call_notify_answered (sc->call);
      break;

    case nua_callstate_terminated:
      {
        DtCallStateReason reason;

        if (sc->hangup_requested)
          reason = DT_CALL_STATE_REASON_LOCAL_HANGUP;
        else if (sc->established)
          reason = DT_CALL_STATE_REASON_REMOTE_HANGUP;
        else if (sc->incoming)
          reason = DT_CALL_STATE_REASON_CANCELLED;
        else if (sc->final_status >= 300)
          reason = reason_for_status (sc, sc->final_status);
        else
          reason = DT_CALL_STATE_REASON_NETWORK_ERROR;
        finish (sc, reason, sc->final_status ? sc->final_status : status,
                sc->final_phrase ? sc->final_phrase : phrase);
        break;
      }

    default:
      break;
    }
}

void
dt_sip_calls_event (SipCall      *sc,
                    nua_event_t   event,
                    int           status,
                    char const   *phrase,
                    nua_handle_t *nh,
                    sip_t const  *sip,
                    tagi_t        tags[])
{
  switch (event)
    {
    case nua_r_invite:
      on_invite_response (sc, status, phrase, sip);
      break;
    case nua_i_invite:
      on_incoming_reinvite (sc, sip);
      break;
    case nua_i_ack:
      on_ack (sc, sip);
      break;
    case nua_i_info:
      on_info (sc, sip);
      break;
    case nua_i_state:
      on_state (sc, status, phrase, tags);
      break;
    case nua_i_terminated:
      finish (sc, sc->established ? DT_CALL_STATE_REASON_REMOTE_HANGUP : DT_CALL_STATE_REASON_CANCELLED,
              status, phrase);
      break;
    case nua_i_refer:
    case nua_r_refer:
    case nua_i_notify:
      dt_sip_transfer_event (sc, event, status, phrase, nh, sip, tags);
      break;
    default:
      break;
    }
}

/* The account's stack is going away: its calls end with it (nua_shutdown
 * sends the BYEs). */
void
dt_sip_calls_account_gone (DtSipBackend *self,
                           SipAccount   *sa)
{
  GHashTableIter iter;
  gpointer value;
  g_autoptr(GPtrArray) ending = g_ptr_array_new ();

  g_hash_table_iter_init (&iter, self->calls);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    if (((SipCall *) value)->sa == sa)
      g_ptr_array_add (ending, value);
  for (guint i = 0; i < ending->len; i++)
    {
      SipCall *sc = ending->pdata[i];

      /* nua_shutdown ends these dialogs and nua_destroy frees the
       * handles; until then their events are ignored. */
      if (sc->nh != NULL)
        nua_handle_bind (sc->nh, (nua_hmagic_t *) self);
      sc->nh = NULL;
      finish (sc, DT_CALL_STATE_REASON_LOCAL_HANGUP, 0, NULL);
    }
}

/* Transfer: what dt-sip-transfer.c needs to know of a call. */

SipCall *
dt_sip_backend_call_of (DtSipBackend *self,
                        DtCall       *call)
{
  return call ? g_hash_table_lookup (self->calls, call) : NULL;
}

/* Compares pointers only: a handle's magic may be a call already freed. */
SipCall *
dt_sip_backend_call_by_handle (DtSipBackend *self,
                               nua_handle_t *nh)
{
  GHashTableIter iter;
  gpointer value;

  g_hash_table_iter_init (&iter, self->calls);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    if (((SipCall *) value)->nh == nh && !((SipCall *) value)->finished)
      return value;
  return NULL;
}

DtCall *dt_sip_call_get_call (SipCall *sc) { return sc->call; }
DtSipBackend *dt_sip_call_get_backend (SipCall *sc) { return sc->backend; }
nua_handle_t *dt_sip_call_get_handle (SipCall *sc) { return sc->nh; }
