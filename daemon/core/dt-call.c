#include "dt-call.h"

#include <string.h>

#include "dt-enum-types.h"
#include "dt-error.h"

/* A digit's tone, the silence after it, and a ',' pause. rtpdtmfsrc
 * stretches a tone to at least 250 ms whatever it is told, so that is
 * what we ask for over INFO too. */
#define DTMF_TONE_MS   250
#define DTMF_GAP_MS    100
#define DTMF_PAUSE_MS  500

struct _DtCall {
  GObject             parent_instance;

  guint               index;
  DtAccount          *account;
  DtCallDirection     direction;
  char               *remote_uri;
  char               *remote_display_name;
  char               *local_uri;
  DtBackend          *backend;
  DtMediaEngine      *engine;
  DtCallProfile      *profile;

  DtCallState         state;
  DtCallStateReason   state_reason;
  DtCallStateReason   pending_reason;  /* why we are ending it ourselves */
  guint               sip_status;
  char               *sip_reason;
  gint64              created_usec;
  gint64              answered_usec;
  gint64              ended_usec;

  DtMediaSession     *media;
  gboolean            encrypted;   /* SRTP both ways, as negotiated */
  char               *codec;
  gboolean            media_started;
  gboolean            media_stopped;  /* for good: the call is ending */
  gboolean            answering;      /* our answer is out, its ACK not in yet */
  gboolean            remote_telephone_event;
  guint               no_answer_id;
  guint               auto_answer_id;

  gboolean            muted;
  gboolean            local_hold;       /* we hold: asked for, or in force */
  GString            *dtmf_queue;       /* digits still to send */
  guint               dtmf_timer;
  char                dtmf_sounding;    /* the RFC 4733 event under way, or 0 */
  char               *playback_path;
  char               *recording_path;
  guint               conference;       /* id, 0: none */

  DtCallTransferState transfer_state;
  guint               transfer_status;
  DtCall             *transfer_other;   /* weak: the call TransferToCall names */
  DtCall             *referred_call;    /* the call a REFER made us place */
  gboolean            transferred_away; /* a remote hangup now means "transferred" */
};

enum {
  PROP_0,
  PROP_STATE,
  PROP_STATE_REASON,
  PROP_SIP_STATUS,
  PROP_SIP_REASON,
  PROP_ANSWERED_USEC,
  PROP_ENDED_USEC,
  PROP_MEDIA_INFO,
  PROP_MUTED,
  PROP_RECORDING,
  PROP_CONFERENCE,
  PROP_TRANSFER_STATE,
  PROP_TRANSFER_STATUS,
  N_PROPS
};

enum {
  SIGNAL_STATE_CHANGED,
  SIGNAL_DTMF_RECEIVED,
  SIGNAL_PLAYBACK_FINISHED,
  SIGNAL_REFERRED,
  N_SIGNALS
};

static GParamSpec *props[N_PROPS];
static guint signals[N_SIGNALS];

G_DEFINE_FINAL_TYPE (DtCall, dt_call, G_TYPE_OBJECT)

DtCallProfile *
dt_call_profile_copy (const DtCallProfile *profile)
{
  DtCallProfile *copy = g_new0 (DtCallProfile, 1);

  *copy = *profile;
  copy->audio_source = g_strdup (profile->audio_source);
  copy->audio_sink = g_strdup (profile->audio_sink);
  copy->codecs = g_ptr_array_new_with_free_func ((GDestroyNotify) dt_codec_free);
  for (guint i = 0; profile->codecs && i < profile->codecs->len; i++)
    g_ptr_array_add (copy->codecs, dt_codec_copy (profile->codecs->pdata[i]));
  if (profile->path_policy != NULL)
    copy->path_policy = g_object_ref (profile->path_policy);
  return copy;
}

void
dt_call_profile_free (DtCallProfile *profile)
{
  if (profile == NULL)
    return;
  g_free (profile->audio_source);
  g_free (profile->audio_sink);
  g_clear_pointer (&profile->codecs, g_ptr_array_unref);
  g_clear_object (&profile->path_policy);
  g_free (profile);
}

static void
set_state (DtCall            *self,
           DtCallState        state,
           DtCallStateReason  reason)
{
  DtCallState old = self->state;

  if (old == state && self->state_reason == reason)
    return;
  if (old != state && !dt_call_state_can_change (old, state))
    {
      g_warning ("Call %u: ignoring state change %s → %s", self->index,
                 dt_enum_to_nick (DT_TYPE_CALL_STATE, old), dt_enum_to_nick (DT_TYPE_CALL_STATE, state));
      return;
    }
  self->state = state;
  self->state_reason = reason;
  g_object_freeze_notify (G_OBJECT (self));
  g_object_notify_by_pspec (G_OBJECT (self), props[PROP_STATE]);
  g_object_notify_by_pspec (G_OBJECT (self), props[PROP_STATE_REASON]);
  g_object_thaw_notify (G_OBJECT (self));
  g_info ("Call %u: %s → %s (%s)", self->index, dt_enum_to_nick (DT_TYPE_CALL_STATE, old),
          dt_enum_to_nick (DT_TYPE_CALL_STATE, state), dt_enum_to_nick (DT_TYPE_CALL_STATE_REASON, reason));
  if (old != state)
    g_signal_emit (self, signals[SIGNAL_STATE_CHANGED], 0, old, state, reason);
}

static void
set_sip_status (DtCall     *self,
                guint       status,
                const char *reason)
{
  if (status == 0 || (status == self->sip_status && g_strcmp0 (reason, self->sip_reason) == 0))
    return;
  self->sip_status = status;
  g_free (self->sip_reason);
  self->sip_reason = g_strdup (reason);
  g_object_notify_by_pspec (G_OBJECT (self), props[PROP_SIP_STATUS]);
  g_object_notify_by_pspec (G_OBJECT (self), props[PROP_SIP_REASON]);
}

static void
stop_media (DtCall *self)
{
  if (self->media == NULL || self->media_stopped)
    return;
  self->media_stopped = TRUE;
  g_signal_handlers_disconnect_by_data (self->media, self);
  dt_media_session_stop (self->media);
}

static void
end_with (DtCall            *self,
          DtCallStateReason  reason)
{
  g_autoptr(GError) error = NULL;

  if (dt_call_is_ended (self))
    return;
  if (self->pending_reason == DT_CALL_STATE_REASON_NONE)
    self->pending_reason = reason;
  if (self->state == DT_CALL_STATE_INCOMING)
    {
      dt_backend_call_reject (self->backend, self, 480);
      return;
    }
  dt_backend_call_hangup (self->backend, self);
  /* Nothing is said or heard after our BYE or CANCEL. A peer slow to
   * answer it (hundreds of calls ending at once, on a loaded machine)
   * must not keep our media running, and the machine loaded, meanwhile. */
  stop_media (self);
}

