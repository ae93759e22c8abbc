#pragma once

#include <gio/gio.h>

#include "core/dt-log.h"

G_BEGIN_DECLS

typedef struct {
  char          *config_dir;
  char          *data_dir;
  GBusType       bus_type;
  gboolean       replace;
  char          *log_level;   /* from the command line; NULL: use the config */
} DtDaemonOptions;

/* The composition root: builds config, store, core, backend and D-Bus export
 * in that order, runs the main loop, and tears them down in reverse. */
#define DT_TYPE_DAEMON (dt_daemon_get_type ())
G_DECLARE_FINAL_TYPE (DtDaemon, dt_daemon, DT, DAEMON, GObject)

DtDaemon *dt_daemon_new (const DtDaemonOptions *options,
                         DtLogFilter           *log_filter);
/* Returns the process exit status (sysexits.h codes for start-up failures). */
int       dt_daemon_run (DtDaemon              *self);

G_END_DECLS
