#include "dt-media.h"

#include "dt-error.h"

G_DEFINE_INTERFACE (DtMediaSession, dt_media_session, G_TYPE_OBJECT)

static void
dt_media_session_default_init (DtMediaSessionInterface *iface)
{
  /* (message): the call ends with reason media-failed. */
  g_signal_new ("failed", G_TYPE_FROM_INTERFACE (iface), G_SIGNAL_RUN_LAST, 0,
                NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_STRING);
  /* (digit): an RFC 4733 event began. */
  g_signal_new ("dtmf-received", G_TYPE_FROM_INTERFACE (iface), G_SIGNAL_RUN_LAST, 0,
                NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_STRING);
  /* (path, reason) */
  g_signal_new ("playback-finished", G_TYPE_FROM_INTERFACE (iface), G_SIGNAL_RUN_LAST, 0,
                NULL, NULL, NULL, G_TYPE_NONE, 2, G_TYPE_STRING, G_TYPE_STRING);
}

static gboolean
unsupported (GError **error)
{
  g_set_error_literal (error, DT_ERROR, DT_ERROR_NOT_SUPPORTED, "this media engine cannot do that");
  return FALSE;
}

void
dt_media_session_set_muted (DtMediaSession *self,
                            gboolean        muted)
{
  if (DT_MEDIA_SESSION_GET_IFACE (self)->set_muted)
    DT_MEDIA_SESSION_GET_IFACE (self)->set_muted (self, muted);
}

gboolean
dt_media_session_send_dtmf (DtMediaSession *self,
                            char            digit,
                            gboolean        start)
{
  if (DT_MEDIA_SESSION_GET_IFACE (self)->send_dtmf == NULL)
    return FALSE;
  return DT_MEDIA_SESSION_GET_IFACE (self)->send_dtmf (self, digit, start);
}

gboolean
dt_media_session_play_file (DtMediaSession  *self,
                            const char      *path,
                            gboolean         loop,
                            gboolean         mix,
                            GError         **error)
{
  if (DT_MEDIA_SESSION_GET_IFACE (self)->play_file == NULL)
    return unsupported (error);
  return DT_MEDIA_SESSION_GET_IFACE (self)->play_file (self, path, loop, mix, error);
}

void
dt_media_session_stop_playback (DtMediaSession *self)
{
  if (DT_MEDIA_SESSION_GET_IFACE (self)->stop_playback)
    DT_MEDIA_SESSION_GET_IFACE (self)->stop_playback (self);
}

gboolean
dt_media_session_start_recording (DtMediaSession           *self,
                                  const char               *path,
                                  const DtRecordingOptions *options,
                                  GError                  **error)
{
  if (DT_MEDIA_SESSION_GET_IFACE (self)->start_recording == NULL)
    return unsupported (error);
  return DT_MEDIA_SESSION_GET_IFACE (self)->start_recording (self, path, options, error);
}

void
dt_media_session_stop_recording (DtMediaSession *self)
{
  if (DT_MEDIA_SESSION_GET_IFACE (self)->stop_recording)
    DT_MEDIA_SESSION_GET_IFACE (self)->stop_recording (self);
}

const char *
dt_media_session_get_local_address (DtMediaSession *self)
{
  return DT_MEDIA_SESSION_GET_IFACE (self)->get_local_address (self);
}

guint
dt_media_session_get_local_port (DtMediaSession *self)
{
  return DT_MEDIA_SESSION_GET_IFACE (self)->get_local_port (self);
}

gboolean
dt_media_session_start (DtMediaSession           *self,
                        const DtMediaDescription *local,
                        const DtMediaDescription *remote,
                        GError                  **error)
{
  return DT_MEDIA_SESSION_GET_IFACE (self)->start (self, local, remote, error);
}

void
dt_media_session_stop (DtMediaSession *self)
{
  DT_MEDIA_SESSION_GET_IFACE (self)->stop (self);
}

GVariant *
dt_media_session_get_info (DtMediaSession *self)
{
  return DT_MEDIA_SESSION_GET_IFACE (self)->get_info (self);
}

gboolean
dt_media_session_get_statistics (DtMediaSession    *self,
                                 DtMediaStatistics *stats)
{
  DtMediaSessionInterface *iface = DT_MEDIA_SESSION_GET_IFACE (self);

  *stats = (DtMediaStatistics) { .rtt_ms = -1 };
  return iface->get_statistics != NULL && iface->get_statistics (self, stats);
}

G_DEFINE_INTERFACE (DtMediaEngine, dt_media_engine, G_TYPE_OBJECT)

static void
dt_media_engine_default_init (DtMediaEngineInterface *iface)
{
}

GPtrArray *
dt_media_engine_get_codecs (DtMediaEngine *self)
{
  return DT_MEDIA_ENGINE_GET_IFACE (self)->get_codecs (self);
}

gboolean
dt_media_engine_check_endpoint (DtMediaEngine  *self,
                                const char     *endpoint,
                                gboolean        is_source,
                                GError        **error)
{
  return DT_MEDIA_ENGINE_GET_IFACE (self)->check_endpoint (self, endpoint, is_source, error);
}

DtMediaSession *
dt_media_engine_create_session (DtMediaEngine              *self,
                                const DtMediaSessionConfig *config,
                                GError                    **error)
{
  return DT_MEDIA_ENGINE_GET_IFACE (self)->create_session (self, config, error);
}

gboolean
dt_media_session_conference_send (DtMediaSession  *self,
                                  const char      *channel,
                                  GError         **error)
{
  if (DT_MEDIA_SESSION_GET_IFACE (self)->conference_send == NULL)
    return unsupported (error);
  return DT_MEDIA_SESSION_GET_IFACE (self)->conference_send (self, channel, error);
}

gboolean
dt_media_session_conference_receive (DtMediaSession  *self,
                                     const char      *channel,
                                     GError         **error)
{
  if (DT_MEDIA_SESSION_GET_IFACE (self)->conference_receive == NULL)
    return unsupported (error);
  return DT_MEDIA_SESSION_GET_IFACE (self)->conference_receive (self, channel, error);
}

void
dt_media_session_conference_drop (DtMediaSession *self,
                                  const char     *channel)
{
  if (DT_MEDIA_SESSION_GET_IFACE (self)->conference_drop)
    DT_MEDIA_SESSION_GET_IFACE (self)->conference_drop (self, channel);
}