static void
on_media_failed (DtMediaSession *media,
                 const char     *message,
                 DtCall         *self)
{
  g_warning ("Call %u: media failed: %s", self->index, message);
  end_with (self, DT_CALL_STATE_REASON_MEDIA_FAILED);
}

static void
on_media_dtmf (DtMediaSession *media,
               const char     *digit,
               DtCall         *self)
{
  dt_call_notify_dtmf (self, digit[0]);
}

static void
on_media_playback_finished (DtMediaSession *media,
                            const char     *path,
                            const char     *reason,
                            DtCall         *self)
{
  g_clear_pointer (&self->playback_path, g_free);
  g_info ("Call %u: playback of %s %s", self->index, path, reason);
  g_signal_emit (self, signals[SIGNAL_PLAYBACK_FINISHED], 0, path, reason);
}

/* Our voice stops when the user mutes and while we hold: a held party
 * must not overhear us. */
static void
apply_mute (DtCall *self)
{
  if (self->media != NULL && self->media_started)
    dt_media_session_set_muted (self->media, self->muted || self->local_hold);
}

static gboolean
ensure_media (DtCall  *self,
              GError **error)
{
  const DtSettings *settings = dt_account_get_settings (self->account);
  DtMediaSessionConfig config = {
    .bind_address = dt_settings_get_string (settings, "local-address"),
    .audio_source = self->profile->audio_source,
    .audio_sink = self->profile->audio_sink,
    .jitter_latency_ms = self->profile->jitter_latency_ms,
    .rtp_timeout_ms = self->profile->rtp_timeout_ms,
    .port_min = self->profile->port_min,
    .port_max = self->profile->port_max,
    .detect_inband_dtmf = dt_settings_get_boolean (settings, "dtmf-detect-inband"),
  };

  if (self->media != NULL)
    return TRUE;
  self->media = dt_media_engine_create_session (self->engine, &config, error);
  if (self->media == NULL)
    return FALSE;
  g_signal_connect (self->media, "failed", G_CALLBACK (on_media_failed), self);
  g_signal_connect (self->media, "dtmf-received", G_CALLBACK (on_media_dtmf), self);
  g_signal_connect (self->media, "playback-finished", G_CALLBACK (on_media_playback_finished), self);
  return TRUE;
}

/* What we can do, for the SDP: our address and port, our codecs. */
static DtMediaDescription *
capabilities (DtCall *self)
{
  DtMediaDescription *desc = dt_media_description_new ();

  desc->address = g_strdup (dt_media_session_get_local_address (self->media));
  desc->port = dt_media_session_get_local_port (self->media);
  desc->rtcp_port = desc->port + 1;
  desc->ptime = self->profile->ptime;
  desc->direction = DT_MEDIA_DIRECTION_SENDRECV;
  /* SDES: a fresh key per call for every suite we offer or may answer. */
  dt_account_describe_encryption (self->account, desc);
  /* What the profile wants, as far as this machine can play it. */
  {
    g_autoptr(GPtrArray) available = dt_media_engine_get_codecs (self->engine);

    for (guint i = 0; i < self->profile->codecs->len; i++)
      for (guint j = 0; j < available->len; j++)
        if (dt_codec_same_format (self->profile->codecs->pdata[i], available->pdata[j]))
          {
            g_ptr_array_add (desc->codecs, dt_codec_copy (self->profile->codecs->pdata[i]));
            break;
          }
  }
  return desc;
}

static gboolean
on_no_answer (gpointer user_data)
{
  DtCall *self = user_data;

  self->no_answer_id = 0;
  g_message ("Call %u: no answer after %u s; hanging up", self->index,
             self->profile->no_answer_timeout_s);
  end_with (self, DT_CALL_STATE_REASON_NO_ANSWER);
  return G_SOURCE_REMOVE;
}

gboolean
dt_call_dial (DtCall  *self,
              GError **error)
{
  g_autoptr(DtMediaDescription) caps = NULL;
  g_autoptr(GError) local_error = NULL;

  g_return_val_if_fail (self->direction == DT_CALL_DIRECTION_OUTGOING, FALSE);

  if (!ensure_media (self, &local_error))
    {
      g_warning ("Call %u: %s", self->index, local_error->message);
      dt_call_notify_ended (self, DT_CALL_STATE_REASON_MEDIA_FAILED, 0, NULL);
      return TRUE;
    }
  caps = capabilities (self);
  if (!dt_backend_call_dial (self->backend, self, caps, error))
    {
      dt_call_notify_ended (self, DT_CALL_STATE_REASON_NETWORK_ERROR, 0, NULL);
      return FALSE;
    }
  if (self->profile->no_answer_timeout_s > 0)
    self->no_answer_id = g_timeout_add_seconds (self->profile->no_answer_timeout_s, on_no_answer, self);
  return TRUE;
}

gboolean
dt_call_answer (DtCall  *self,
                GError **error)
{
  g_autoptr(DtMediaDescription) caps = NULL;
  g_autoptr(GError) local_error = NULL;

  if (self->state != DT_CALL_STATE_INCOMING)
    {
      g_set_error (error, DT_ERROR, DT_ERROR_INVALID_STATE, "only an incoming call can be answered (it is %s)",
                   dt_enum_to_nick (DT_TYPE_CALL_STATE, self->state));
      return FALSE;
    }
  if (self->answering)
    {
      g_set_error_literal (error, DT_ERROR, DT_ERROR_INVALID_STATE, "the call is being answered already");
      return FALSE;
    }
  if (!ensure_media (self, &local_error))
    {
      g_warning ("Call %u: %s", self->index, local_error->message);
      end_with (self, DT_CALL_STATE_REASON_MEDIA_FAILED);
      g_set_error (error, DT_ERROR, DT_ERROR_FAILED, "cannot set up the audio: %s", local_error->message);
      return FALSE;
    }
  caps = capabilities (self);
  /* It stays incoming until the ACK comes (the media starts meanwhile):
   * neither a second answer nor a rejection may follow this one. */
  self->answering = dt_backend_call_answer (self->backend, self, caps, error);
  return self->answering;
}

gboolean
dt_call_reject (DtCall  *self,
                guint    status,
                GError **error)
{
  if (self->state != DT_CALL_STATE_INCOMING)
    {
      g_set_error (error, DT_ERROR, DT_ERROR_INVALID_STATE, "only an incoming call can be rejected (it is %s)",
                   dt_enum_to_nick (DT_TYPE_CALL_STATE, self->state));
      return FALSE;
    }
  if (self->answering)
    {
      g_set_error_literal (error, DT_ERROR, DT_ERROR_INVALID_STATE, "the call is being answered: hang it up instead");
      return FALSE;
    }
  if (status < 400 || status > 699)
    {
      g_set_error (error, DT_ERROR, DT_ERROR_INVALID_ARGUMENTS,
                   "status: %u is not a SIP failure status (400 to 699; 486 busy, 603 decline)", status);
      return FALSE;
    }
  self->pending_reason = DT_CALL_STATE_REASON_REJECTED;
  dt_backend_call_reject (self->backend, self, status);
  return TRUE;
}

