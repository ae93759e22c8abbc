#include "dt-dbus-errors.h"

#include "core/dt-enum-types.h"
#include "core/dt-error.h"

/* The D-Bus names come from the enum nicks, so adding a code to DtError is
 * all it takes to export a new error. */
void
dt_dbus_errors_register (void)
{
  g_autoptr(GEnumClass) klass = g_type_class_ref (DT_TYPE_ERROR);

  for (guint i = 0; i < klass->n_values; i++)
    {
      g_autofree char *name = g_strconcat (DT_DBUS_ERROR_PREFIX,
                                           klass->values[i].value_nick, NULL);
      /* FALSE means "already registered": harmless on a second exporter. */
      g_dbus_error_register_error (DT_ERROR, klass->values[i].value, name);
    }
}

/* Clients only ever see our named errors: anything from another domain
 * (GIO, SQLite wrappers) becomes Failed with its message kept. */
void
dt_dbus_return_error (GDBusMethodInvocation *invocation,
                      const GError          *error)
{
  if (error->domain == DT_ERROR)
    g_dbus_method_invocation_return_gerror (invocation, error);
  else
    g_dbus_method_invocation_return_error_literal (invocation, DT_ERROR, DT_ERROR_FAILED,
                                                   error->message);
}
