#include <string.h>

#include <glib.h>
#include <glib/gstdio.h>

#include "core/dt-config.h"
#include "core/dt-error.h"

typedef struct {
  char *dir;
  char *path;
} Fixture;

static void
fixture_set_up (Fixture *f, gconstpointer data)
{
  f->dir = g_dir_make_tmp ("dt-config-XXXXXX", NULL);
  f->path = g_build_filename (f->dir, "dialtoned.conf", NULL);
}

static void
fixture_tear_down (Fixture *f, gconstpointer data)
{
  g_unlink (f->path);
  g_rmdir (f->dir);
  g_free (f->path);
  g_free (f->dir);
}

static void
test_missing_file_means_defaults (Fixture *f, gconstpointer data)
{
  g_autoptr(DtConfig) config = dt_config_new ();
  g_autoptr(GError) error = NULL;

  g_assert_true (dt_config_load_file (config, f->path, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (dt_settings_get_string (dt_config_get_group (config, "daemon"), "log-level"),
                   ==, "message");
}

static void
test_valid_file (Fixture *f, gconstpointer data)
{
  g_autoptr(DtConfig) config = dt_config_new ();
  g_autoptr(GError) error = NULL;

  g_assert_true (g_file_set_contents (f->path, "# comment\n[daemon]\nlog-level = debug\n", -1, NULL));
  g_assert_true (dt_config_load_file (config, f->path, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (dt_settings_get_string (dt_config_get_group (config, "daemon"), "log-level"),
                   ==, "debug");
}

static void
test_rejects (Fixture *f, gconstpointer data)
{
  /* Each bad file gives one line that names the file, the place and the
   * problem; nothing of the file is applied. */
  static const struct { const char *text; const char *after_path; } cases[] = {
    { "[daemon]\nlog-level=loud\n",
      ": [daemon] log-level: 'loud' is not one of error, critical, warning, message, info, debug" },
    { "[daemon]\nlog-levle=debug\n", ": [daemon] log-levle: unknown key" },
    { "[deamon]\nlog-level=debug\n", ": [deamon]: unknown group" },
    { "[daemon]\nlog-level=debug\n[phone]\nport=5060\n", ": [phone]: unknown group" },
    { "[sip]\nport=5060\n", ": [sip] port: unknown key" },
    { "log-level=debug\n", ": Key file does not start with a group" },
    { "[daemon\nlog-level=debug\n", ": Key file contains line" },
    { "[daemon]\nthis line is not a key\n", ": Key file contains line" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(DtConfig) config = dt_config_new ();
      g_autoptr(GError) error = NULL;
      g_autofree char *expected = g_strconcat (f->path, cases[i].after_path, NULL);

      g_test_message ("case %u: %s", i, cases[i].text);
      g_assert_true (g_file_set_contents (f->path, cases[i].text, -1, NULL));
      g_assert_false (dt_config_load_file (config, f->path, &error));
      g_assert_error (error, DT_ERROR, DT_ERROR_INVALID_ARGUMENTS);
      if (!g_str_has_prefix (error->message, expected))
        g_error ("got '%s', expected a message starting '%s'", error->message, expected);
      g_assert_null (strchr (error->message, '\n'));
      g_assert_cmpstr (dt_settings_get_string (dt_config_get_group (config, "daemon"), "log-level"),
                       ==, "message");
    }
}

static void
test_lists_take_commas_or_semicolons (Fixture *f, gconstpointer data)
{
  static const char * const texts[] = { "[media]\ncodecs=pcmu,opus\n", "[media]\ncodecs=pcmu;opus;\n",
                                        "[media]\ncodecs = pcmu , opus\n" };

  for (guint i = 0; i < G_N_ELEMENTS (texts); i++)
    {
      g_autoptr(DtConfig) config = dt_config_new ();
      g_autoptr(GError) error = NULL;
      g_auto(GStrv) codecs = NULL;

      g_assert_true (g_file_set_contents (f->path, texts[i], -1, NULL));
      g_assert_true (dt_config_load_file (config, f->path, &error));
      g_assert_no_error (error);
      codecs = dt_settings_dup_strv (dt_config_get_group (config, "media"), "codecs");
      g_assert_cmpstrv (codecs, ((const char * const[]) { "pcmu", "opus", NULL }));
    }
}

static void
test_unreadable (Fixture *f, gconstpointer data)
{
  g_autoptr(DtConfig) config = dt_config_new ();
  g_autoptr(GError) error = NULL;

  /* A folder where the file should be: unreadable whatever our uid. */
  g_assert_cmpint (g_mkdir (f->path, 0700), ==, 0);
  g_assert_false (dt_config_load_file (config, f->path, &error));
  g_assert_error (error, DT_ERROR, DT_ERROR_INVALID_ARGUMENTS);
  g_assert_true (g_str_has_prefix (error->message, f->path));
  g_rmdir (f->path);
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  g_test_add ("/config/missing-file", Fixture, NULL, fixture_set_up,
              test_missing_file_means_defaults, fixture_tear_down);
  g_test_add ("/config/valid", Fixture, NULL, fixture_set_up, test_valid_file, fixture_tear_down);
  g_test_add ("/config/rejects", Fixture, NULL, fixture_set_up, test_rejects, fixture_tear_down);
  g_test_add ("/config/lists", Fixture, NULL, fixture_set_up, test_lists_take_commas_or_semicolons,
              fixture_tear_down);
  g_test_add ("/config/unreadable", Fixture, NULL, fixture_set_up, test_unreadable, fixture_tear_down);
  return g_test_run ();
}
