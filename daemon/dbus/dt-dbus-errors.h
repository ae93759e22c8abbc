#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define DT_DBUS_ERROR_PREFIX "org.dialtone.Phone1.Error."

void dt_dbus_errors_register (void);
void dt_dbus_return_error    (GDBusMethodInvocation *invocation,
                              const GError          *error);

G_END_DECLS
