#pragma once

#include <glib-object.h>

#include "dt-account.h"
#include "dt-backend.h"
#include "dt-media.h"
#include "dt-path-policy.h"
#include "dt-state.h"

G_BEGIN_DECLS

/* What every call starts from; the manager builds it from dialtoned.conf
 * and the media engine, and a call's options may override the endpoints. */
typedef struct {
  char      *audio_source;
  char      *audio_sink;
  guint      jitter_latency_ms;
  guint      rtp_timeout_ms;
  guint      port_min;
  guint      port_max;
  guint      ptime;
  guint      no_answer_timeout_s;
  GPtrArray *codecs;          /* DtCodec we offer and accept, preferred first */
  DtPathPolicy *path_policy;  /* files clients may name; NULL: any absolute path */
} DtCallProfile;

DtCallProfile *dt_call_profile_copy (const DtCallProfile *profile);
void           dt_call_profile_free (DtCallProfile       *profile);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (DtCallProfile, dt_call_profile_free)

/* One call, incoming or outgoing: its state machine and the policy around
 * it (media session, timers). The backend does the signalling and reports
 * through the dt_call_notify_* functions, on the main thread. */
#define DT_TYPE_CALL (dt_call_get_type ())
G_DECLARE_FINAL_TYPE (DtCall, dt_call, DT, CALL, GObject)

DtCall           *dt_call_new                (guint                 index,
                                              DtAccount            *account,
                                              DtCallDirection       direction,
                                              const char           *remote_uri,
                                              const char           *remote_display_name,
                                              const char           *local_uri,
                                              DtBackend            *backend,
                                              DtMediaEngine        *engine,
                                              const DtCallProfile  *profile);

guint             dt_call_get_index          (DtCall *self);
DtAccount        *dt_call_get_account        (DtCall *self);
DtCallDirection   dt_call_get_direction      (DtCall *self);
const char       *dt_call_get_remote_uri     (DtCall *self);
const char       *dt_call_get_remote_display_name (DtCall *self);
const char       *dt_call_get_local_uri      (DtCall *self);
DtCallState       dt_call_get_state          (DtCall *self);
DtCallStateReason dt_call_get_state_reason   (DtCall *self);
guint             dt_call_get_sip_status     (DtCall *self);
const char       *dt_call_get_sip_reason     (DtCall *self);
gint64            dt_call_get_created_usec   (DtCall *self);
gint64            dt_call_get_answered_usec  (DtCall *self);
gint64            dt_call_get_ended_usec     (DtCall *self);
const char       *dt_call_get_codec          (DtCall *self);
GVariant         *dt_call_get_media_info     (DtCall *self);
GVariant         *dt_call_get_statistics     (DtCall *self);
gboolean          dt_call_is_ended           (DtCall *self);

/* Endpoints for this call only (Dial/Answer options); NULL keeps the
 * profile's. */
void              dt_call_set_endpoints      (DtCall     *self,
                                              const char *audio_source,
                                              const char *audio_sink);

gboolean          dt_call_dial               (DtCall  *self,
                                              GError **error);
gboolean          dt_call_answer             (DtCall  *self,
                                              GError **error);
gboolean          dt_call_reject             (DtCall  *self,
                                              guint    status,
                                              GError **error);
gboolean          dt_call_hangup             (DtCall  *self,
                                              GError **error);
void              dt_call_end_for_shutdown   (DtCall  *self);

/* Call control and automation. Each fails with InvalidState when the
 * call is not answered (or not in the state it needs), InvalidArguments
 * for bad input. */
gboolean          dt_call_hold               (DtCall  *self,
                                              GError **error);
gboolean          dt_call_resume             (DtCall  *self,
                                              GError **error);
gboolean          dt_call_is_held_locally    (DtCall  *self);
gboolean          dt_call_get_muted          (DtCall  *self);
gboolean          dt_call_get_encrypted      (DtCall  *self);
void              dt_call_set_muted          (DtCall  *self,
                                              gboolean muted);
gboolean          dt_call_send_dtmf          (DtCall      *self,
                                              const char  *digits,
                                              GError     **error);
/* Options: "loop", "mix" (b). */
gboolean          dt_call_play_file          (DtCall      *self,
                                              const char  *path,
                                              GVariant    *options,
                                              GError     **error);
gboolean          dt_call_stop_playback      (DtCall  *self,
                                              GError **error);
/* Options: "format" ("wav", "ogg"; default from the name), "channels"
 * ("mixed", "split"). */
gboolean          dt_call_start_recording    (DtCall      *self,
                                              const char  *path,
                                              GVariant    *options,
                                              GError     **error);
gboolean          dt_call_stop_recording     (DtCall  *self,
                                              GError **error);
const char       *dt_call_get_recording      (DtCall  *self);
void              dt_call_schedule_auto_answer (DtCall *self,
                                                guint   delay_s);
void              dt_call_refuse_busy        (DtCall  *self);
gboolean          dt_call_can_confer         (DtCall      *self,
                                              GError     **error);
gboolean          dt_call_conference_send    (DtCall      *self,
                                              const char  *channel,
                                              GError     **error);
gboolean          dt_call_conference_receive (DtCall      *self,
                                              const char  *channel,
                                              GError     **error);
void              dt_call_conference_drop    (DtCall      *self,
                                              const char  *channel);
guint             dt_call_get_conference     (DtCall      *self);
void              dt_call_set_conference     (DtCall      *self,
                                              guint        conference);
/* Transfer. dt_call_transfer() and dt_call_transfer_to_call() refer the
 * other party elsewhere (our REFER). A REFER from the other party becomes
 * the "referred" signal (target URI → new DtCall, placed by the manager
 * with this call's endpoints); an INVITE with Replaces becomes a new
 * incoming call that dt_call_notify_replacing() answers at once. */
gboolean             dt_call_transfer            (DtCall      *self,
                                                  const char  *uri,
                                                  GError     **error);
gboolean             dt_call_transfer_to_call    (DtCall      *self,
                                                  DtCall      *other,
                                                  GError     **error);
DtCallTransferState  dt_call_get_transfer_state  (DtCall      *self);
guint                dt_call_get_transfer_status (DtCall      *self);
const char          *dt_call_get_audio_source    (DtCall      *self);
const char          *dt_call_get_audio_sink      (DtCall      *self);
const char          *dt_call_get_inheritable_sink (DtCall     *self);
void                 dt_call_notify_transfer     (DtCall              *self,
                                                  DtCallTransferState  state,
                                                  guint                sip_status);
DtCall              *dt_call_notify_referred     (DtCall      *self,
                                                  const char  *target_uri,
                                                  GError     **error);
gboolean             dt_call_notify_replacing    (DtCall      *self,
                                                  DtCall      *replaced,
                                                  GError     **error);

/* From the backend. */
void              dt_call_notify_reoffer_failed (DtCall     *self,
                                                 guint       sip_status,
                                                 const char *sip_reason);
void              dt_call_notify_dtmf        (DtCall     *self,
                                              char        digit);
void              dt_call_notify_answer_requested (DtCall *self,
                                                   guint   delay_s);
void              dt_call_notify_progress    (DtCall                   *self,
                                              guint                     sip_status,
                                              const char               *sip_reason);
void              dt_call_notify_media       (DtCall                   *self,
                                              const DtMediaDescription *local,
                                              const DtMediaDescription *remote);
void              dt_call_notify_answered    (DtCall                   *self);
void              dt_call_notify_ended       (DtCall                   *self,
                                              DtCallStateReason         reason,
                                              guint                     sip_status,
                                              const char               *sip_reason);

G_END_DECLS
