#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Ordered from least to most verbose; a filter at level L writes every
 * message at L or above in severity. */
typedef enum {
  DT_LOG_LEVEL_ERROR,
  DT_LOG_LEVEL_CRITICAL,
  DT_LOG_LEVEL_WARNING,
  DT_LOG_LEVEL_MESSAGE,
  DT_LOG_LEVEL_INFO,
  DT_LOG_LEVEL_DEBUG,
} DtLogLevel;

/* GLib allows one structured-log writer per process, installed once; its
 * data must outlive every logging call. The daemon's main() owns the
 * filter on its stack and lends it to the daemon, which changes the level. */
typedef struct {
  DtLogLevel level;
} DtLogFilter;

GLogWriterOutput dt_log_filter_write (GLogLevelFlags   log_level,
                                      const GLogField *fields,
                                      gsize            n_fields,
                                      gpointer         user_data);

gboolean         dt_log_level_parse  (const char      *nick,
                                      DtLogLevel      *level,
                                      GError         **error);

G_END_DECLS
