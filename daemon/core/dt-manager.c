#include "dt-manager.h"

#include "dt-build-config.h"
#include "dt-enum-types.h"

struct _DtManager {
  GObject    parent_instance;
  DtBackend *backend;
  DtLogLevel log_level;
};

enum {
  PROP_0,
  PROP_BACKEND,
  PROP_LOG_LEVEL,
  N_PROPS
};

static GParamSpec *props[N_PROPS];

G_DEFINE_FINAL_TYPE (DtManager, dt_manager, G_TYPE_OBJECT)

static void
dt_manager_get_property (GObject    *object,
                         guint       prop_id,
                         GValue     *value,
                         GParamSpec *pspec)
{
  DtManager *self = DT_MANAGER (object);

  switch (prop_id)
    {
    case PROP_BACKEND:
      g_value_set_object (value, self->backend);
      break;
    case PROP_LOG_LEVEL:
      g_value_set_enum (value, self->log_level);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
dt_manager_set_property (GObject      *object,
                         guint         prop_id,
                         const GValue *value,
                         GParamSpec   *pspec)
{
  DtManager *self = DT_MANAGER (object);

  switch (prop_id)
    {
    case PROP_BACKEND:
      self->backend = g_value_dup_object (value);
      break;
    case PROP_LOG_LEVEL:
      dt_manager_set_log_level (self, g_value_get_enum (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
dt_manager_dispose (GObject *object)
{
  DtManager *self = DT_MANAGER (object);

  g_clear_object (&self->backend);
  G_OBJECT_CLASS (dt_manager_parent_class)->dispose (object);
}

static void
dt_manager_class_init (DtManagerClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->get_property = dt_manager_get_property;
  object_class->set_property = dt_manager_set_property;
  object_class->dispose = dt_manager_dispose;

  props[PROP_BACKEND] =
    g_param_spec_object ("backend", NULL, NULL, DT_TYPE_BACKEND,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  props[PROP_LOG_LEVEL] =
    g_param_spec_enum ("log-level", NULL, NULL, DT_TYPE_LOG_LEVEL, DT_LOG_LEVEL_MESSAGE,
                       G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, props);
}

static void
dt_manager_init (DtManager *self)
{
  self->log_level = DT_LOG_LEVEL_MESSAGE;
}

DtManager *
dt_manager_new (DtBackend  *backend,
                DtLogLevel  log_level)
{
  g_return_val_if_fail (DT_IS_BACKEND (backend), NULL);
  return g_object_new (DT_TYPE_MANAGER, "backend", backend, "log-level", log_level, NULL);
}

DtBackend *
dt_manager_get_backend (DtManager *self)
{
  return self->backend;
}

const char *
dt_manager_get_version (DtManager *self)
{
  return DT_VERSION;
}

DtLogLevel
dt_manager_get_log_level (DtManager *self)
{
  return self->log_level;
}

void
dt_manager_set_log_level (DtManager  *self,
                          DtLogLevel  level)
{
  if (self->log_level == level)
    return;
  self->log_level = level;
  g_object_notify_by_pspec (G_OBJECT (self), props[PROP_LOG_LEVEL]);
}
