#include "dt-account-file.h"

#include <errno.h>
#include <string.h>

#include <glib/gstdio.h>

#include "dt-account.h"
#include "dt-error.h"

#define GROUP "account"
#define SUFFIX ".account"

/* Loading refuses a file other users can read or write, as ssh does with
 * keys: it may hold a password, and silently using it would hide that the
 * secret is exposed. The error says how to fix it. */
DtSettings *
dt_account_file_load (const char  *path,
                      GError     **error)
{
  g_autoptr(GError) local_error = NULL;
  g_autofree char *base = g_path_get_basename (path);
  g_autofree char *id = NULL;
  g_autofree char *data = NULL;
  gsize length;
  GStatBuf st;

  if (!g_str_has_suffix (base, SUFFIX))
    {
      g_set_error (error, DT_ERROR, DT_ERROR_INVALID_ARGUMENTS,
                   "%s: account files end in " SUFFIX, path);
      return NULL;
    }
  id = g_strndup (base, strlen (base) - strlen (SUFFIX));

  if (g_stat (path, &st) != 0)
    {
      int saved = errno;
      g_set_error (error, DT_ERROR, DT_ERROR_FAILED, "%s: %s", path, g_strerror (saved));
      return NULL;
    }
  if ((st.st_mode & 0077) != 0)
    {
      g_set_error (error, DT_ERROR, DT_ERROR_ACCESS_DENIED,
                   "%s: other users can access this file (mode %03o), which may hold a "
                   "password; not loaded (run chmod 600 on it)", path, st.st_mode & 0777);
      return NULL;
    }

  if (!g_file_get_contents (path, &data, &length, &local_error))
    {
      g_set_error (error, DT_ERROR, DT_ERROR_INVALID_ARGUMENTS, "%s: %s", path, local_error->message);
      return NULL;
    }
  return dt_account_file_parse (id, data, length, path, error);
}

DtSettings *
dt_account_file_parse (const char  *id,
                       const char  *data,
                       gsize        length,
                       const char  *path,
                       GError     **error)
{
  g_autoptr(GKeyFile) keyfile = g_key_file_new ();
  g_autoptr(DtSettings) settings = dt_settings_new (dt_account_setting_specs ());
  g_autoptr(GError) local_error = NULL;
  g_auto(GStrv) groups = NULL;
  const char *file_id;

  if (!g_key_file_load_from_data (keyfile, data, length, G_KEY_FILE_KEEP_COMMENTS, &local_error))
    {
      g_set_error (error, DT_ERROR, DT_ERROR_INVALID_ARGUMENTS, "%s: %s", path, local_error->message);
      return NULL;
    }
  groups = g_key_file_get_groups (keyfile, NULL);
  for (char **g = groups; *g; g++)
    if (!g_str_equal (*g, GROUP))
      {
        g_set_error (error, DT_ERROR, DT_ERROR_INVALID_ARGUMENTS,
                     "%s: [%s]: unknown group (expected only [" GROUP "])", path, *g);
        return NULL;
      }
  if (!g_key_file_has_group (keyfile, GROUP))
    {
      g_set_error (error, DT_ERROR, DT_ERROR_INVALID_ARGUMENTS,
                   "%s: no [" GROUP "] group", path);
      return NULL;
    }
  if (!dt_settings_load_keyfile (settings, keyfile, GROUP, &local_error))
    {
      g_set_error (error, DT_ERROR, DT_ERROR_INVALID_ARGUMENTS, "%s: [" GROUP "] %s",
                   path, local_error->message);
      return NULL;
    }

  file_id = dt_settings_get_string (settings, "id");
  if (file_id != NULL && !g_str_equal (file_id, id))
    {
      g_set_error (error, DT_ERROR, DT_ERROR_INVALID_ARGUMENTS,
                   "%s: [" GROUP "] id: '%s' does not match the file name", path, file_id);
      return NULL;
    }
  if (!dt_settings_set (settings, "id", g_variant_new_string (id), &local_error))
    {
      g_set_error (error, DT_ERROR, DT_ERROR_INVALID_ARGUMENTS, "%s: file name: %s",
                   path, local_error->message);
      return NULL;
    }
  return g_steal_pointer (&settings);
}

gboolean
dt_account_file_save (const char        *dir,
                      const DtSettings  *settings,
                      GError           **error)
{
  g_autoptr(GKeyFile) keyfile = g_key_file_new ();
  g_autoptr(GError) local_error = NULL;
  const char *id = dt_settings_get_string (settings, "id");
  g_autofree char *name = g_strconcat (id, SUFFIX, NULL);
  g_autofree char *path = g_build_filename (dir, name, NULL);
  g_autofree char *data = NULL;
  gsize len;

  g_return_val_if_fail (dt_account_id_is_valid (id), FALSE);

  if (g_mkdir_with_parents (dir, 0700) != 0)
    {
      int saved = errno;
      g_set_error (error, DT_ERROR, DT_ERROR_FAILED, "cannot create %s: %s", dir, g_strerror (saved));
      return FALSE;
    }

  dt_settings_save_keyfile (settings, keyfile, GROUP);
  /* The id is the file name; writing it too would let the two disagree. */
  g_key_file_remove_key (keyfile, GROUP, "id", NULL);
  g_key_file_set_comment (keyfile, NULL, NULL,
                          " Written by dialtoned. Edit it while dialtoned is stopped, or use\n"
                          " 'dialtonectl account set'. See dialtoned.conf(5).", NULL);
  data = g_key_file_to_data (keyfile, &len, NULL);

  /* Write to a temporary file, fsync, rename: a crash leaves the old or the
   * new file, never half of one. */
  if (!g_file_set_contents_full (path, data, len,
                                 G_FILE_SET_CONTENTS_CONSISTENT | G_FILE_SET_CONTENTS_DURABLE,
                                 0600, &local_error))
    {
      g_set_error (error, DT_ERROR, DT_ERROR_FAILED, "cannot write %s: %s", path, local_error->message);
      return FALSE;
    }
  return TRUE;
}

gboolean
dt_account_file_delete (const char  *dir,
                        const char  *id,
                        GError     **error)
{
  g_autofree char *name = g_strconcat (id, SUFFIX, NULL);
  g_autofree char *path = g_build_filename (dir, name, NULL);

  if (g_unlink (path) != 0 && errno != ENOENT)
    {
      int saved = errno;
      g_set_error (error, DT_ERROR, DT_ERROR_FAILED, "cannot delete %s: %s", path, g_strerror (saved));
      return FALSE;
    }
  return TRUE;
}
