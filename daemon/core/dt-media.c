#include "dt-media.h"

G_DEFINE_INTERFACE (DtMediaSession, dt_media_session, G_TYPE_OBJECT)

static void
dt_media_session_default_init (DtMediaSessionInterface *iface)
{
  /* (message): the call ends with reason media-failed. */
  g_signal_new ("failed", G_TYPE_FROM_INTERFACE (iface), G_SIGNAL_RUN_LAST, 0,
                NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_STRING);
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
