#include "dt-media-module.h"

#include <gmodule.h>

#include "core/dt-error.h"
#include "dt-media-endpoint.h"

struct _DtMediaModule {
  GObject        parent_instance;
  char          *path;
  DtMediaEngine *engine;      /* the module's, once loaded */
  char          *load_error;  /* why it could not be: not tried again */
};

static void dt_media_module_iface_init (DtMediaEngineInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (DtMediaModule, dt_media_module, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (DT_TYPE_MEDIA_ENGINE, dt_media_module_iface_init))

typedef DtMediaEngine *(*DtMediaModuleCreate) (void);

static gboolean
ensure_engine (DtMediaModule  *self,
               GError        **error)
{
  GModule *module;
  DtMediaModuleCreate create = NULL;
  gint64 start = g_get_monotonic_time ();

  if (self->engine != NULL)
    return TRUE;
  if (self->load_error == NULL)
    {
      /* Not lazily bound: a symbol the daemon does not export fails here,
       * with dlerror's message, rather than in the middle of a call. */
      module = g_module_open (self->path, G_MODULE_BIND_LOCAL);
      if (module == NULL)
        self->load_error = g_strdup_printf ("cannot load the media module: %s", g_module_error ());
      else if (!g_module_symbol (module, "dt_media_module_create_engine", (gpointer *) &create) || create == NULL)
        {
          self->load_error = g_strdup_printf ("cannot load the media module: %s has no "
                                              "dt_media_module_create_engine", self->path);
          g_module_close (module);
        }
      else
        {
          /* Its GTypes cannot be unregistered: it stays. */
          g_module_make_resident (module);
          self->engine = create ();
          g_module_close (module);
          g_info ("Media module %s loaded in %.1f ms", self->path,
                  (g_get_monotonic_time () - start) / 1000.0);
          return TRUE;
        }
      g_warning ("%s", self->load_error);
    }
  g_set_error_literal (error, DT_ERROR, DT_ERROR_FAILED, self->load_error);
  return FALSE;
}

static GPtrArray *
module_get_codecs (DtMediaEngine *engine)
{
  DtMediaModule *self = DT_MEDIA_MODULE (engine);

  if (!ensure_engine (self, NULL))
    return g_ptr_array_new_with_free_func ((GDestroyNotify) dt_codec_free);
  return dt_media_engine_get_codecs (self->engine);
}

static gboolean
module_check_endpoint (DtMediaEngine  *engine,
                       const char     *endpoint,
                       gboolean        is_source,
                       GError        **error)
{
  return dt_media_check_endpoint (endpoint, is_source, error);
}

static DtMediaSession *
module_create_session (DtMediaEngine              *engine,
                       const DtMediaSessionConfig *config,
                       GError                    **error)
{
  DtMediaModule *self = DT_MEDIA_MODULE (engine);

  if (!ensure_engine (self, error))
    return NULL;
  return dt_media_engine_create_session (self->engine, config, error);
}

static void
dt_media_module_iface_init (DtMediaEngineInterface *iface)
{
  iface->get_codecs = module_get_codecs;
  iface->check_endpoint = module_check_endpoint;
  iface->create_session = module_create_session;
}

static void
dt_media_module_finalize (GObject *object)
{
  DtMediaModule *self = DT_MEDIA_MODULE (object);

  g_clear_object (&self->engine);
  g_free (self->path);
  g_free (self->load_error);
  G_OBJECT_CLASS (dt_media_module_parent_class)->finalize (object);
}

static void
dt_media_module_class_init (DtMediaModuleClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = dt_media_module_finalize;
}

static void
dt_media_module_init (DtMediaModule *self)
{
}

DtMediaModule *
dt_media_module_new (const char *directory)
{
  DtMediaModule *self = g_object_new (DT_TYPE_MEDIA_MODULE, NULL);

  self->path = g_build_filename (directory, DT_MEDIA_MODULE_NAME, NULL);
  return self;
}
