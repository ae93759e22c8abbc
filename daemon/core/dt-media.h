#pragma once

#include <gio/gio.h>

#include "dt-media-types.h"

G_BEGIN_DECLS

/* The seam between the core and the media layer. A session is one call's
 * audio: it binds its RTP/RTCP ports when created (so they can go into
 * SDP), plays once start() gives it both sides' descriptions, and can be
 * started again (re-INVITE: hold, codec change). It reports a failure it
 * cannot recover from with the "failed" signal (a message naming what
 * failed), on the main thread; likewise "dtmf-received" (a digit, as a
 * one-character string) for RFC 4733 events, and "playback-finished"
 * (path, reason: "finished", "stopped", "failed"). The call automation
 * functions may leave a NULL in the table: the wrappers then say the
 * session cannot do it. */

typedef enum {
  DT_RECORDING_FORMAT_WAV,
  DT_RECORDING_FORMAT_OGG_OPUS,
} DtRecordingFormat;

typedef struct {
  DtRecordingFormat format;
  gboolean          split;      /* two channels: ours left, theirs right */
} DtRecordingOptions;

typedef struct {
  const char *bind_address;     /* IP literal, NULL: any */
  const char *audio_source;     /* endpoint: auto, pulse, pipewire, alsa:DEV, file:WAV, tone, silence */
  const char *audio_sink;       /* endpoint: auto, pulse, pipewire, alsa:DEV, file:WAV, null */
  guint       jitter_latency_ms;
  guint       rtp_timeout_ms;   /* no RTP for this long while receiving: failed; 0: never */
  guint       port_min;         /* RTP port range (even ports), 0: any */
  guint       port_max;
  gboolean    detect_inband_dtmf; /* listen for DTMF tones in the received audio */
} DtMediaSessionConfig;

/* A running session's RTP counters, for Call.Statistics. They count the
 * current stream: a restart that rebuilds it (new codec or address)
 * starts them again. */
typedef struct {
  guint64 packets_sent;
  guint64 packets_received;
  guint64 packets_lost;   /* sequence gaps the jitter buffer gave up on */
  guint64 packets_late;   /* arrived after their time to play: dropped */
  double  jitter_ms;      /* RFC 3550 interarrival jitter of what we receive */
  double  rtt_ms;         /* from RTCP reports; < 0 while not known */
} DtMediaStatistics;

#define DT_TYPE_MEDIA_SESSION (dt_media_session_get_type ())
G_DECLARE_INTERFACE (DtMediaSession, dt_media_session, DT, MEDIA_SESSION, GObject)

struct _DtMediaSessionInterface {
  GTypeInterface parent_iface;

  const char *(*get_local_address) (DtMediaSession           *self);
  guint       (*get_local_port)    (DtMediaSession           *self);
  gboolean    (*start)             (DtMediaSession           *self,
                                    const DtMediaDescription *local,
                                    const DtMediaDescription *remote,
                                    GError                  **error);
  void        (*stop)              (DtMediaSession           *self);
  GVariant   *(*get_info)          (DtMediaSession           *self);
  /* FALSE when no audio runs (not started, stopped). Asked on demand: a
   * session keeps no timer for it. */
  gboolean    (*get_statistics)    (DtMediaSession           *self,
                                    DtMediaStatistics        *stats);

  /* Call automation, on a started session. */
  void        (*set_muted)         (DtMediaSession           *self,
                                    gboolean                  muted);
  /* Starts (@start) or ends the RFC 4733 event for @digit; FALSE when the
   * remote did not accept telephone-event. */
  gboolean    (*send_dtmf)         (DtMediaSession           *self,
                                    char                      digit,
                                    gboolean                  start);
  gboolean    (*play_file)         (DtMediaSession           *self,
                                    const char               *path,
                                    gboolean                  loop,
                                    gboolean                  mix,
                                    GError                  **error);
  void        (*stop_playback)     (DtMediaSession           *self);
  gboolean    (*start_recording)   (DtMediaSession           *self,
                                    const char               *path,
                                    const DtRecordingOptions *options,
                                    GError                  **error);
  void        (*stop_recording)    (DtMediaSession           *self);

  /* Local conference: what we hear goes out on a named channel
   * (conference_send), another call's channel is mixed into what we send
   * (conference_receive); conference_drop ends either. Channels live in
   * this process only. */
  gboolean    (*conference_send)    (DtMediaSession          *self,
                                     const char              *channel,
                                     GError                 **error);
  gboolean    (*conference_receive) (DtMediaSession          *self,
                                     const char              *channel,
                                     GError                 **error);
  void        (*conference_drop)    (DtMediaSession          *self,
                                     const char              *channel);
};

const char *dt_media_session_get_local_address (DtMediaSession           *self);
guint       dt_media_session_get_local_port    (DtMediaSession           *self);
gboolean    dt_media_session_start             (DtMediaSession           *self,
                                                const DtMediaDescription *local,
                                                const DtMediaDescription *remote,
                                                GError                  **error);
void        dt_media_session_stop              (DtMediaSession           *self);
GVariant   *dt_media_session_get_info          (DtMediaSession           *self);
gboolean    dt_media_session_get_statistics    (DtMediaSession           *self,
                                                DtMediaStatistics        *stats);
void        dt_media_session_set_muted         (DtMediaSession           *self,
                                                gboolean                  muted);
gboolean    dt_media_session_send_dtmf         (DtMediaSession           *self,
                                                char                      digit,
                                                gboolean                  start);
gboolean    dt_media_session_play_file         (DtMediaSession           *self,
                                                const char               *path,
                                                gboolean                  loop,
                                                gboolean                  mix,
                                                GError                  **error);
void        dt_media_session_stop_playback     (DtMediaSession           *self);
gboolean    dt_media_session_start_recording   (DtMediaSession           *self,
                                                const char               *path,
                                                const DtRecordingOptions *options,
                                                GError                  **error);
void        dt_media_session_stop_recording    (DtMediaSession           *self);
gboolean    dt_media_session_conference_send   (DtMediaSession           *self,
                                                const char               *channel,
                                                GError                  **error);
gboolean    dt_media_session_conference_receive (DtMediaSession          *self,
                                                 const char              *channel,
                                                 GError                 **error);
void        dt_media_session_conference_drop   (DtMediaSession           *self,
                                                const char               *channel);

#define DT_TYPE_MEDIA_ENGINE (dt_media_engine_get_type ())
G_DECLARE_INTERFACE (DtMediaEngine, dt_media_engine, DT, MEDIA_ENGINE, GObject)

struct _DtMediaEngineInterface {
  GTypeInterface parent_iface;

  /* Every codec this build can encode and decode, with default payload
   * types; telephone-event included. */
  GPtrArray      *(*get_codecs)      (DtMediaEngine              *self);
  gboolean        (*check_endpoint)  (DtMediaEngine              *self,
                                      const char                 *endpoint,
                                      gboolean                    is_source,
                                      GError                    **error);
  DtMediaSession *(*create_session)  (DtMediaEngine              *self,
                                      const DtMediaSessionConfig *config,
                                      GError                    **error);
};

GPtrArray      *dt_media_engine_get_codecs     (DtMediaEngine              *self);
gboolean        dt_media_engine_check_endpoint (DtMediaEngine              *self,
                                                const char                 *endpoint,
                                                gboolean                    is_source,
                                                GError                    **error);
DtMediaSession *dt_media_engine_create_session (DtMediaEngine              *self,
                                                const DtMediaSessionConfig *config,
                                                GError                    **error);

G_END_DECLS
