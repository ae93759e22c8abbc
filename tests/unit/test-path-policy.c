#include <string.h>
#include <unistd.h>

#include <glib.h>
#include <glib/gstdio.h>

#include "core/dt-error.h"
#include "core/dt-path-policy.h"

/* A tree to play in:
 *   ROOT/prompts/hello.wav          a file to play
 *   ROOT/prompts/inside -> hello.wav
 *   ROOT/prompts/outside -> ROOT/secret.wav
 *   ROOT/prompts/nowhere -> ROOT/missing.wav
 *   ROOT/prompts/up -> ROOT          a folder link leading out
 *   ROOT/recordings/                 where recordings may go
 *   ROOT/recordings/escape -> ROOT/elsewhere.wav (does not exist)
 *   ROOT/secret.wav                  outside every allowed folder
 *   ROOT/via -> ROOT/prompts         a folder link leading in */
typedef struct {
  char         *root;
  DtPathPolicy *policy;
} Fixture;

static char *
at (Fixture *f, const char *rel)
{
  return g_build_filename (f->root, rel, NULL);
}

static void
link_to (Fixture *f, const char *target, const char *rel)
{
  g_autofree char *path = at (f, rel);

  g_assert_cmpint (symlink (target, path), ==, 0);
}

static void
fixture_set_up (Fixture *f, gconstpointer data)
{
  g_autofree char *tmp = g_dir_make_tmp ("dt-paths-XXXXXX", NULL);
  g_autofree char *prompts = NULL, *recordings = NULL, *hello = NULL, *secret = NULL;
  g_autofree char *missing = NULL, *elsewhere = NULL;

  /* The temporary folder itself may be behind a link (/tmp on some
   * systems): everything below is compared with resolved paths. */
  f->root = realpath (tmp, NULL);
  prompts = at (f, "prompts");
  recordings = at (f, "recordings");
  hello = at (f, "prompts/hello.wav");
  secret = at (f, "secret.wav");
  missing = at (f, "missing.wav");
  elsewhere = at (f, "elsewhere.wav");
  g_assert_cmpint (g_mkdir (prompts, 0700), ==, 0);
  g_assert_cmpint (g_mkdir (recordings, 0700), ==, 0);
  g_assert_true (g_file_set_contents (hello, "RIFF", -1, NULL));
  g_assert_true (g_file_set_contents (secret, "RIFF", -1, NULL));
  link_to (f, "hello.wav", "prompts/inside");
  link_to (f, secret, "prompts/outside");
  link_to (f, missing, "prompts/nowhere");
  link_to (f, f->root, "prompts/up");
  link_to (f, elsewhere, "recordings/escape");
  link_to (f, prompts, "via");
  f->policy = dt_path_policy_new_restricted ((const char * const[]) { prompts, NULL },
                                             (const char * const[]) { recordings, NULL });
}

static void
fixture_tear_down (Fixture *f, gconstpointer data)
{
  static const char * const files[] = {
    "prompts/inside", "prompts/outside", "prompts/nowhere", "prompts/up", "prompts/hello.wav",
    "recordings/escape", "secret.wav", "via", "elsewhere.wav", "recordings", "prompts", NULL
  };

  for (const char * const *name = files; *name != NULL; name++)
    {
      g_autofree char *path = at (f, *name);

      g_assert_true (g_remove (path) == 0 || g_str_equal (*name, "elsewhere.wav"));
    }
  g_rmdir (f->root);
  g_object_unref (f->policy);
  free (f->root);
}

typedef struct {
  const char   *path;       /* relative to ROOT unless absolute */
  DtPathAccess  access;
  int           code;       /* -1: allowed */
  const char   *resolved;   /* relative to ROOT, when allowed */
} Case;

