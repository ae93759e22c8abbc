#include "dt-log.h"

#include <stdio.h>
#include <unistd.h>

#include "dt-enum-types.h"
#include "dt-error.h"
#include "dt-state.h"

static DtLogLevel
level_of (GLogLevelFlags flags)
{
  if (flags & G_LOG_LEVEL_ERROR)
    return DT_LOG_LEVEL_ERROR;
  if (flags & G_LOG_LEVEL_CRITICAL)
    return DT_LOG_LEVEL_CRITICAL;
  if (flags & G_LOG_LEVEL_WARNING)
    return DT_LOG_LEVEL_WARNING;
  if (flags & G_LOG_LEVEL_MESSAGE)
    return DT_LOG_LEVEL_MESSAGE;
  if (flags & G_LOG_LEVEL_INFO)
    return DT_LOG_LEVEL_INFO;
  return DT_LOG_LEVEL_DEBUG;
}

GLogWriterOutput
dt_log_filter_write (GLogLevelFlags   log_level,
                     const GLogField *fields,
                     gsize            n_fields,
                     gpointer         user_data)
{
  const DtLogFilter *filter = user_data;

  if (level_of (log_level) > filter->level)
    return G_LOG_WRITER_HANDLED;

  /* The default writer would drop info and debug a second time unless
   * G_MESSAGES_DEBUG is set; the level is ours to decide, so write
   * directly: to the journal when systemd connected stderr to it. */
  if (g_log_writer_is_journald (fileno (stderr)) &&
      g_log_writer_journald (log_level, fields, n_fields, user_data) == G_LOG_WRITER_HANDLED)
    return G_LOG_WRITER_HANDLED;

  return g_log_writer_standard_streams (log_level, fields, n_fields, user_data);
}

gboolean
dt_log_level_parse (const char *nick,
                    DtLogLevel *level,
                    GError    **error)
{
  int value;

  if (!dt_enum_from_nick (DT_TYPE_LOG_LEVEL, nick, &value))
    {
      g_autofree char *allowed = dt_enum_list_nicks (DT_TYPE_LOG_LEVEL);
      g_set_error (error, DT_ERROR, DT_ERROR_INVALID_ARGUMENTS,
                   "'%s' is not a log level (expected one of %s)", nick, allowed);
      return FALSE;
    }
  *level = value;
  return TRUE;
}
