#include "dt-gst-engine.h"

#include <string.h>

#include <gmodule.h>
#include <gst/gst.h>

#include "core/dt-error.h"
#include "dt-gst-push-src.h"
#include "dt-gst-receiver.h"
#include "dt-gst-session.h"
#include "dt-media-endpoint.h"

struct _DtGstEngine {
  GObject    parent_instance;
  gboolean   initialised;
  gboolean   warned_no_audio_device;
  GPtrArray *codecs;  /* what this machine's plugins can do; found once */
  DtGstReceiver *receiver;  /* made at the first call */
};

static void dt_gst_engine_iface_init (DtMediaEngineInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (DtGstEngine, dt_gst_engine, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (DT_TYPE_MEDIA_ENGINE, dt_gst_engine_iface_init))

/* Each codec needs its encoder, decoder, payloader and depayloader. */
static const struct {
  const char *name;
  const char *elements[4];
} codec_elements[] = {
  { "opus", { "opusenc", "opusdec", "rtpopuspay", "rtpopusdepay" } },
  { "g722", { "avenc_g722", "avdec_g722", "rtpg722pay", "rtpg722depay" } },
  { "pcmu", { "mulawenc", "mulawdec", "rtppcmupay", "rtppcmudepay" } },
  { "pcma", { "alawenc", "alawdec", "rtppcmapay", "rtppcmadepay" } },
  { "telephone-event", { "rtpdtmfsrc", "rtpdtmfdepay", "rtpdtmfmux", NULL } },
};

gboolean
dt_gst_engine_ensure_init (DtGstEngine  *self,
                           GError      **error)
{
  g_autoptr(GError) local_error = NULL;

  if (self->initialised)
    return TRUE;
  if (!gst_init_check (NULL, NULL, &local_error))
    {
      g_set_error (error, DT_ERROR, DT_ERROR_FAILED, "cannot start GStreamer: %s", local_error->message);
      return FALSE;
    }
  if (!dt_gst_push_src_register ())
    {
      g_set_error_literal (error, DT_ERROR, DT_ERROR_FAILED, "cannot register the dtpushsrc element");
      return FALSE;
    }
  self->initialised = TRUE;
  {
    g_autofree char *version = gst_version_string ();

    g_info ("%s ready", version);
  }
  return TRUE;
}

DtGstReceiver *
dt_gst_engine_get_receiver (DtGstEngine  *self,
                            GError      **error)
{
  if (self->receiver == NULL)
    self->receiver = dt_gst_receiver_new (error);
  return self->receiver;
}

static const char *
first_missing_element (const char * const *names)
{
  for (guint i = 0; i < 4 && names[i] != NULL; i++)
    {
      g_autoptr(GstElementFactory) factory = gst_element_factory_find (names[i]);
      if (factory == NULL)
        return names[i];
    }
  return NULL;
}

static GPtrArray *
engine_get_codecs (DtMediaEngine *engine)
{
  DtGstEngine *self = DT_GST_ENGINE (engine);
  GPtrArray *codecs = g_ptr_array_new_with_free_func ((GDestroyNotify) dt_codec_free);

  if (!dt_gst_engine_ensure_init (self, NULL))
    return codecs;
  if (self->codecs == NULL)
    {
      self->codecs = g_ptr_array_new_with_free_func ((GDestroyNotify) dt_codec_free);
      for (guint i = 0; i < G_N_ELEMENTS (codec_elements); i++)
        {
          const char *missing = first_missing_element (codec_elements[i].elements);

          if (missing == NULL)
            g_ptr_array_add (self->codecs, dt_codec_new_known (codec_elements[i].name));
          else
            g_warning ("Codec %s left out: GStreamer element %s is missing", codec_elements[i].name, missing);
        }
    }
  for (guint i = 0; i < self->codecs->len; i++)
    g_ptr_array_add (codecs, dt_codec_copy (self->codecs->pdata[i]));
  return codecs;
}

static gboolean
engine_check_endpoint (DtMediaEngine  *engine,
                       const char     *endpoint,
                       gboolean        is_source,
                       GError        **error)
{
  return dt_media_check_endpoint (endpoint, is_source, error);
}

static gboolean
runtime_socket_exists (const char *name)
{
  g_autofree char *path = g_build_filename (g_get_user_runtime_dir (), name, NULL);

  return g_file_test (path, G_FILE_TEST_EXISTS);
}

static gboolean
alsa_has_card (void)
{
  g_autofree char *cards = NULL;

  return g_file_get_contents ("/proc/asound/cards", &cards, NULL, NULL) &&
         strstr (cards, "no soundcards") == NULL && strchr (cards, '[') != NULL;
}

static gboolean
factory_exists (const char *name)
{
  g_autoptr(GstElementFactory) factory = gst_element_factory_find (name);

  return factory != NULL;
}

/* "auto": a sound server if one runs, else an ALSA card, else silence /
 * null, said once: a headless machine still makes calls. */
char *
dt_gst_engine_resolve_auto (DtGstEngine *self,
                            gboolean     is_source)
{
  const char *pulse_server = g_getenv ("PULSE_SERVER");

  if (((pulse_server != NULL && *pulse_server != '\0') || runtime_socket_exists ("pulse/native")) &&
      factory_exists (is_source ? "pulsesrc" : "pulsesink"))
    return g_strdup ("pulse");
  if (runtime_socket_exists ("pipewire-0") && factory_exists (is_source ? "pipewiresrc" : "pipewiresink"))
    return g_strdup ("pipewire");
  if (alsa_has_card () && factory_exists (is_source ? "alsasrc" : "alsasink"))
    return g_strdup ("alsa:default");
  if (!self->warned_no_audio_device)
    {
      self->warned_no_audio_device = TRUE;
      g_warning ("No sound server or sound card: calls use silence as their audio source and "
                 "discard what they receive (set audio-source and audio-sink to choose)");
    }
  return g_strdup (is_source ? "silence" : "null");
}

static DtMediaSession *
engine_create_session (DtMediaEngine              *engine,
                       const DtMediaSessionConfig *config,
                       GError                    **error)
{
  DtGstEngine *self = DT_GST_ENGINE (engine);

  if (!dt_gst_engine_ensure_init (self, error))
    return NULL;
  return DT_MEDIA_SESSION (dt_gst_session_new (self, config, error));
}

static void
dt_gst_engine_iface_init (DtMediaEngineInterface *iface)
{
  iface->get_codecs = engine_get_codecs;
  iface->check_endpoint = engine_check_endpoint;
  iface->create_session = engine_create_session;
}

static void
dt_gst_engine_finalize (GObject *object)
{
  DtGstEngine *self = DT_GST_ENGINE (object);

  g_clear_pointer (&self->codecs, g_ptr_array_unref);
  g_clear_object (&self->receiver);
  G_OBJECT_CLASS (dt_gst_engine_parent_class)->finalize (object);
}

static void
dt_gst_engine_class_init (DtGstEngineClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = dt_gst_engine_finalize;
}

static void
dt_gst_engine_init (DtGstEngine *self)
{
}

DtGstEngine *
dt_gst_engine_new (void)
{
  return g_object_new (DT_TYPE_GST_ENGINE, NULL);
}

/* The module's entry point (see dt-media-module.c). The types it registers
 * cannot be unregistered, so the module stays loaded. */
G_MODULE_EXPORT DtMediaEngine *dt_media_module_create_engine (void);

G_MODULE_EXPORT DtMediaEngine *
dt_media_module_create_engine (void)
{
  return DT_MEDIA_ENGINE (dt_gst_engine_new ());
}