gboolean
dt_call_hangup (DtCall  *self,
                GError **error)
{
  if (dt_call_is_ended (self))
    {
      g_set_error_literal (error, DT_ERROR, DT_ERROR_INVALID_STATE, "the call has ended already");
      return FALSE;
    }
  /* Hanging up a ringing incoming call declines it. */
  if (self->state == DT_CALL_STATE_INCOMING)
    return dt_call_reject (self, 603, error);
  end_with (self, DT_CALL_STATE_REASON_LOCAL_HANGUP);
  return TRUE;
}

/* Transfer */

static gboolean
check_transferable (DtCall      *self,
                    const char  *what,
                    GError     **error)
{
  if (self->state != DT_CALL_STATE_ACTIVE && self->state != DT_CALL_STATE_HELD &&
      self->state != DT_CALL_STATE_REMOTE_HELD)
    {
      g_set_error (error, DT_ERROR, DT_ERROR_INVALID_STATE,
                   "%s: only an answered call can be transferred (it is %s)", what,
                   dt_enum_to_nick (DT_TYPE_CALL_STATE, self->state));
      return FALSE;
    }
  return TRUE;
}

static void
set_transfer (DtCall              *self,
              DtCallTransferState  state,
              guint                status)
{
  g_object_freeze_notify (G_OBJECT (self));
  if (state != self->transfer_state)
    {
      g_info ("Call %u: transfer %s → %s (%u)", self->index,
              dt_enum_to_nick (DT_TYPE_CALL_TRANSFER_STATE, self->transfer_state),
              dt_enum_to_nick (DT_TYPE_CALL_TRANSFER_STATE, state), status);
      self->transfer_state = state;
      g_object_notify_by_pspec (G_OBJECT (self), props[PROP_TRANSFER_STATE]);
    }
  if (status != 0 && status != self->transfer_status)
    {
      self->transfer_status = status;
      g_object_notify_by_pspec (G_OBJECT (self), props[PROP_TRANSFER_STATUS]);
    }
  g_object_thaw_notify (G_OBJECT (self));
}

static gboolean
start_transfer (DtCall      *self,
                const char  *uri,
                DtCall      *other,
                GError     **error)
{
  if (self->transfer_state == DT_CALL_TRANSFER_STATE_TRYING ||
      self->transfer_state == DT_CALL_TRANSFER_STATE_ACCEPTED)
    {
      g_set_error_literal (error, DT_ERROR, DT_ERROR_IN_PROGRESS, "a transfer of this call is under way");
      return FALSE;
    }
  if (!dt_backend_call_transfer (self->backend, self, uri, other, error))
    return FALSE;
  self->transfer_status = 0;
  set_transfer (self, DT_CALL_TRANSFER_STATE_TRYING, 0);
  g_set_weak_pointer (&self->transfer_other, other);
  /* Its party will hang up on us once it is connected to ours. */
  if (other != NULL)
    other->transferred_away = TRUE;
  g_message ("Call %u: transferring to %s", self->index, uri);
  return TRUE;
}

gboolean
dt_call_transfer (DtCall      *self,
                  const char  *uri,
                  GError     **error)
{
  g_autoptr(GError) uri_error = NULL;

  if (!check_transferable (self, "call", error) || (uri != NULL && !dt_text_check ("uri", uri, error)))
    return FALSE;
  if (uri == NULL || !(g_str_has_prefix (uri, "sip:") || g_str_has_prefix (uri, "sips:")) ||
      !dt_backend_check_uri (self->backend, uri, &uri_error))
    {
      g_set_error (error, DT_ERROR, DT_ERROR_INVALID_ARGUMENTS, "uri: '%s' is not a SIP URI%s%s",
                   uri ? uri : "", uri_error ? ": " : "", uri_error ? uri_error->message : "");
      return FALSE;
    }
  return start_transfer (self, uri, NULL, error);
}

gboolean
dt_call_transfer_to_call (DtCall      *self,
                          DtCall      *other,
                          GError     **error)
{
  if (other == self)
    {
      g_set_error_literal (error, DT_ERROR, DT_ERROR_INVALID_STATE,
                           "other: a call cannot be transferred to itself");
      return FALSE;
    }
  if (!check_transferable (self, "call", error) || !check_transferable (other, "other", error))
    return FALSE;
  return start_transfer (self, other->remote_uri, other, error);
}

void
dt_call_notify_transfer (DtCall              *self,
                         DtCallTransferState  state,
                         guint                sip_status)
{
  /* NOTIFYs may trail after success: the first final word stands. */
  if (dt_call_is_ended (self) || self->transfer_state == DT_CALL_TRANSFER_STATE_SUCCEEDED ||
      self->transfer_state == DT_CALL_TRANSFER_STATE_FAILED)
    return;
  set_transfer (self, state, sip_status);
  if (state == DT_CALL_TRANSFER_STATE_FAILED)
    {
      g_message ("Call %u: transfer failed (%u); the call carries on", self->index, sip_status);
      if (self->transfer_other != NULL)
        self->transfer_other->transferred_away = FALSE;
      g_clear_weak_pointer (&self->transfer_other);
    }
  else if (state == DT_CALL_TRANSFER_STATE_SUCCEEDED)
    {
      g_clear_weak_pointer (&self->transfer_other);
      end_with (self, DT_CALL_STATE_REASON_TRANSFERRED);
    }
}

static void
on_referred_call_state (DtCall            *referred,
                        DtCallState        old_state,
                        DtCallState        new_state,
                        DtCallStateReason  reason,
                        DtCall            *self)
{
  if (new_state == DT_CALL_STATE_ACTIVE)
    {
      g_message ("Call %u: replaced by call %u", self->index, referred->index);
      end_with (self, DT_CALL_STATE_REASON_TRANSFERRED);
    }
  else if (new_state == DT_CALL_STATE_TERMINATED && referred->answered_usec == 0)
    self->transferred_away = FALSE;
  else
    return;
  g_signal_handlers_disconnect_by_data (referred, self);
}

/* The other party asks us to call @target_uri (a REFER): the new call
 * takes our endpoints, and this one ends once it is answered. */
