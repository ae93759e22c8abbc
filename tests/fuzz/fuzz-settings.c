/* Settings from D-Bus (daemon/core/dt-settings.c): an a{sv} as a client
 * sends it to CreateAccount, Account.Update, Dial/Answer options, PlayFile
 * and StartRecording, here checked against the account schema and each
 * group of the configuration schema. The input is GVariant text
 * ("{'id': <'bob'>}", what gdbus and dialtonectl users type) when it starts
 * with '{' or '@', else GVariant's serialised form (what arrives on the
 * bus), untrusted. Whatever is accepted must come back out unchanged
 * through the a{sv} we publish and through the key file we store. */

#include <string.h>

#include "core/dt-account.h"
#include "core/dt-config.h"
#include "core/dt-error.h"
#include "sip/dt-sip-backend.h"

#include "fuzz.h"

static DtSipBackend *backend;
static DtConfig *config;
static const char *const config_groups[] = { "daemon", "sip", "media", "calls", NULL };

int
LLVMFuzzerInitialize (int    *argc,
                      char ***argv)
{
  DtSipBackendOptions options = { 0 };
  g_autoptr(GError) error = NULL;

  fuzz_setup_logging ();
  /* The real URI checks; no account is added, so nothing is bound. */
  backend = dt_sip_backend_new (&options, &error);
  FUZZ_CHECK (backend != NULL, "%s", error->message);
  config = dt_config_new ();
  return 0;
}

static void
check_error (const GError *error)
{
  FUZZ_CHECK (error->domain == DT_ERROR && error->code == DT_ERROR_INVALID_ARGUMENTS,
              "unexpected error %s %d: %s", g_quark_to_string (error->domain), error->code,
              error->message);
  /* A D-Bus error message must be UTF-8, or the reply is not sent. */
  FUZZ_CHECK (g_utf8_validate (error->message, -1, NULL), "error is not UTF-8");
}

/* Accepted settings survive publishing and storing. */
static void
check_round_trips (DtSettings *settings)
{
  g_autoptr(DtSettings) back = dt_settings_copy (settings);
  g_autoptr(DtSettings) stored = dt_settings_copy (settings);
  g_autoptr(GVariant) published = g_variant_ref_sink (dt_settings_to_vardict (settings));
  g_autoptr(GVariant) republished = NULL;
  g_autoptr(GVariant) restored = NULL;
  g_autoptr(GKeyFile) keyfile = g_key_file_new ();
  g_autoptr(GKeyFile) reread = g_key_file_new ();
  g_autoptr(GError) error = NULL;
  g_autofree char *text = NULL;
  gsize length;

  FUZZ_CHECK (g_variant_is_normal_form (published), "published a{sv} not in normal form");

  /* Both start from nothing but the secrets, which are not published. */
  {
    GVariantIter iter;
    const char *key;

    g_variant_iter_init (&iter, published);
    while (g_variant_iter_next (&iter, "{&sv}", &key, NULL))
      {
        dt_settings_unset (back, key);
        dt_settings_unset (stored, key);
      }
  }

  /* What we publish, a client may send back as it is. */
  FUZZ_CHECK (dt_settings_update_vardict (back, published, &error),
              "our own a{sv} refused: %s", error->message);
  republished = g_variant_ref_sink (dt_settings_to_vardict (back));
  FUZZ_CHECK (g_variant_equal (published, republished), "a{sv} changed on the way back");

  /* What we store, we read back the same. */
  dt_settings_save_keyfile (settings, keyfile, "g");
  text = g_key_file_to_data (keyfile, &length, NULL);
  FUZZ_CHECK (g_key_file_load_from_data (reread, text, length, G_KEY_FILE_NONE, &error),
              "our key file does not parse: %s\n%s", error->message, text);
  FUZZ_CHECK (dt_settings_load_keyfile (stored, reread, "g", &error),
              "our key file refused: %s\n%s", error->message, text);
  restored = g_variant_ref_sink (dt_settings_to_vardict (stored));
  FUZZ_CHECK (g_variant_equal (published, restored), "settings changed through the key file:\n%s", text);
}

static void
apply (DtSettings *settings,
       GVariant   *asv,
       gboolean    is_account)
{
  g_autoptr(GError) error = NULL;

  /* Not floating: borrowed, as the daemon's callers do. */
  if (!dt_settings_update_vardict (settings, asv, &error))
    {
      check_error (error);
      return;
    }
  check_round_trips (settings);
  if (is_account && !dt_account_validate_settings (settings, DT_BACKEND (backend), &error))
    check_error (error);
}

static GVariant *
variant_from_input (const uint8_t *data,
                    size_t         size)
{
  gpointer copy;

  if (size > 0 && (data[0] == '{' || data[0] == '@'))
    {
      g_autofree char *text = g_strndup ((const char *) data, size);

      /* The text parser is GLib's, and slow on deep nesting: cap it. It
       * also takes strings that are not UTF-8 to g_variant_new_string(),
       * a critical; what arrives from the bus is checked already. */
      if (size > 4096 || !g_utf8_validate (text, -1, NULL))
        return NULL;
      return g_variant_parse (G_VARIANT_TYPE_VARDICT, text, NULL, NULL, NULL);
    }
  copy = g_memdup2 (data, size);
  return g_variant_ref_sink (g_variant_new_from_data (G_VARIANT_TYPE_VARDICT,
                                                      copy, size, FALSE, g_free, copy));
}

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  g_autoptr(GVariant) asv = variant_from_input (data, size);

  if (asv == NULL)
    return 0;
  {
    g_autoptr(DtSettings) account = dt_settings_new (dt_account_setting_specs ());
    apply (account, asv, TRUE);
  }
  for (const char *const *g = config_groups; *g; g++)
    {
      g_autoptr(DtSettings) group = dt_settings_copy (dt_config_get_group (config, *g));
      apply (group, asv, FALSE);
    }
  return 0;
}
