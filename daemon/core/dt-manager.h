#pragma once

#include <glib-object.h>

#include "dt-backend.h"
#include "dt-log.h"

G_BEGIN_DECLS

/* The root of the domain model: what the daemon is, independent of how it
 * is exported. Accounts and calls hang off it. */
#define DT_TYPE_MANAGER (dt_manager_get_type ())
G_DECLARE_FINAL_TYPE (DtManager, dt_manager, DT, MANAGER, GObject)

DtManager  *dt_manager_new           (DtBackend  *backend,
                                      DtLogLevel  log_level);
DtBackend  *dt_manager_get_backend   (DtManager  *self);
const char *dt_manager_get_version   (DtManager  *self);
DtLogLevel  dt_manager_get_log_level (DtManager  *self);
void        dt_manager_set_log_level (DtManager  *self,
                                      DtLogLevel  level);

G_END_DECLS