DtCall *
dt_call_notify_referred (DtCall      *self,
                         const char  *target_uri,
                         GError     **error)
{
  GObject *placed = NULL;

  if (!check_transferable (self, "call", error))
    return NULL;
  if (self->referred_call != NULL && !dt_call_is_ended (self->referred_call))
    {
      g_set_error_literal (error, DT_ERROR, DT_ERROR_IN_PROGRESS, "a referred call is under way");
      return NULL;
    }
  g_signal_emit (self, signals[SIGNAL_REFERRED], 0, target_uri, &placed);
  if (placed == NULL)
    {
      g_set_error (error, DT_ERROR, DT_ERROR_FAILED, "cannot call %s", target_uri);
      return NULL;
    }
  if (self->referred_call != NULL)
    g_signal_handlers_disconnect_by_data (self->referred_call, self);
  g_clear_object (&self->referred_call);
  self->referred_call = DT_CALL (placed);
  if (dt_call_is_ended (self->referred_call))
    return self->referred_call;
  self->transferred_away = TRUE;
  g_signal_connect (self->referred_call, "state-changed", G_CALLBACK (on_referred_call_state), self);
  return self->referred_call;
}

/* An INVITE with Replaces naming @replaced: this new incoming call takes
 * its place (and its endpoints) without ringing. */
gboolean
dt_call_notify_replacing (DtCall      *self,
                          DtCall      *replaced,
                          GError     **error)
{
  if (self->state != DT_CALL_STATE_INCOMING)
    {
      g_set_error_literal (error, DT_ERROR, DT_ERROR_INVALID_STATE, "only a new call can replace another");
      return FALSE;
    }
  if (dt_call_is_ended (replaced))
    {
      g_set_error (error, DT_ERROR, DT_ERROR_INVALID_STATE, "call %u has ended", replaced->index);
      return FALSE;
    }
  dt_call_set_endpoints (self, replaced->profile->audio_source, dt_call_get_inheritable_sink (replaced));
  if (!dt_call_answer (self, error))
    return FALSE;
  g_message ("Call %u: replaces call %u", self->index, replaced->index);
  end_with (replaced, DT_CALL_STATE_REASON_TRANSFERRED);
  return TRUE;
}

DtCallTransferState dt_call_get_transfer_state (DtCall *self) { return self->transfer_state; }
guint dt_call_get_transfer_status (DtCall *self) { return self->transfer_status; }
const char *dt_call_get_audio_source (DtCall *self) { return self->profile->audio_source; }
const char *dt_call_get_audio_sink (DtCall *self) { return self->profile->audio_sink; }

/* The sink a call that takes this one's place (Replaces, REFER) may use
 * too: a sound card, yes; a file, no (two pipelines writing one WAV
 * corrupt it: the old call's header is rewritten as it ends). NULL:
 * keep the default. */
const char *
dt_call_get_inheritable_sink (DtCall *self)
{
  const char *sink = self->profile->audio_sink;

  return sink != NULL && g_str_has_prefix (sink, "file:") ? NULL : sink;
}

void
dt_call_end_for_shutdown (DtCall *self)
{
  end_with (self, DT_CALL_STATE_REASON_SHUTDOWN);
}

void
dt_call_notify_progress (DtCall     *self,
                         guint       sip_status,
                         const char *sip_reason)
{
  if (dt_call_is_ended (self))
    return;
  set_sip_status (self, sip_status, sip_reason);
  if (self->state == DT_CALL_STATE_DIALING && sip_status >= 180 && sip_status < 200)
    set_state (self, DT_CALL_STATE_RINGING_OUT, DT_CALL_STATE_REASON_NONE);
}

static void
update_media_info (DtCall *self)
{
  g_object_notify_by_pspec (G_OBJECT (self), props[PROP_MEDIA_INFO]);
}

/* Both sides' descriptions, new or changed (answer, early media, a
 * re-INVITE). The remote holding us shows in what it is willing to
 * receive. */
void
dt_call_notify_media (DtCall                   *self,
                      const DtMediaDescription *local,
                      const DtMediaDescription *remote)
{
  g_autoptr(GError) error = NULL;
  const DtCodec *codec = dt_media_description_audio_codec (remote);

  if (dt_call_is_ended (self) || self->media == NULL || self->media_stopped)
    return;
  if (!dt_media_session_start (self->media, local, remote, &error))
    {
      g_warning ("Call %u: cannot start the audio: %s", self->index, error->message);
      end_with (self, DT_CALL_STATE_REASON_MEDIA_FAILED);
      return;
    }
  self->media_started = TRUE;
  self->remote_telephone_event = dt_media_description_dtmf_codec (remote) != NULL;
  self->encrypted = dt_media_description_crypto (local) != NULL && dt_media_description_crypto (remote) != NULL;
  apply_mute (self);
  if (codec != NULL)
    {
      g_free (self->codec);
      self->codec = dt_codec_to_string (codec);
    }
  update_media_info (self);

  switch (self->state)
    {
    case DT_CALL_STATE_DIALING:
    case DT_CALL_STATE_RINGING_OUT:
      set_state (self, DT_CALL_STATE_EARLY_MEDIA, DT_CALL_STATE_REASON_NONE);
      break;
    case DT_CALL_STATE_ACTIVE:
    case DT_CALL_STATE_HELD:
    case DT_CALL_STATE_REMOTE_HELD:
      /* Our hold shows first: it is the one the user can undo. */
      if (self->local_hold)
        set_state (self, DT_CALL_STATE_HELD, DT_CALL_STATE_REASON_NONE);
      else if (!DT_MEDIA_DIRECTION_RECEIVES (remote->direction))
        set_state (self, DT_CALL_STATE_REMOTE_HELD, DT_CALL_STATE_REASON_NONE);
      else
        set_state (self, DT_CALL_STATE_ACTIVE, DT_CALL_STATE_REASON_NONE);
      break;
    default:
      break;
    }
}

void
dt_call_notify_answered (DtCall *self)
{
  if (dt_call_is_ended (self) || self->answered_usec != 0)
    return;
  g_clear_handle_id (&self->no_answer_id, g_source_remove);
  self->answered_usec = g_get_real_time ();
  g_object_notify_by_pspec (G_OBJECT (self), props[PROP_ANSWERED_USEC]);
  set_sip_status (self, 200, "OK");
  set_state (self, DT_CALL_STATE_ACTIVE, DT_CALL_STATE_REASON_NONE);
}

void
dt_call_notify_ended (DtCall            *self,
                      DtCallStateReason  reason,
                      guint              sip_status,
                      const char        *sip_reason)
{
  if (dt_call_is_ended (self))
    return;
  g_clear_handle_id (&self->no_answer_id, g_source_remove);
  g_clear_handle_id (&self->auto_answer_id, g_source_remove);
  g_clear_handle_id (&self->dtmf_timer, g_source_remove);
  /* Our own reason for ending (no answer, media failure, rejection) beats
   * the signalling's view of it (we sent CANCEL or BYE). */
  if (self->pending_reason != DT_CALL_STATE_REASON_NONE)
    reason = self->pending_reason;
  else if (reason == DT_CALL_STATE_REASON_REMOTE_HANGUP && self->transferred_away)
    reason = DT_CALL_STATE_REASON_TRANSFERRED;

  stop_media (self);
  g_object_freeze_notify (G_OBJECT (self));
  set_sip_status (self, sip_status, sip_reason);
  self->ended_usec = g_get_real_time ();
  g_object_notify_by_pspec (G_OBJECT (self), props[PROP_ENDED_USEC]);
  g_object_thaw_notify (G_OBJECT (self));
  set_state (self, DT_CALL_STATE_TERMINATED, reason);
  if (self->playback_path != NULL)
    {
      g_autofree char *path = g_steal_pointer (&self->playback_path);

      g_signal_emit (self, signals[SIGNAL_PLAYBACK_FINISHED], 0, path, "stopped");
    }
  if (self->recording_path != NULL)
    {
      g_clear_pointer (&self->recording_path, g_free);
      g_object_notify_by_pspec (G_OBJECT (self), props[PROP_RECORDING]);
    }
}

