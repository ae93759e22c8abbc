#include <string.h>

#include <glib.h>

#include "core/dt-error.h"
#include "core/dt-settings.h"

static gboolean
check_no_spaces (const char *value, GError **error)
{
  if (strchr (value, ' ') == NULL)
    return TRUE;
  g_set_error_literal (error, DT_ERROR, DT_ERROR_INVALID_ARGUMENTS, "must not contain spaces");
  return FALSE;
}

static const char * const transports[] = { "udp", "tcp", "tls", NULL };

static const DtSettingSpec specs[] = {
  { .key = "name", .kind = DT_SETTING_STRING, .check = check_no_spaces },
  { .key = "enabled", .kind = DT_SETTING_BOOLEAN, .default_value = "true" },
  { .key = "expires", .kind = DT_SETTING_UINT, .default_value = "600", .min = 60, .max = 86400 },
  { .key = "transport", .kind = DT_SETTING_CHOICE, .default_value = "udp", .choices = transports },
  { .key = "codecs", .kind = DT_SETTING_STRING_LIST, .default_value = "pcmu,pcma",
    .check = check_no_spaces },
  { .key = "password", .kind = DT_SETTING_STRING, .secret = TRUE },
  { NULL }
};

static void
test_defaults (void)
{
  g_autoptr(DtSettings) s = dt_settings_new (specs);
  g_auto(GStrv) codecs = dt_settings_dup_strv (s, "codecs");

  g_assert_null (dt_settings_get_string (s, "name"));
  g_assert_true (dt_settings_get_boolean (s, "enabled"));
  g_assert_cmpuint (dt_settings_get_uint (s, "expires"), ==, 600);
  g_assert_cmpstr (dt_settings_get_string (s, "transport"), ==, "udp");
  g_assert_cmpstrv (codecs, ((const char * const[]) { "pcmu", "pcma", NULL }));
  g_assert_false (dt_settings_is_set (s, "expires"));
}

typedef struct {
  const char *key;
  const char *text;
  const char *message; /* NULL: accepted */
} TextCase;

