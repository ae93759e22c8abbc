#include "dt-media-endpoint.h"

#include "core/dt-error.h"

static const char * const source_words[] = { "auto", "pulse", "pipewire", "tone", "silence", "echo", NULL };
static const char * const sink_words[] = { "auto", "pulse", "pipewire", "null", NULL };

gboolean
dt_media_check_endpoint (const char  *endpoint,
                         gboolean     is_source,
                         GError     **error)
{
  const char * const *words = is_source ? source_words : sink_words;

  if (g_strv_contains (words, endpoint))
    return TRUE;
  if (g_str_has_prefix (endpoint, "alsa:") && endpoint[5] != '\0')
    return TRUE;
  if (g_str_has_prefix (endpoint, "file:"))
    {
      const char *path = endpoint + 5;
      g_autofree char *folder = NULL;

      if (!g_path_is_absolute (path))
        {
          g_set_error (error, DT_ERROR, DT_ERROR_INVALID_ARGUMENTS, "'%s' is not an absolute path", path);
          return FALSE;
        }
      if (is_source && !g_file_test (path, G_FILE_TEST_IS_REGULAR))
        {
          g_set_error (error, DT_ERROR, DT_ERROR_INVALID_ARGUMENTS, "'%s' is not a readable file", path);
          return FALSE;
        }
      folder = g_path_get_dirname (path);
      if (!is_source && !g_file_test (folder, G_FILE_TEST_IS_DIR))
        {
          g_set_error (error, DT_ERROR, DT_ERROR_INVALID_ARGUMENTS, "folder '%s' does not exist", folder);
          return FALSE;
        }
      return TRUE;
    }
  {
    g_autofree char *allowed = g_strjoinv (", ", (char **) words);
    g_set_error (error, DT_ERROR, DT_ERROR_INVALID_ARGUMENTS,
                 "'%s' is not an audio %s (expected %s, alsa:DEVICE or file:PATH)",
                 endpoint, is_source ? "source" : "sink", allowed);
  }
  return FALSE;
}