void
dt_call_set_endpoints (DtCall     *self,
                       const char *audio_source,
                       const char *audio_sink)
{
  if (audio_source != NULL)
    {
      g_free (self->profile->audio_source);
      self->profile->audio_source = g_strdup (audio_source);
    }
  if (audio_sink != NULL)
    {
      g_free (self->profile->audio_sink);
      self->profile->audio_sink = g_strdup (audio_sink);
    }
}

/* Call control */

static gboolean
in_conversation (DtCall *self)
{
  return self->state == DT_CALL_STATE_ACTIVE || self->state == DT_CALL_STATE_HELD ||
         self->state == DT_CALL_STATE_REMOTE_HELD;
}

static gboolean
require_conversation (DtCall      *self,
                      const char  *what,
                      GError     **error)
{
  if (self->media_stopped && !dt_call_is_ended (self))
    {
      g_set_error (error, DT_ERROR, DT_ERROR_INVALID_STATE, "%s: the call is ending", what);
      return FALSE;
    }
  if (in_conversation (self) && self->media != NULL && self->media_started)
    return TRUE;
  g_set_error (error, DT_ERROR, DT_ERROR_INVALID_STATE, "%s needs an answered call (it is %s)", what,
               dt_enum_to_nick (DT_TYPE_CALL_STATE, self->state));
  return FALSE;
}

static gboolean
set_local_hold (DtCall    *self,
                gboolean   hold,
                GError   **error)
{
  /* RFC 6337: sendonly to hold; the answer says whether they hold too. */
  DtMediaDirection direction = hold ? DT_MEDIA_DIRECTION_SENDONLY : DT_MEDIA_DIRECTION_SENDRECV;

  self->local_hold = hold;
  if (!dt_backend_call_reoffer (self->backend, self, direction, error))
    {
      self->local_hold = !hold;
      return FALSE;
    }
  apply_mute (self);
  return TRUE;
}

gboolean
dt_call_hold (DtCall  *self,
              GError **error)
{
  if (!require_conversation (self, "hold", error))
    return FALSE;
  if (self->local_hold)
    {
      g_set_error_literal (error, DT_ERROR, DT_ERROR_INVALID_STATE, "the call is on hold already");
      return FALSE;
    }
  g_info ("Call %u: holding", self->index);
  return set_local_hold (self, TRUE, error);
}

gboolean
dt_call_resume (DtCall  *self,
                GError **error)
{
  if (!require_conversation (self, "resume", error))
    return FALSE;
  if (!self->local_hold)
    {
      g_set_error_literal (error, DT_ERROR, DT_ERROR_INVALID_STATE, "the call is not on hold");
      return FALSE;
    }
  g_info ("Call %u: resuming", self->index);
  return set_local_hold (self, FALSE, error);
}

gboolean
dt_call_is_held_locally (DtCall *self)
{
  return self->local_hold;
}

/* The remote refused our new offer: the call stays as it was. */
void
dt_call_notify_reoffer_failed (DtCall     *self,
                               guint       sip_status,
                               const char *sip_reason)
{
  if (dt_call_is_ended (self))
    return;
  g_warning ("Call %u: the remote refused to %s the call: %u %s", self->index,
             self->local_hold ? "hold" : "resume", sip_status, sip_reason ? sip_reason : "");
  self->local_hold = self->state == DT_CALL_STATE_HELD;
  apply_mute (self);
}

gboolean
dt_call_get_muted (DtCall *self)
{
  return self->muted;
}

void
dt_call_set_muted (DtCall   *self,
                   gboolean  muted)
{
  if (self->muted == !!muted)
    return;
  self->muted = !!muted;
  g_info ("Call %u: %s", self->index, muted ? "muted" : "unmuted");
  apply_mute (self);
  g_object_notify_by_pspec (G_OBJECT (self), props[PROP_MUTED]);
}

/* DTMF: one digit at a time, each a tone then a gap, so that the far end
 * sees every digit however fast they were asked for. */

static gboolean send_next_dtmf (gpointer user_data);

static gboolean
end_dtmf_tone (gpointer user_data)
{
  DtCall *self = user_data;

  if (self->dtmf_sounding != 0 && self->media != NULL)
    dt_media_session_send_dtmf (self->media, self->dtmf_sounding, FALSE);
  self->dtmf_sounding = 0;
  self->dtmf_timer = g_timeout_add (DTMF_GAP_MS, send_next_dtmf, self);
  return G_SOURCE_REMOVE;
}

static gboolean
send_next_dtmf (gpointer user_data)
{
  DtCall *self = user_data;
  const char *mode = dt_settings_get_string (dt_account_get_settings (self->account), "dtmf-mode");
  g_autoptr(GError) error = NULL;
  char digit;

  self->dtmf_timer = 0;
  if (self->dtmf_queue == NULL || self->dtmf_queue->len == 0 || !in_conversation (self))
    return G_SOURCE_REMOVE;
  digit = self->dtmf_queue->str[0];
  g_string_erase (self->dtmf_queue, 0, 1);
  if (digit == ',')
    {
      self->dtmf_timer = g_timeout_add (DTMF_PAUSE_MS, send_next_dtmf, self);
      return G_SOURCE_REMOVE;
    }
  /* RFC 4733 when the remote takes it, SIP INFO otherwise or when the
   * account says so. */
  if (g_strcmp0 (mode, "info") != 0 && self->remote_telephone_event &&
      dt_media_session_send_dtmf (self->media, digit, TRUE))
    {
      g_debug ("Call %u: DTMF %c (RFC 4733)", self->index, digit);
      self->dtmf_sounding = digit;
      self->dtmf_timer = g_timeout_add (DTMF_TONE_MS, end_dtmf_tone, self);
      return G_SOURCE_REMOVE;
    }
  g_debug ("Call %u: DTMF %c (SIP INFO)", self->index, digit);
  if (!dt_backend_call_send_dtmf_info (self->backend, self, digit, DTMF_TONE_MS, &error))
    g_warning ("Call %u: cannot send DTMF %c: %s", self->index, digit, error->message);
  self->dtmf_timer = g_timeout_add (DTMF_TONE_MS + DTMF_GAP_MS, send_next_dtmf, self);
  return G_SOURCE_REMOVE;
}