static void
test_parse_text (void)
{
  static const TextCase cases[] = {
    { "enabled", "true", NULL },
    { "enabled", "0", NULL },
    { "enabled", "yes please", "enabled: 'yes please' is not a boolean (expected true or false)" },
    { "expires", "60", NULL },
    { "expires", "59", "expires: '59' is not a whole number from 60 to 86400" },
    { "expires", "-1", "expires: '-1' is not a whole number from 60 to 86400" },
    { "expires", "12x", "expires: '12x' is not a whole number from 60 to 86400" },
    { "expires", "99999999999999999999", "expires: '99999999999999999999' is not a whole number from 60 to 86400" },
    { "transport", "tls", NULL },
    { "transport", "sctp", "transport: 'sctp' is not one of udp, tcp, tls" },
    { "name", "alice", NULL },
    { "name", "al ice", "name: must not contain spaces" },
    { "name", "\xff\xfe", "name: not valid UTF-8" },
    { "name", "al\r\nX-Injected: 1", "name: contains a control character (0x0d)" },
    { "name", "al\tice", "name: contains a control character (0x09)" },
    { "name", "al\x7f", "name: contains a control character (0x7f)" },
    { "name", "\xc3\xa9mile", NULL },
    { "codecs", "pcmu,pc\x01ma", "codecs: contains a control character (0x01)" },
    { "codecs", "opus; pcmu ,,g722", NULL },
    { "codecs", "op us", "codecs: must not contain spaces" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      const DtSettingSpec *spec = dt_setting_spec_find (specs, cases[i].key);
      g_autoptr(GError) error = NULL;
      g_autoptr(GVariant) value = dt_setting_parse_text (spec, cases[i].text, &error);

      g_autofree char *shown = g_strescape (cases[i].text, NULL);

      g_test_message ("case %u: %s=%s", i, cases[i].key, shown);

      if (cases[i].message == NULL)
        {
          g_assert_no_error (error);
          g_assert_nonnull (value);
        }
      else
        {
          g_assert_null (value);
          g_assert_error (error, DT_ERROR, DT_ERROR_INVALID_ARGUMENTS);
          g_assert_cmpstr (error->message, ==, cases[i].message);
        }
    }

  /* Lists: split on ',' and ';', items stripped, empty ones dropped. */
  {
    const DtSettingSpec *spec = dt_setting_spec_find (specs, "codecs");
    const struct { const char *text; const char * const expected[4]; } lists[] = {
      { "opus; pcmu ,,g722;", { "opus", "pcmu", "g722", NULL } },
      { "pcma", { "pcma", NULL } },
      { "", { NULL } },
      { " ,;", { NULL } },
    };

    for (guint i = 0; i < G_N_ELEMENTS (lists); i++)
      {
        g_autoptr(GVariant) value = dt_setting_parse_text (spec, lists[i].text, NULL);
        g_autofree const char **items = g_variant_get_strv (value, NULL);

        g_assert_cmpstrv (items, lists[i].expected);
      }
  }
}

static void
test_coerce_variant (void)
{
  const DtSettingSpec *expires = dt_setting_spec_find (specs, "expires");
  const DtSettingSpec *enabled = dt_setting_spec_find (specs, "enabled");
  const DtSettingSpec *codecs = dt_setting_spec_find (specs, "codecs");
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) v = NULL;

  /* Any integer width is fine when it fits. */
  v = dt_setting_coerce_variant (expires, g_variant_new_int32 (120), &error);
  g_assert_no_error (error);
  g_assert_cmpuint (g_variant_get_uint32 (v), ==, 120);
  g_clear_pointer (&v, g_variant_unref);
  v = dt_setting_coerce_variant (expires, g_variant_new_uint64 (3600), &error);
  g_assert_no_error (error);
  g_assert_cmpuint (g_variant_get_uint32 (v), ==, 3600);
  g_clear_pointer (&v, g_variant_unref);

  v = dt_setting_coerce_variant (expires, g_variant_new_int32 (-5), &error);
  g_assert_null (v);
  g_assert_error (error, DT_ERROR, DT_ERROR_INVALID_ARGUMENTS);
  g_assert_cmpstr (error->message, ==, "expires: -5 is out of range (60 to 86400)");
  g_clear_error (&error);

  v = dt_setting_coerce_variant (expires, g_variant_new_uint64 (G_MAXUINT64), &error);
  g_assert_null (v);
  g_assert_error (error, DT_ERROR, DT_ERROR_INVALID_ARGUMENTS);
  g_clear_error (&error);

  v = dt_setting_coerce_variant (expires, g_variant_new_string ("600"), &error);
  g_assert_null (v);
  g_assert_cmpstr (error->message, ==, "expires: expected an unsigned integer, got a value of type 's'");
  g_clear_error (&error);

  v = dt_setting_coerce_variant (enabled, g_variant_new_int32 (1), &error);
  g_assert_null (v);
  g_assert_cmpstr (error->message, ==, "enabled: expected a boolean, got a value of type 'i'");
  g_clear_error (&error);

  v = dt_setting_coerce_variant (codecs, g_variant_new_string ("pcmu"), &error);
  g_assert_null (v);
  g_assert_cmpstr (error->message, ==, "codecs: expected a list of strings, got a value of type 's'");
}

static void
test_vardict_is_all_or_nothing (void)
{
  g_autoptr(DtSettings) s = dt_settings_new (specs);
  g_autoptr(GError) error = NULL;
  GVariantBuilder b;

  g_variant_builder_init (&b, G_VARIANT_TYPE_VARDICT);
  g_variant_builder_add (&b, "{sv}", "expires", g_variant_new_uint32 (300));
  g_variant_builder_add (&b, "{sv}", "bogus", g_variant_new_boolean (TRUE));
  g_assert_false (dt_settings_update_vardict (s, g_variant_builder_end (&b), &error));
  g_assert_error (error, DT_ERROR, DT_ERROR_INVALID_ARGUMENTS);
  g_assert_true (g_str_has_prefix (error->message, "bogus:"));
  /* The valid key before the bad one was not applied either. */
  g_assert_false (dt_settings_is_set (s, "expires"));
  g_clear_error (&error);

  g_assert_false (dt_settings_update_vardict (s, g_variant_new ("(s)", "x"), &error));
  g_assert_error (error, DT_ERROR, DT_ERROR_INVALID_ARGUMENTS);
  g_clear_error (&error);

  g_variant_builder_init (&b, G_VARIANT_TYPE_VARDICT);
  g_variant_builder_add (&b, "{sv}", "expires", g_variant_new_uint32 (300));
  g_variant_builder_add (&b, "{sv}", "transport", g_variant_new_string ("tcp"));
  g_assert_true (dt_settings_update_vardict (s, g_variant_builder_end (&b), &error));
  g_assert_no_error (error);
  g_assert_cmpuint (dt_settings_get_uint (s, "expires"), ==, 300);
  g_assert_cmpstr (dt_settings_get_string (s, "transport"), ==, "tcp");
}

