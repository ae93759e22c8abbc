#include "dt-dbus-exporter.h"

#include "dt-build-config.h"
#include "dt-dbus-errors.h"
#include "dt-generated.h"
#include "core/dt-enum-types.h"
#include "core/dt-state.h"

struct _DtDbusExporter {
  GObject                   parent_instance;
  GDBusConnection          *connection;
  DtManager                *manager;
  GDBusObjectManagerServer *object_manager;
  DtGenManager             *manager_skeleton;
  gboolean                  exported;
};

G_DEFINE_FINAL_TYPE (DtDbusExporter, dt_dbus_exporter, G_TYPE_OBJECT)

static void
sync_log_level (DtDbusExporter *self)
{
  dt_gen_manager_set_log_level (self->manager_skeleton,
                                dt_enum_to_nick (DT_TYPE_LOG_LEVEL,
                                                 dt_manager_get_log_level (self->manager)));
}

static void
on_manager_log_level (DtManager      *manager,
                      GParamSpec     *pspec,
                      DtDbusExporter *self)
{
  sync_log_level (self);
}

static gboolean
handle_set_log_level (DtGenManager          *skeleton,
                      GDBusMethodInvocation *invocation,
                      const char            *level_nick,
                      DtDbusExporter        *self)
{
  g_autoptr(GError) error = NULL;
  DtLogLevel level;

  if (!dt_log_level_parse (level_nick, &level, &error))
    {
      dt_dbus_return_error (invocation, error);
      return G_DBUS_METHOD_INVOCATION_HANDLED;
    }
  dt_manager_set_log_level (self->manager, level);
  dt_gen_manager_complete_set_log_level (skeleton, invocation);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static void
dt_dbus_exporter_dispose (GObject *object)
{
  DtDbusExporter *self = DT_DBUS_EXPORTER (object);

  dt_dbus_exporter_unexport (self);
  if (self->manager != NULL)
    g_signal_handlers_disconnect_by_data (self->manager, self);
  g_clear_object (&self->manager_skeleton);
  g_clear_object (&self->object_manager);
  g_clear_object (&self->manager);
  g_clear_object (&self->connection);
  G_OBJECT_CLASS (dt_dbus_exporter_parent_class)->dispose (object);
}

static void
dt_dbus_exporter_class_init (DtDbusExporterClass *klass)
{
  G_OBJECT_CLASS (klass)->dispose = dt_dbus_exporter_dispose;
}

static void
dt_dbus_exporter_init (DtDbusExporter *self)
{
}

DtDbusExporter *
dt_dbus_exporter_new (GDBusConnection  *connection,
                      DtManager        *manager,
                      GError          **error)
{
  g_autoptr(DtDbusExporter) self = g_object_new (DT_TYPE_DBUS_EXPORTER, NULL);
  const char * const no_paths[] = { NULL };

  dt_dbus_errors_register ();

  self->connection = g_object_ref (connection);
  self->manager = g_object_ref (manager);

  self->manager_skeleton = dt_gen_manager_skeleton_new ();
  dt_gen_manager_set_version (self->manager_skeleton, dt_manager_get_version (manager));
  dt_gen_manager_set_accounts (self->manager_skeleton, no_paths);
  dt_gen_manager_set_calls (self->manager_skeleton, no_paths);
  sync_log_level (self);
  g_signal_connect (self->manager_skeleton, "handle-set-log-level",
                    G_CALLBACK (handle_set_log_level), self);
  g_signal_connect (manager, "notify::log-level", G_CALLBACK (on_manager_log_level), self);

  /* GDBusObjectManagerServer only exports objects strictly below its own
   * path, so the Manager interface is exported beside it at the root (the
   * shape ModemManager and BlueZ clients expect). */
  if (!g_dbus_interface_skeleton_export (G_DBUS_INTERFACE_SKELETON (self->manager_skeleton),
                                         connection, DT_ROOT_PATH, error))
    return NULL;
  self->object_manager = g_dbus_object_manager_server_new (DT_ROOT_PATH);
  g_dbus_object_manager_server_set_connection (self->object_manager, connection);
  self->exported = TRUE;

  return g_steal_pointer (&self);
}

void
dt_dbus_exporter_unexport (DtDbusExporter *self)
{
  if (!self->exported)
    return;
  self->exported = FALSE;
  g_dbus_object_manager_server_set_connection (self->object_manager, NULL);
  g_dbus_interface_skeleton_unexport (G_DBUS_INTERFACE_SKELETON (self->manager_skeleton));
}