gboolean
dt_call_send_dtmf (DtCall      *self,
                   const char  *digits,
                   GError     **error)
{
  if (digits == NULL || *digits == '\0')
    {
      g_set_error_literal (error, DT_ERROR, DT_ERROR_INVALID_ARGUMENTS, "digits: empty");
      return FALSE;
    }
  for (const char *p = digits; *p; p++)
    if (!strchr ("0123456789*#ABCDabcd,", *p))
      {
        g_set_error (error, DT_ERROR, DT_ERROR_INVALID_ARGUMENTS,
                     "digits: '%c' is not a DTMF digit (0-9 * # A-D, ',' for a pause)", *p);
        return FALSE;
      }
  if (strlen (digits) > 256)
    {
      g_set_error_literal (error, DT_ERROR, DT_ERROR_INVALID_ARGUMENTS, "digits: more than 256");
      return FALSE;
    }
  if (!require_conversation (self, "sending DTMF", error))
    return FALSE;
  if (self->dtmf_queue == NULL)
    self->dtmf_queue = g_string_new (NULL);
  for (const char *p = digits; *p; p++)
    g_string_append_c (self->dtmf_queue, g_ascii_toupper (*p));
  if (self->dtmf_timer == 0)
    send_next_dtmf (self);
  return TRUE;
}

void
dt_call_notify_dtmf (DtCall *self,
                     char    digit)
{
  char text[2] = { g_ascii_toupper (digit), 0 };

  if (dt_call_is_ended (self) || !strchr ("0123456789*#ABCD", text[0]) || text[0] == 0)
    return;
  g_info ("Call %u: DTMF %s received", self->index, text);
  g_signal_emit (self, signals[SIGNAL_DTMF_RECEIVED], 0, text);
}

/* Files */

/* The file to open, as the profile's path policy allows it (resolved when
 * it is restricted), or NULL. */
static char *
check_path (DtCall       *self,
            const char   *path,
            DtPathAccess  access,
            GError      **error)
{
  g_autoptr(DtPathPolicy) any = NULL;
  DtPathPolicy *policy = self->profile->path_policy;

  if (policy == NULL)
    policy = any = dt_path_policy_new ();
  return dt_path_policy_check (policy, "path", path, access, error);
}

static const DtSettingSpec playback_option_specs[] = {
  { .key = "loop", .kind = DT_SETTING_BOOLEAN, .default_value = "false" },
  { .key = "mix", .kind = DT_SETTING_BOOLEAN, .default_value = "false" },
  { NULL }
};

static const char * const recording_formats[] = { "wav", "ogg", NULL };
static const char * const recording_channels[] = { "mixed", "split", NULL };

/* "format" has no default: it follows the file name. */
static const DtSettingSpec recording_option_specs[] = {
  { .key = "format", .kind = DT_SETTING_CHOICE, .choices = recording_formats },
  { .key = "channels", .kind = DT_SETTING_CHOICE, .default_value = "mixed", .choices = recording_channels },
  { NULL }
};

/* Options a{sv} checked against @specs (unknown keys, types and values are
 * InvalidArguments naming the key), or NULL. */
static DtSettings *
parse_options (const DtSettingSpec  *specs,
               GVariant             *options,
               GError              **error)
{
  g_autoptr(DtSettings) parsed = dt_settings_new (specs);

  /* @options is not floating (D-Bus arguments): update_vardict borrows it. */
  if (options != NULL && !dt_settings_update_vardict (parsed, options, error))
    return NULL;
  return g_steal_pointer (&parsed);
}

gboolean
dt_call_play_file (DtCall      *self,
                   const char  *path,
                   GVariant    *options,
                   GError     **error)
{
  g_autoptr(DtSettings) parsed = parse_options (playback_option_specs, options, error);
  g_autofree char *checked = NULL;
  gboolean loop, mix;

  if (parsed == NULL || (checked = check_path (self, path, DT_PATH_ACCESS_READ, error)) == NULL ||
      !require_conversation (self, "playing a file", error))
    return FALSE;
  path = checked;
  loop = dt_settings_get_boolean (parsed, "loop");
  mix = dt_settings_get_boolean (parsed, "mix");
  if (!dt_media_session_play_file (self->media, path, loop, mix, error))
    return FALSE;
  g_free (self->playback_path);
  self->playback_path = g_strdup (path);
  g_info ("Call %u: playing %s%s%s", self->index, path, loop ? ", looped" : "", mix ? ", mixed" : "");
  return TRUE;
}

gboolean
dt_call_stop_playback (DtCall  *self,
                       GError **error)
{
  if (self->playback_path == NULL)
    {
      g_set_error_literal (error, DT_ERROR, DT_ERROR_INVALID_STATE, "no file is playing");
      return FALSE;
    }
  dt_media_session_stop_playback (self->media);
  return TRUE;
}

gboolean
dt_call_start_recording (DtCall      *self,
                         const char  *path,
                         GVariant    *options,
                         GError     **error)
{
  g_autoptr(DtSettings) parsed = parse_options (recording_option_specs, options, error);
  g_autofree char *checked = NULL;
  DtRecordingOptions recording = { 0 };
  const char *format;

  if (parsed == NULL || (checked = check_path (self, path, DT_PATH_ACCESS_WRITE, error)) == NULL ||
      !require_conversation (self, "recording", error))
    return FALSE;
  path = checked;
  format = dt_settings_get_string (parsed, "format");
  if (format == NULL)
    format = g_str_has_suffix (path, ".ogg") || g_str_has_suffix (path, ".opus") ? "ogg" : "wav";
  recording.format = g_str_equal (format, "ogg") ? DT_RECORDING_FORMAT_OGG_OPUS : DT_RECORDING_FORMAT_WAV;
  recording.split = g_str_equal (dt_settings_get_string (parsed, "channels"), "split");
  if (!dt_media_session_start_recording (self->media, path, &recording, error))
    return FALSE;
  g_free (self->recording_path);
  self->recording_path = g_strdup (path);
  g_info ("Call %u: recording to %s", self->index, path);
  g_object_notify_by_pspec (G_OBJECT (self), props[PROP_RECORDING]);
  return TRUE;
}

gboolean
dt_call_stop_recording (DtCall  *self,
                        GError **error)
{
  if (self->recording_path == NULL)
    {
      g_set_error_literal (error, DT_ERROR, DT_ERROR_INVALID_STATE, "the call is not being recorded");
      return FALSE;
    }
  dt_media_session_stop_recording (self->media);
  g_clear_pointer (&self->recording_path, g_free);
  g_object_notify_by_pspec (G_OBJECT (self), props[PROP_RECORDING]);
  return TRUE;
}

const char *
dt_call_get_recording (DtCall *self)
{
  return self->recording_path ? self->recording_path : "";
}

