#include "dt-path-policy.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <glib/gstdio.h>

#include "dt-error.h"
#include "dt-settings.h"

struct _DtPathPolicy {
  GObject   parent_instance;
  gboolean  restricted;
  GStrv     read_dirs;
  GStrv     write_dirs;
};

G_DEFINE_FINAL_TYPE (DtPathPolicy, dt_path_policy, G_TYPE_OBJECT)

static void
dt_path_policy_finalize (GObject *object)
{
  DtPathPolicy *self = DT_PATH_POLICY (object);

  g_strfreev (self->read_dirs);
  g_strfreev (self->write_dirs);
  G_OBJECT_CLASS (dt_path_policy_parent_class)->finalize (object);
}

static void
dt_path_policy_class_init (DtPathPolicyClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = dt_path_policy_finalize;
}

static void
dt_path_policy_init (DtPathPolicy *self)
{
}

DtPathPolicy *
dt_path_policy_new (void)
{
  DtPathPolicy *self = g_object_new (DT_TYPE_PATH_POLICY, NULL);

  self->read_dirs = g_new0 (char *, 1);
  self->write_dirs = g_new0 (char *, 1);
  return self;
}

DtPathPolicy *
dt_path_policy_new_restricted (const char * const *read_dirs,
                               const char * const *write_dirs)
{
  DtPathPolicy *self = g_object_new (DT_TYPE_PATH_POLICY, NULL);

  self->restricted = TRUE;
  self->read_dirs = g_strdupv ((char **) read_dirs);
  self->write_dirs = g_strdupv ((char **) write_dirs);
  if (self->read_dirs == NULL)
    self->read_dirs = g_new0 (char *, 1);
  if (self->write_dirs == NULL)
    self->write_dirs = g_new0 (char *, 1);
  return self;
}

gboolean
dt_path_policy_is_restricted (DtPathPolicy *self)
{
  return self->restricted;
}

const char * const *
dt_path_policy_get_dirs (DtPathPolicy *self,
                         DtPathAccess  access)
{
  return (const char * const *) (access == DT_PATH_ACCESS_READ ? self->read_dirs : self->write_dirs);
}

static gboolean
is_below (const char *path,
          const char *dir)
{
  gsize len = strlen (dir);

  if (g_str_equal (dir, "/"))
    return path[1] != '\0';
  return strncmp (path, dir, len) == 0 && path[len] == '/' && path[len + 1] != '\0';
}

/* @resolved is below one of @dirs, each taken with its own links resolved
 * now (a folder may be created, or moved behind a link, after start-up). */
static gboolean
is_allowed (const char * const *dirs,
            const char         *resolved)
{
  for (const char * const *d = dirs; *d != NULL; d++)
    {
      g_autofree char *real = realpath (*d, NULL);

      if (real != NULL && is_below (resolved, real))
        return TRUE;
    }
  return FALSE;
}

/* The same test before anything is resolved (".." removed by spelling
 * only): it decides whether a missing folder may be reported as missing
 * or only as forbidden. */
static gboolean
is_allowed_by_name (const char * const *dirs,
                    const char         *path)
{
  g_autofree char *spelled = g_canonicalize_filename (path, "/");

  for (const char * const *d = dirs; *d != NULL; d++)
    {
      g_autofree char *dir = g_canonicalize_filename (*d, "/");
      g_autofree char *real = realpath (*d, NULL);

      if (is_below (spelled, dir) || (real != NULL && is_below (spelled, real)))
        return TRUE;
    }
  return FALSE;
}

static void
set_denied (GError             **error,
            const char          *key,
            const char          *path,
            DtPathAccess         access,
            const char * const  *dirs)
{
  g_autofree char *list = g_strjoinv (", ", (char **) dirs);

  g_set_error (error, DT_ERROR, DT_ERROR_ACCESS_DENIED,
               "%s: '%s' is outside the folders allowed for %s (%s)", key, path,
               access == DT_PATH_ACCESS_READ ? "playing" : "recording",
               *list != '\0' ? list : "none configured");
}

