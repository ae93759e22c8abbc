#pragma once

#include <gio/gio.h>

#include "core/dt-manager.h"

G_BEGIN_DECLS

/* Puts the domain model on the bus: the Manager at the root, an
 * ObjectManager beside it, and (as they appear) accounts and calls below.
 * Owns no policy: it validates arguments, calls the core, and maps errors. */
#define DT_TYPE_DBUS_EXPORTER (dt_dbus_exporter_get_type ())
G_DECLARE_FINAL_TYPE (DtDbusExporter, dt_dbus_exporter, DT, DBUS_EXPORTER, GObject)

DtDbusExporter *dt_dbus_exporter_new      (GDBusConnection  *connection,
                                           DtManager        *manager,
                                           GError          **error);
void            dt_dbus_exporter_unexport (DtDbusExporter   *self);

G_END_DECLS