/* Local conference: the manager pairs the calls, each call carries its
 * side of a pair's channel. */

gboolean
dt_call_can_confer (DtCall  *self,
                    GError **error)
{
  return require_conversation (self, "a conference", error);
}

gboolean
dt_call_conference_send (DtCall      *self,
                         const char  *channel,
                         GError     **error)
{
  return require_conversation (self, "a conference", error) &&
         dt_media_session_conference_send (self->media, channel, error);
}

gboolean
dt_call_conference_receive (DtCall      *self,
                            const char  *channel,
                            GError     **error)
{
  return require_conversation (self, "a conference", error) &&
         dt_media_session_conference_receive (self->media, channel, error);
}

void
dt_call_conference_drop (DtCall     *self,
                         const char *channel)
{
  if (self->media != NULL)
    dt_media_session_conference_drop (self->media, channel);
}

guint
dt_call_get_conference (DtCall *self)
{
  return self->conference;
}

void
dt_call_set_conference (DtCall *self,
                        guint   conference)
{
  if (self->conference == conference)
    return;
  self->conference = conference;
  g_object_notify_by_pspec (G_OBJECT (self), props[PROP_CONFERENCE]);
}

/* Auto-answer */

static gboolean
on_auto_answer (gpointer user_data)
{
  DtCall *self = user_data;
  g_autoptr(GError) error = NULL;

  self->auto_answer_id = 0;
  if (self->state != DT_CALL_STATE_INCOMING)
    return G_SOURCE_REMOVE;
  g_message ("Call %u: answering automatically", self->index);
  if (!dt_call_answer (self, &error))
    g_warning ("Call %u: cannot answer automatically: %s", self->index, error->message);
  return G_SOURCE_REMOVE;
}

/* The earliest request wins: an account's delay or the caller's. Always
 * from the main loop, after the backend has taken the call; without a
 * delay at the default priority (after Sofia's source, so the 180 still
 * leaves first), not at idle priority, where whatever else is ready
 * (another call's media, D-Bus) would hold the answer back. */
void
dt_call_schedule_auto_answer (DtCall *self,
                              guint   delay_s)
{
  if (self->state != DT_CALL_STATE_INCOMING)
    return;
  g_clear_handle_id (&self->auto_answer_id, g_source_remove);
  g_info ("Call %u: will answer automatically in %u s", self->index, delay_s);
  self->auto_answer_id = delay_s == 0 ? g_idle_add_full (G_PRIORITY_DEFAULT, on_auto_answer, self, NULL)
                                      : g_timeout_add (delay_s * 1000, on_auto_answer, self);
}

/* The caller asked to be answered (Call-Info answer-after, Answer-Mode:
 * Auto): honoured only where the account allows it. */
void
dt_call_notify_answer_requested (DtCall *self,
                                 guint   delay_s)
{
  const DtSettings *settings = dt_account_get_settings (self->account);

  if (!dt_settings_get_boolean (settings, "auto-answer-on-request"))
    {
      g_info ("Call %u: the caller asks to be answered automatically; the account does not allow it",
              self->index);
      return;
    }
  if (self->auto_answer_id == 0)
    dt_call_schedule_auto_answer (self, delay_s);
}

/* Do-not-disturb: turned away busy, kept in the history as missed. */
void
dt_call_refuse_busy (DtCall *self)
{
  self->pending_reason = DT_CALL_STATE_REASON_DO_NOT_DISTURB;
  dt_backend_call_reject (self->backend, self, 486);
}

guint dt_call_get_index (DtCall *self) { return self->index; }
DtAccount *dt_call_get_account (DtCall *self) { return self->account; }
DtCallDirection dt_call_get_direction (DtCall *self) { return self->direction; }
const char *dt_call_get_remote_uri (DtCall *self) { return self->remote_uri; }
const char *dt_call_get_remote_display_name (DtCall *self) { return self->remote_display_name ? self->remote_display_name : ""; }
const char *dt_call_get_local_uri (DtCall *self) { return self->local_uri ? self->local_uri : ""; }
DtCallState dt_call_get_state (DtCall *self) { return self->state; }
DtCallStateReason dt_call_get_state_reason (DtCall *self) { return self->state_reason; }
guint dt_call_get_sip_status (DtCall *self) { return self->sip_status; }
const char *dt_call_get_sip_reason (DtCall *self) { return self->sip_reason ? self->sip_reason : ""; }
gint64 dt_call_get_created_usec (DtCall *self) { return self->created_usec; }
gint64 dt_call_get_answered_usec (DtCall *self) { return self->answered_usec; }
gint64 dt_call_get_ended_usec (DtCall *self) { return self->ended_usec; }
const char *dt_call_get_codec (DtCall *self) { return self->codec; }
gboolean dt_call_is_ended (DtCall *self) { return self->state == DT_CALL_STATE_TERMINATED; }
gboolean dt_call_get_encrypted (DtCall *self) { return self->encrypted; }

/* a{sv} for Call.Media: empty until the audio runs. */
GVariant *
dt_call_get_media_info (DtCall *self)
{
  if (self->media == NULL || !self->media_started)
    return g_variant_new ("a{sv}", NULL);
  return dt_media_session_get_info (self->media);
}

/* a{sv} for Call.Statistics, read from the media session when asked:
 * empty while no audio runs (before media, after the end). */
GVariant *
dt_call_get_statistics (DtCall *self)
{
  DtMediaStatistics stats;
  GVariantBuilder b;

  g_variant_builder_init (&b, G_VARIANT_TYPE_VARDICT);
  if (self->media != NULL && self->media_started && !dt_call_is_ended (self) &&
      dt_media_session_get_statistics (self->media, &stats))
    {
      g_variant_builder_add (&b, "{sv}", "packets-sent", g_variant_new_uint64 (stats.packets_sent));
      g_variant_builder_add (&b, "{sv}", "packets-received", g_variant_new_uint64 (stats.packets_received));
      g_variant_builder_add (&b, "{sv}", "packets-lost", g_variant_new_uint64 (stats.packets_lost));
      g_variant_builder_add (&b, "{sv}", "packets-late", g_variant_new_uint64 (stats.packets_late));
      g_variant_builder_add (&b, "{sv}", "jitter-ms", g_variant_new_double (stats.jitter_ms));
      if (stats.rtt_ms >= 0)
        g_variant_builder_add (&b, "{sv}", "rtt-ms", g_variant_new_double (stats.rtt_ms));
    }
  return g_variant_builder_end (&b);
}