static void
set_errno_error (GError     **error,
                 const char  *key,
                 const char  *what,
                 int          saved)
{
  int code = saved == ENOENT || saved == ENOTDIR ? DT_ERROR_NOT_FOUND
           : saved == EACCES || saved == EPERM ? DT_ERROR_ACCESS_DENIED
           : DT_ERROR_INVALID_ARGUMENTS;

  g_set_error (error, DT_ERROR, code, "%s: %s: %s", key, what, g_strerror (saved));
}

static char *
resolve_within (DtPathPolicy  *self,
                const char    *key,
                const char    *path,
                DtPathAccess   access,
                GError       **error)
{
  const char * const *dirs = dt_path_policy_get_dirs (self, access);
  g_autofree char *base = g_path_get_basename (path);
  g_autofree char *dir = g_path_get_dirname (path);
  g_autofree char *real_dir = NULL;
  g_autofree char *candidate = NULL;
  struct stat st;

  if (g_str_has_suffix (path, "/") || g_str_equal (base, ".") || g_str_equal (base, ".."))
    {
      g_set_error (error, DT_ERROR, DT_ERROR_INVALID_ARGUMENTS, "%s: '%s' names a folder, not a file",
                   key, path);
      return NULL;
    }

  /* The folder must exist: realpath() resolves it completely, so "..",
   * links to elsewhere and links to links all end where they really go. */
  real_dir = realpath (dir, NULL);
  if (real_dir == NULL)
    {
      int saved = errno;

      if (!is_allowed_by_name (dirs, path))
        set_denied (error, key, path, access, dirs);
      else
        set_errno_error (error, key, dir, saved);
      return NULL;
    }
  candidate = g_build_filename (real_dir, base, NULL);

  /* The last part may be a link too: what it points at is what would be
   * opened (a recording follows it when it replaces the file). A link to
   * nowhere would be created where it points, and says nothing about
   * where that is, so it is refused either way. */
  if (lstat (candidate, &st) == 0 && S_ISLNK (st.st_mode))
    {
      g_autofree char *target = realpath (candidate, NULL);

      if (target == NULL)
        {
          if (!is_allowed (dirs, candidate))
            set_denied (error, key, path, access, dirs);
          else
            g_set_error (error, DT_ERROR, DT_ERROR_ACCESS_DENIED,
                         "%s: '%s' is a symbolic link to nowhere", key, path);
          return NULL;
        }
      g_free (candidate);
      candidate = g_steal_pointer (&target);
    }

  if (!is_allowed (dirs, candidate))
    {
      set_denied (error, key, path, access, dirs);
      return NULL;
    }
  if (access == DT_PATH_ACCESS_READ && g_access (candidate, F_OK) != 0)
    {
      set_errno_error (error, key, path, errno);
      return NULL;
    }
  return g_steal_pointer (&candidate);
}

char *
dt_path_policy_check (DtPathPolicy  *self,
                      const char    *key,
                      const char    *path,
                      DtPathAccess   access,
                      GError       **error)
{
  g_return_val_if_fail (DT_IS_PATH_POLICY (self), NULL);

  if (path == NULL || *path == '\0')
    {
      g_set_error (error, DT_ERROR, DT_ERROR_INVALID_ARGUMENTS, "%s: '' is not an absolute path", key);
      return NULL;
    }
  if (!dt_text_check (key, path, error))
    return NULL;
  if (!g_path_is_absolute (path))
    {
      g_set_error (error, DT_ERROR, DT_ERROR_INVALID_ARGUMENTS, "%s: '%s' is not an absolute path",
                   key, path);
      return NULL;
    }
  if (!self->restricted)
    return g_strdup (path);
  return resolve_within (self, key, path, access, error);
}
