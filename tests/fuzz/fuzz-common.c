#include "fuzz.h"

#include <stdio.h>
#include <stdlib.h>

void
fuzz_fail (const char *file,
           int         line,
           const char *condition,
           const char *format,
           ...)
{
  va_list args;

  fprintf (stderr, "%s:%d: invariant failed: %s: ", file, line, condition);
  va_start (args, format);
  vfprintf (stderr, format, args);
  va_end (args);
  fputc ('\n', stderr);
  abort ();
}

static GLogWriterOutput
quiet_writer (GLogLevelFlags   level,
              const GLogField *fields,
              gsize            n_fields,
              gpointer         user_data)
{
  if (level & (G_LOG_LEVEL_ERROR | G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_WARNING))
    {
      g_log_writer_standard_streams (level, fields, n_fields, user_data);
      abort ();
    }
  return G_LOG_WRITER_HANDLED;
}

void
fuzz_setup_logging (void)
{
  g_log_set_writer_func (quiet_writer, NULL, NULL);
}

gboolean
fuzz_text_is_tame (const char *text)
{
  if (!g_utf8_validate (text, -1, NULL))
    return FALSE;
  for (const char *p = text; *p; p++)
    if ((guchar) *p < 0x20 || *p == 0x7f || *p == '"' || *p == '\\')
      return FALSE;
  return TRUE;
}
