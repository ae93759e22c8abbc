/* The files a D-Bus client may name (daemon/core/dt-path-policy.c): the
 * input is the path of PlayFile or StartRecording. A relative input is
 * taken inside a scratch tree made at start-up, whose allowed folders hold
 * links out, links in, links to nowhere and a look-alike sibling folder; an
 * absolute one is used as given. Whatever the restricted policy accepts
 * must resolve, by our own reckoning, to below an allowed folder. Nothing
 * is opened or created. */

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "core/dt-error.h"
#include "core/dt-path-policy.h"

#include "fuzz.h"

static char *root;
static char *read_real;
static char *write_real;
static DtPathPolicy *restricted;
static DtPathPolicy *open_policy;

static void
make_file (const char *relative)
{
  g_autofree char *path = g_build_filename (root, relative, NULL);

  FUZZ_CHECK (g_file_set_contents (path, "RIFF", 4, NULL), "cannot write %s", path);
}

static void
make_link (const char *relative,
           const char *target)
{
  g_autofree char *path = g_build_filename (root, relative, NULL);
  g_autofree char *to = g_build_filename (root, target, NULL);

  FUZZ_CHECK (symlink (to, path) == 0, "cannot link %s: %s", path, g_strerror (errno));
}

static void
remove_tree (const char *dir)
{
  g_autoptr(GDir) d = g_dir_open (dir, 0, NULL);
  const char *name;

  while (d != NULL && (name = g_dir_read_name (d)) != NULL)
    {
      g_autofree char *p = g_build_filename (dir, name, NULL);

      if (g_file_test (p, G_FILE_TEST_IS_DIR) && !g_file_test (p, G_FILE_TEST_IS_SYMLINK))
        remove_tree (p);
      else
        g_unlink (p);
    }
  g_rmdir (dir);
}

static void
clean_up (void)
{
  remove_tree (root);
}

int
LLVMFuzzerInitialize (int    *argc,
                      char ***argv)
{
  static const char *const dirs[] = { "allowed", "allowed/sub", "allowed-sibling", "outside", "rec", NULL };
  g_autofree char *read_dir = NULL;
  g_autofree char *write_dir = NULL;

  fuzz_setup_logging ();
  root = g_dir_make_tmp ("dt-fuzz-paths-XXXXXX", NULL);
  FUZZ_CHECK (root != NULL, "no scratch folder");
  atexit (clean_up);
  for (const char *const *d = dirs; *d; d++)
    {
      g_autofree char *path = g_build_filename (root, *d, NULL);
      FUZZ_CHECK (g_mkdir (path, 0700) == 0, "cannot make %s", path);
    }
  make_file ("allowed/a.wav");
  make_file ("allowed/sub/b.wav");
  make_file ("allowed-sibling/c.wav");
  make_file ("outside/secret.wav");
  make_link ("allowed/link-out.wav", "outside/secret.wav");
  make_link ("allowed/link-in.wav", "allowed/a.wav");
  make_link ("allowed/dir-out", "outside");
  make_link ("allowed/dangling.wav", "nowhere/x.wav");
  make_link ("rec/link-out.wav", "outside/new.wav");
  make_link ("rec/dir-out", "outside");

  read_dir = g_build_filename (root, "allowed", NULL);
  write_dir = g_build_filename (root, "rec", NULL);
  read_real = realpath (read_dir, NULL);
  write_real = realpath (write_dir, NULL);
  {
    const char *const reads[] = { read_dir, NULL };
    const char *const writes[] = { write_dir, NULL };

    restricted = dt_path_policy_new_restricted (reads, writes);
  }
  open_policy = dt_path_policy_new ();
  return 0;
}

static gboolean
below (const char *path,
       const char *dir)
{
  gsize len = strlen (dir);

  return strncmp (path, dir, len) == 0 && path[len] == '/' && path[len + 1] != '\0';
}

static void
check_error (const GError *error)
{
  FUZZ_CHECK (error != NULL && error->domain == DT_ERROR &&
              (error->code == DT_ERROR_INVALID_ARGUMENTS || error->code == DT_ERROR_ACCESS_DENIED ||
               error->code == DT_ERROR_NOT_FOUND), "unexpected error %d", error ? error->code : -1);
  FUZZ_CHECK (g_str_has_prefix (error->message, "path: "), "error does not name the key: %s", error->message);
  FUZZ_CHECK (g_utf8_validate (error->message, -1, NULL), "error is not UTF-8");
}

static void
check_access (const char   *path,
              DtPathAccess  access)
{
  const char *allowed = access == DT_PATH_ACCESS_READ ? read_real : write_real;
  g_autoptr(GError) error = NULL;
  g_autofree char *checked = dt_path_policy_check (restricted, "path", path, access, &error);
  g_autofree char *opened = NULL;

  if (checked == NULL)
    {
      check_error (error);
      return;
    }
  /* Our own reckoning of where it leads: the file itself for reading (it
   * exists), its folder for writing (the file need not). */
  FUZZ_CHECK (g_path_is_absolute (checked), "'%s' from '%s'", checked, path);
  if (access == DT_PATH_ACCESS_READ)
    {
      opened = realpath (checked, NULL);
      FUZZ_CHECK (opened != NULL, "'%s' accepted for reading does not exist", checked);
    }
  else
    {
      g_autofree char *dir = g_path_get_dirname (checked);
      g_autofree char *base = g_path_get_basename (checked);
      g_autofree char *real_dir = realpath (dir, NULL);

      FUZZ_CHECK (real_dir != NULL, "the folder of '%s' does not exist", checked);
      FUZZ_CHECK (strcmp (base, "..") != 0 && strcmp (base, ".") != 0, "'%s' is a folder", checked);
      opened = g_build_filename (real_dir, base, NULL);
    }
  FUZZ_CHECK (below (opened, allowed), "'%s' (from '%s') leads to '%s', outside %s",
              checked, path, opened, allowed);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  g_autofree char *input = g_strndup ((const char *) data, size);
  g_autofree char *path = input[0] == '/' ? g_strdup (input) : g_build_filename (root, input, NULL);
  g_autoptr(GError) error = NULL;
  g_autofree char *as_given = NULL;

  /* A name longer than the system takes is refused by realpath(), not by
   * us; nothing to learn from it. */
  if (strlen (path) > 1024)
    return 0;
  check_access (path, DT_PATH_ACCESS_READ);
  check_access (path, DT_PATH_ACCESS_WRITE);

  /* Unrestricted, any absolute path is taken as given. */
  as_given = dt_path_policy_check (open_policy, "path", path, DT_PATH_ACCESS_READ, &error);
  if (as_given == NULL)
    check_error (error);
  else
    FUZZ_CHECK (g_str_equal (as_given, path), "'%s' became '%s'", path, as_given);
  return 0;
}