static void
test_keyfile_round_trip (void)
{
  g_autoptr(DtSettings) s = dt_settings_new (specs);
  g_autoptr(DtSettings) back = dt_settings_new (specs);
  g_autoptr(GKeyFile) kf = g_key_file_new ();
  g_autoptr(GKeyFile) kf2 = g_key_file_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) dict = NULL;
  g_autofree char *text = NULL;
  g_auto(GStrv) codecs = NULL;
  const char *codec_list[] = { "opus", "g722", NULL };

  g_assert_true (dt_settings_set (s, "name", g_variant_new_string ("alice"), NULL));
  g_assert_true (dt_settings_set (s, "password", g_variant_new_string ("s3cret"), NULL));
  g_assert_true (dt_settings_set (s, "expires", g_variant_new_uint32 (120), NULL));
  g_assert_true (dt_settings_set (s, "enabled", g_variant_new_boolean (FALSE), NULL));
  g_assert_true (dt_settings_set (s, "codecs", g_variant_new_strv (codec_list, -1), NULL));
  dt_settings_save_keyfile (s, kf, "account");
  text = g_key_file_to_data (kf, NULL, NULL);

  g_assert_true (g_key_file_load_from_data (kf2, text, -1, G_KEY_FILE_NONE, NULL));
  g_assert_true (dt_settings_load_keyfile (back, kf2, "account", &error));
  g_assert_no_error (error);
  g_assert_cmpstr (dt_settings_get_string (back, "name"), ==, "alice");
  g_assert_cmpstr (dt_settings_get_string (back, "password"), ==, "s3cret");
  g_assert_cmpuint (dt_settings_get_uint (back, "expires"), ==, 120);
  g_assert_false (dt_settings_get_boolean (back, "enabled"));
  codecs = dt_settings_dup_strv (back, "codecs");
  g_assert_cmpstrv (codecs, codec_list);
  /* Unset keys stay unset, so a later default change reaches them. */
  g_assert_false (dt_settings_is_set (back, "transport"));

  /* Secrets never come back out over D-Bus, nor go in that way. */
  dict = dt_settings_to_vardict (back);
  g_assert_false (g_variant_lookup (dict, "password", "&s", NULL));
  g_assert_true (g_variant_lookup (dict, "transport", "&s", NULL));
  {
    GVariantBuilder b;

    g_variant_builder_init (&b, G_VARIANT_TYPE_VARDICT);
    g_variant_builder_add (&b, "{sv}", "password", g_variant_new_string ("x"));
    g_assert_false (dt_settings_update_vardict (back, g_variant_builder_end (&b), &error));
    g_assert_error (error, DT_ERROR, DT_ERROR_INVALID_ARGUMENTS);
    g_assert_true (g_str_has_prefix (error->message, "password:"));
    g_assert_cmpstr (dt_settings_get_string (back, "password"), ==, "s3cret");
  }
}

static void
test_empty_string_unsets (void)
{
  g_autoptr(DtSettings) s = dt_settings_new (specs);
  GVariantBuilder b;

  g_assert_true (dt_settings_set (s, "name", g_variant_new_string ("alice"), NULL));
  g_assert_true (dt_settings_is_set (s, "name"));
  g_variant_builder_init (&b, G_VARIANT_TYPE_VARDICT);
  g_variant_builder_add (&b, "{sv}", "name", g_variant_new_string (""));
  g_assert_true (dt_settings_update_vardict (s, g_variant_builder_end (&b), NULL));
  g_assert_false (dt_settings_is_set (s, "name"));
  g_assert_null (dt_settings_get_string (s, "name"));
}