static void
test_restricted (Fixture *f, gconstpointer data)
{
  const Case cases[] = {
    { "prompts/hello.wav", DT_PATH_ACCESS_READ, -1, "prompts/hello.wav" },
    { "prompts/./hello.wav", DT_PATH_ACCESS_READ, -1, "prompts/hello.wav" },
    { "recordings/../prompts/hello.wav", DT_PATH_ACCESS_READ, -1, "prompts/hello.wav" },
    { "via/hello.wav", DT_PATH_ACCESS_READ, -1, "prompts/hello.wav" },
    { "prompts/inside", DT_PATH_ACCESS_READ, -1, "prompts/hello.wav" },
    { "prompts/missing.wav", DT_PATH_ACCESS_READ, DT_ERROR_NOT_FOUND, NULL },
    { "prompts/nowhere", DT_PATH_ACCESS_READ, DT_ERROR_ACCESS_DENIED, NULL },
    { "prompts/outside", DT_PATH_ACCESS_READ, DT_ERROR_ACCESS_DENIED, NULL },
    { "prompts/up/secret.wav", DT_PATH_ACCESS_READ, DT_ERROR_ACCESS_DENIED, NULL },
    { "prompts/../secret.wav", DT_PATH_ACCESS_READ, DT_ERROR_ACCESS_DENIED, NULL },
    { "secret.wav", DT_PATH_ACCESS_READ, DT_ERROR_ACCESS_DENIED, NULL },
    { "/etc/passwd", DT_PATH_ACCESS_READ, DT_ERROR_ACCESS_DENIED, NULL },
    /* Missing outside: forbidden, not missing (no probing). */
    { "/nonexistent/dir/x.wav", DT_PATH_ACCESS_READ, DT_ERROR_ACCESS_DENIED, NULL },
    { "prompts/no/dir/x.wav", DT_PATH_ACCESS_READ, DT_ERROR_NOT_FOUND, NULL },
    { "prompts/../../x/y.wav", DT_PATH_ACCESS_READ, DT_ERROR_ACCESS_DENIED, NULL },
    { "prompts", DT_PATH_ACCESS_READ, DT_ERROR_ACCESS_DENIED, NULL },
    { "prompts/", DT_PATH_ACCESS_READ, DT_ERROR_INVALID_ARGUMENTS, NULL },
    { "prompts/..", DT_PATH_ACCESS_READ, DT_ERROR_INVALID_ARGUMENTS, NULL },
    { "relative.wav", DT_PATH_ACCESS_READ, DT_ERROR_INVALID_ARGUMENTS, NULL },
    { "", DT_PATH_ACCESS_READ, DT_ERROR_INVALID_ARGUMENTS, NULL },
    /* A folder allowed for one thing is not allowed for the other. */
    { "prompts/hello.wav", DT_PATH_ACCESS_WRITE, DT_ERROR_ACCESS_DENIED, NULL },
    { "recordings/new.wav", DT_PATH_ACCESS_WRITE, -1, "recordings/new.wav" },
    { "prompts/../recordings/new.wav", DT_PATH_ACCESS_WRITE, -1, "recordings/new.wav" },
    { "recordings/new.wav", DT_PATH_ACCESS_READ, DT_ERROR_ACCESS_DENIED, NULL },
    { "recordings/escape", DT_PATH_ACCESS_WRITE, DT_ERROR_ACCESS_DENIED, NULL },
    { "recordings/../secret.wav", DT_PATH_ACCESS_WRITE, DT_ERROR_ACCESS_DENIED, NULL },
    { "recordings/sub/new.wav", DT_PATH_ACCESS_WRITE, DT_ERROR_NOT_FOUND, NULL },
    { "/etc/passwd", DT_PATH_ACCESS_WRITE, DT_ERROR_ACCESS_DENIED, NULL },
    { "/proc/self/fd/1", DT_PATH_ACCESS_WRITE, DT_ERROR_ACCESS_DENIED, NULL },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *path = cases[i].path[0] == '/' || cases[i].path[0] == '\0' ||
                              g_str_equal (cases[i].path, "relative.wav")
                            ? g_strdup (cases[i].path) : at (f, cases[i].path);
      g_autoptr(GError) error = NULL;
      g_autofree char *got = dt_path_policy_check (f->policy, "path", path, cases[i].access, &error);

      g_test_message ("case %u: %s (%s)", i, cases[i].path,
                      cases[i].access == DT_PATH_ACCESS_READ ? "read" : "write");
      if (cases[i].code < 0)
        {
          g_autofree char *want = at (f, cases[i].resolved);

          g_assert_no_error (error);
          g_assert_cmpstr (got, ==, want);
        }
      else
        {
          g_assert_null (got);
          g_assert_error (error, DT_ERROR, cases[i].code);
          g_assert_true (g_str_has_prefix (error->message, "path: "));
        }
    }
  /* Nothing was created by a refused check. */
  {
    g_autofree char *elsewhere = at (f, "elsewhere.wav");
    g_assert_false (g_file_test (elsewhere, G_FILE_TEST_EXISTS));
  }
}

