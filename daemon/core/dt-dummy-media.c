#include "dt-dummy-media.h"

#include "dt-error.h"

#define DT_TYPE_DUMMY_SESSION (dt_dummy_session_get_type ())
G_DECLARE_FINAL_TYPE (DtDummySession, dt_dummy_session, DT, DUMMY_SESSION, GObject)

struct _DtDummySession {
  GObject  parent_instance;
  guint    port;
  char    *codec;
  gboolean started;
  gboolean stopped;
  guint    reads;     /* of the statistics: each one is a second more audio */
};

static void dt_dummy_session_iface_init (DtMediaSessionInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (DtDummySession, dt_dummy_session, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (DT_TYPE_MEDIA_SESSION, dt_dummy_session_iface_init))

static const char *
session_get_local_address (DtMediaSession *session)
{
  return "127.0.0.1";
}

static guint
session_get_local_port (DtMediaSession *session)
{
  return DT_DUMMY_SESSION (session)->port;
}

static gboolean
session_start (DtMediaSession *session, const DtMediaDescription *local,
               const DtMediaDescription *remote, GError **error)
{
  DtDummySession *self = DT_DUMMY_SESSION (session);
  const DtCodec *codec = dt_media_description_audio_codec (remote);

  g_free (self->codec);
  self->codec = codec ? dt_codec_to_string (codec) : NULL;
  self->started = TRUE;
  return TRUE;
}

static void
session_stop (DtMediaSession *session)
{
  DT_DUMMY_SESSION (session)->stopped = TRUE;
}

static GVariant *
session_get_info (DtMediaSession *session)
{
  DtDummySession *self = DT_DUMMY_SESSION (session);
  GVariantBuilder b;

  g_variant_builder_init (&b, G_VARIANT_TYPE_VARDICT);
  if (self->codec)
    g_variant_builder_add (&b, "{sv}", "codec", g_variant_new_string (self->codec));
  return g_variant_builder_end (&b);
}

/* Counters that grow with every read, so a test can tell a fresh answer
 * from a cached one: 50 packets a second each way (PCMU at 20 ms), one in
 * fifty lost. */
static gboolean
session_get_statistics (DtMediaSession *session, DtMediaStatistics *stats)
{
  DtDummySession *self = DT_DUMMY_SESSION (session);

  if (!self->started || self->stopped)
    return FALSE;
  self->reads++;
  stats->packets_sent = 50 * (guint64) self->reads;
  stats->packets_lost = self->reads;
  stats->packets_received = stats->packets_sent - stats->packets_lost;
  stats->packets_late = 0;
  stats->jitter_ms = 1.5;
  stats->rtt_ms = 0.25;
  return TRUE;
}

static void
dt_dummy_session_iface_init (DtMediaSessionInterface *iface)
{
  iface->get_local_address = session_get_local_address;
  iface->get_local_port = session_get_local_port;
  iface->start = session_start;
  iface->stop = session_stop;
  iface->get_info = session_get_info;
  iface->get_statistics = session_get_statistics;
}

static void
dt_dummy_session_finalize (GObject *object)
{
  g_free (DT_DUMMY_SESSION (object)->codec);
  G_OBJECT_CLASS (dt_dummy_session_parent_class)->finalize (object);
}

static void
dt_dummy_session_class_init (DtDummySessionClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = dt_dummy_session_finalize;
}

static void
dt_dummy_session_init (DtDummySession *self)
{
}

struct _DtDummyMedia {
  GObject parent_instance;
  guint   next_port;
};

static void dt_dummy_media_iface_init (DtMediaEngineInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (DtDummyMedia, dt_dummy_media, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (DT_TYPE_MEDIA_ENGINE, dt_dummy_media_iface_init))

static GPtrArray *
engine_get_codecs (DtMediaEngine *engine)
{
  GPtrArray *codecs = g_ptr_array_new_with_free_func ((GDestroyNotify) dt_codec_free);

  g_ptr_array_add (codecs, dt_codec_new ("PCMU", 0, 8000, 1, NULL));
  g_ptr_array_add (codecs, dt_codec_new ("telephone-event", 101, 8000, 1, "0-16"));
  return codecs;
}

static gboolean
engine_check_endpoint (DtMediaEngine *engine, const char *endpoint, gboolean is_source, GError **error)
{
  if (g_strv_contains ((const char * const[]) { "silence", "null", "tone", "auto", NULL }, endpoint) ||
      (is_source && g_str_equal (endpoint, "echo")) ||
      (g_str_has_prefix (endpoint, "file:") && g_path_is_absolute (endpoint + 5)))
    return TRUE;
  g_set_error (error, DT_ERROR, DT_ERROR_INVALID_ARGUMENTS, "'%s' is not an audio endpoint", endpoint);
  return FALSE;
}

static DtMediaSession *
engine_create_session (DtMediaEngine *engine, const DtMediaSessionConfig *config, GError **error)
{
  DtDummyMedia *self = DT_DUMMY_MEDIA (engine);
  DtDummySession *session = g_object_new (DT_TYPE_DUMMY_SESSION, NULL);

  session->port = self->next_port;
  self->next_port += 2;
  return DT_MEDIA_SESSION (session);
}

static void
dt_dummy_media_iface_init (DtMediaEngineInterface *iface)
{
  iface->get_codecs = engine_get_codecs;
  iface->check_endpoint = engine_check_endpoint;
  iface->create_session = engine_create_session;
}

static void
dt_dummy_media_class_init (DtDummyMediaClass *klass)
{
}

static void
dt_dummy_media_init (DtDummyMedia *self)
{
  self->next_port = 40000;
}

DtDummyMedia *
dt_dummy_media_new (void)
{
  return g_object_new (DT_TYPE_DUMMY_MEDIA, NULL);
}