static void
test_keyfile_rejects (void)
{
  static const struct { const char *text; const char *prefix; } cases[] = {
    { "[account]\nexpires=5\n", "expires:" },
    { "[account]\nfrobnicate=1\n", "frobnicate: unknown key" },
    { "[account]\nenabled=maybe\n", "enabled:" },
    { "[account]\ntransport=carrier-pigeon\n", "transport:" },
    /* A bad escape: GKeyFile gives the text and an error (fuzz-keyfile). */
    { "[account]\nname=al\\'ice\n", "name:" },
    { "[account]\ncodecs=pcmu\\'x, pcma\n", "codecs:" },
    { "[account]\nname=a\\=b\\\n", "name:" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(DtSettings) s = dt_settings_new (specs);
      g_autoptr(GKeyFile) kf = g_key_file_new ();
      g_autoptr(GError) error = NULL;

      g_assert_true (g_key_file_load_from_data (kf, cases[i].text, -1, G_KEY_FILE_NONE, NULL));
      g_assert_false (dt_settings_load_keyfile (s, kf, "account", &error));
      g_assert_error (error, DT_ERROR, DT_ERROR_INVALID_ARGUMENTS);
      g_assert_true (g_str_has_prefix (error->message, cases[i].prefix));
    }
}

/* Every client string is bounded: the message names the key, never the
 * value (it may be a password, or megabytes). */
static void
test_text_bounds (void)
{
  const DtSettingSpec *name = dt_setting_spec_find (specs, "name");
  g_autofree char *longest = g_strnfill (DT_TEXT_MAX_LENGTH, 'a');
  g_autofree char *too_long = g_strnfill (DT_TEXT_MAX_LENGTH + 1, 'a');
  g_autofree char *huge = g_strnfill (1 << 20, 'a');
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) v = NULL;

  g_assert_true (dt_text_check ("k", longest, &error));
  g_assert_no_error (error);
  g_assert_true (dt_text_check ("k", "", &error));
  g_assert_false (dt_text_check ("k", too_long, &error));
  g_assert_error (error, DT_ERROR, DT_ERROR_INVALID_ARGUMENTS);
  g_assert_cmpstr (error->message, ==, "k: longer than 4096 bytes");
  g_clear_error (&error);
  v = dt_setting_coerce_variant (name, g_variant_new_string (huge), &error);
  g_assert_null (v);
  g_assert_cmpstr (error->message, ==, "name: longer than 4096 bytes");
  g_clear_error (&error);
  g_assert_false (dt_text_check ("password", "se\ncret", &error));
  g_assert_null (strstr (error->message, "cret"));
}

/* Found by tests/fuzz/fuzz-settings: a value with spaces at its ends,
 * given over D-Bus, came back without them once stored and read again.
 * Both paths now trim, except secrets, which keep every character. */
static void
test_whitespace_survives_the_key_file (void)
{
  g_autoptr(DtSettings) s = dt_settings_new (specs);
  g_autoptr(DtSettings) back = dt_settings_new (specs);
  g_autoptr(GKeyFile) kf = g_key_file_new ();
  g_autoptr(GKeyFile) kf2 = g_key_file_new ();
  g_autoptr(GError) error = NULL;
  g_autofree char *text = NULL;
  GVariantBuilder b;

  g_variant_builder_init (&b, G_VARIANT_TYPE_VARDICT);
  g_variant_builder_add (&b, "{sv}", "name", g_variant_new_string ("  alice "));
  g_variant_builder_add (&b, "{sv}", "transport", g_variant_new_string (" tcp "));
  g_assert_true (dt_settings_update_vardict (s, g_variant_builder_end (&b), &error));
  g_assert_no_error (error);
  g_assert_cmpstr (dt_settings_get_string (s, "name"), ==, "alice");
  g_assert_cmpstr (dt_settings_get_string (s, "transport"), ==, "tcp");
  g_assert_true (dt_settings_set (s, "password", g_variant_new_string ("  p w "), NULL));
  g_assert_cmpstr (dt_settings_get_string (s, "password"), ==, "  p w ");

  dt_settings_save_keyfile (s, kf, "account");
  text = g_key_file_to_data (kf, NULL, NULL);
  g_assert_true (g_key_file_load_from_data (kf2, text, -1, G_KEY_FILE_NONE, NULL));
  g_assert_true (dt_settings_load_keyfile (back, kf2, "account", &error));
  g_assert_no_error (error);
  g_assert_cmpstr (dt_settings_get_string (back, "name"), ==, "alice");
  g_assert_cmpstr (dt_settings_get_string (back, "transport"), ==, "tcp");
  g_assert_cmpstr (dt_settings_get_string (back, "password"), ==, "  p w ");
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/settings/defaults", test_defaults);
  g_test_add_func ("/settings/parse-text", test_parse_text);
  g_test_add_func ("/settings/coerce-variant", test_coerce_variant);
  g_test_add_func ("/settings/vardict-all-or-nothing", test_vardict_is_all_or_nothing);
  g_test_add_func ("/settings/keyfile-round-trip", test_keyfile_round_trip);
  g_test_add_func ("/settings/keyfile-rejects", test_keyfile_rejects);
  g_test_add_func ("/settings/empty-string-unsets", test_empty_string_unsets);
  g_test_add_func ("/settings/text-bounds", test_text_bounds);
  g_test_add_func ("/settings/whitespace-survives-the-key-file", test_whitespace_survives_the_key_file);
  return g_test_run ();
}