static void
dt_call_get_property (GObject    *object,
                      guint       prop_id,
                      GValue     *value,
                      GParamSpec *pspec)
{
  DtCall *self = DT_CALL (object);

  switch (prop_id)
    {
    case PROP_STATE:
      g_value_set_enum (value, self->state);
      break;
    case PROP_STATE_REASON:
      g_value_set_enum (value, self->state_reason);
      break;
    case PROP_SIP_STATUS:
      g_value_set_uint (value, self->sip_status);
      break;
    case PROP_SIP_REASON:
      g_value_set_string (value, dt_call_get_sip_reason (self));
      break;
    case PROP_ANSWERED_USEC:
      g_value_set_int64 (value, self->answered_usec);
      break;
    case PROP_ENDED_USEC:
      g_value_set_int64 (value, self->ended_usec);
      break;
    case PROP_MEDIA_INFO:
      g_value_take_variant (value, g_variant_ref_sink (dt_call_get_media_info (self)));
      break;
    case PROP_MUTED:
      g_value_set_boolean (value, self->muted);
      break;
    case PROP_RECORDING:
      g_value_set_string (value, dt_call_get_recording (self));
      break;
    case PROP_CONFERENCE:
      g_value_set_uint (value, self->conference);
      break;
    case PROP_TRANSFER_STATE:
      g_value_set_enum (value, self->transfer_state);
      break;
    case PROP_TRANSFER_STATUS:
      g_value_set_uint (value, self->transfer_status);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
dt_call_dispose (GObject *object)
{
  DtCall *self = DT_CALL (object);

  g_clear_handle_id (&self->no_answer_id, g_source_remove);
  g_clear_handle_id (&self->auto_answer_id, g_source_remove);
  g_clear_handle_id (&self->dtmf_timer, g_source_remove);
  g_clear_weak_pointer (&self->transfer_other);
  if (self->referred_call != NULL)
    {
      g_signal_handlers_disconnect_by_data (self->referred_call, self);
      g_clear_object (&self->referred_call);
    }
  if (self->media != NULL)
    {
      g_signal_handlers_disconnect_by_data (self->media, self);
      if (!dt_call_is_ended (self))
        dt_media_session_stop (self->media);
      g_clear_object (&self->media);
    }
  g_clear_object (&self->account);
  g_clear_object (&self->backend);
  g_clear_object (&self->engine);
  G_OBJECT_CLASS (dt_call_parent_class)->dispose (object);
}

static void
dt_call_finalize (GObject *object)
{
  DtCall *self = DT_CALL (object);

  g_free (self->remote_uri);
  g_free (self->remote_display_name);
  g_free (self->local_uri);
  g_free (self->sip_reason);
  g_free (self->codec);
  g_free (self->playback_path);
  g_free (self->recording_path);
  if (self->dtmf_queue)
    g_string_free (self->dtmf_queue, TRUE);
  dt_call_profile_free (self->profile);
  G_OBJECT_CLASS (dt_call_parent_class)->finalize (object);
}

static void
dt_call_class_init (DtCallClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GParamFlags flags = G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS;

  object_class->get_property = dt_call_get_property;
  object_class->dispose = dt_call_dispose;
  object_class->finalize = dt_call_finalize;

  props[PROP_STATE] = g_param_spec_enum ("state", NULL, NULL, DT_TYPE_CALL_STATE,
                                         DT_CALL_STATE_DIALING, flags);
  props[PROP_STATE_REASON] = g_param_spec_enum ("state-reason", NULL, NULL, DT_TYPE_CALL_STATE_REASON,
                                                DT_CALL_STATE_REASON_NONE, flags);
  props[PROP_SIP_STATUS] = g_param_spec_uint ("sip-status", NULL, NULL, 0, 999, 0, flags);
  props[PROP_SIP_REASON] = g_param_spec_string ("sip-reason", NULL, NULL, NULL, flags);
  props[PROP_ANSWERED_USEC] = g_param_spec_int64 ("answered-usec", NULL, NULL, 0, G_MAXINT64, 0, flags);
  props[PROP_ENDED_USEC] = g_param_spec_int64 ("ended-usec", NULL, NULL, 0, G_MAXINT64, 0, flags);
  props[PROP_MEDIA_INFO] = g_param_spec_variant ("media-info", NULL, NULL, G_VARIANT_TYPE_VARDICT,
                                                 NULL, flags);
  props[PROP_MUTED] = g_param_spec_boolean ("muted", NULL, NULL, FALSE, flags);
  props[PROP_RECORDING] = g_param_spec_string ("recording", NULL, NULL, NULL, flags);
  props[PROP_CONFERENCE] = g_param_spec_uint ("conference", NULL, NULL, 0, G_MAXUINT, 0, flags);
  props[PROP_TRANSFER_STATE] = g_param_spec_enum ("transfer-state", NULL, NULL, DT_TYPE_CALL_TRANSFER_STATE,
                                                  DT_CALL_TRANSFER_STATE_NONE, flags);
  props[PROP_TRANSFER_STATUS] = g_param_spec_uint ("transfer-status", NULL, NULL, 0, 999, 0, flags);
  g_object_class_install_properties (object_class, N_PROPS, props);

  /* (digit) */
  signals[SIGNAL_DTMF_RECEIVED] =
    g_signal_new ("dtmf-received", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                  NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_STRING);
  /* (path, reason) */
  signals[SIGNAL_PLAYBACK_FINISHED] =
    g_signal_new ("playback-finished", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                  NULL, NULL, NULL, G_TYPE_NONE, 2, G_TYPE_STRING, G_TYPE_STRING);

  /* (old, new, reason) */
  signals[SIGNAL_STATE_CHANGED] =
    g_signal_new ("state-changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                  NULL, NULL, NULL, G_TYPE_NONE, 3, DT_TYPE_CALL_STATE, DT_TYPE_CALL_STATE,
                  DT_TYPE_CALL_STATE_REASON);
  /* (target URI) → the new DtCall placed for it, or NULL; the handler
   * returns a new reference. */
  signals[SIGNAL_REFERRED] =
    g_signal_new ("referred", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                  g_signal_accumulator_first_wins, NULL, NULL, G_TYPE_OBJECT, 1, G_TYPE_STRING);
}

static void
dt_call_init (DtCall *self)
{
}

DtCall *
dt_call_new (guint                index,
             DtAccount           *account,
             DtCallDirection      direction,
             const char          *remote_uri,
             const char          *remote_display_name,
             const char          *local_uri,
             DtBackend           *backend,
             DtMediaEngine       *engine,
             const DtCallProfile *profile)
{
  DtCall *self = g_object_new (DT_TYPE_CALL, NULL);

  self->index = index;
  self->account = g_object_ref (account);
  self->direction = direction;
  self->remote_uri = g_strdup (remote_uri);
  self->remote_display_name = g_strdup (remote_display_name);
  self->local_uri = g_strdup (local_uri);
  self->backend = g_object_ref (backend);
  self->engine = g_object_ref (engine);
  self->profile = dt_call_profile_copy (profile);
  self->created_usec = g_get_real_time ();
  self->state = direction == DT_CALL_DIRECTION_INCOMING ? DT_CALL_STATE_INCOMING : DT_CALL_STATE_DIALING;
  return self;
}