static void
test_denied_names_the_folders (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *got = dt_path_policy_check (f->policy, "audio-sink", "/etc/passwd",
                                               DT_PATH_ACCESS_WRITE, &error);
  g_autofree char *want = g_strdup_printf ("audio-sink: '/etc/passwd' is outside the folders allowed for "
                                           "recording (%s/recordings)", f->root);

  g_assert_null (got);
  g_assert_cmpstr (error->message, ==, want);
}

static void
test_unrestricted (void)
{
  g_autoptr(DtPathPolicy) policy = dt_path_policy_new ();
  g_autoptr(GError) error = NULL;
  g_autofree char *got = dt_path_policy_check (policy, "path", "/etc/../etc/x.wav", DT_PATH_ACCESS_WRITE,
                                               &error);

  /* The session bus: the caller is the daemon's own user, so the path is
   * taken as given (the file system checks the rights when it is opened). */
  g_assert_false (dt_path_policy_is_restricted (policy));
  g_assert_no_error (error);
  g_assert_cmpstr (got, ==, "/etc/../etc/x.wav");
  g_clear_pointer (&got, g_free);
  got = dt_path_policy_check (policy, "path", "x.wav", DT_PATH_ACCESS_READ, &error);
  g_assert_null (got);
  g_assert_error (error, DT_ERROR, DT_ERROR_INVALID_ARGUMENTS);
  g_clear_error (&error);
  got = dt_path_policy_check (policy, "path", "/tmp/a\nb.wav", DT_PATH_ACCESS_READ, &error);
  g_assert_null (got);
  g_assert_error (error, DT_ERROR, DT_ERROR_INVALID_ARGUMENTS);
}

static void
test_no_folders_allows_nothing (void)
{
  g_autoptr(DtPathPolicy) policy = dt_path_policy_new_restricted (NULL, (const char * const[]) { "/", NULL });
  g_autoptr(GError) error = NULL;
  g_autofree char *got = dt_path_policy_check (policy, "path", "/etc/passwd", DT_PATH_ACCESS_READ, &error);

  g_assert_null (got);
  g_assert_error (error, DT_ERROR, DT_ERROR_ACCESS_DENIED);
  g_assert_nonnull (strstr (error->message, "none configured"));
  g_clear_error (&error);
  /* "/" allows everything below it. */
  got = dt_path_policy_check (policy, "path", "/tmp/x.wav", DT_PATH_ACCESS_WRITE, &error);
  g_assert_no_error (error);
  g_assert_nonnull (got);
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  g_test_add ("/path-policy/restricted", Fixture, NULL, fixture_set_up, test_restricted, fixture_tear_down);
  g_test_add ("/path-policy/denied-names-the-folders", Fixture, NULL, fixture_set_up,
              test_denied_names_the_folders, fixture_tear_down);
  g_test_add_func ("/path-policy/unrestricted", test_unrestricted);
  g_test_add_func ("/path-policy/no-folders-allows-nothing", test_no_folders_allows_nothing);
  return g_test_run ();
}
