/* Key files (daemon/core/dt-config.c, dt-account-file.c): the input is
 * the text of dialtoned.conf and of accounts/fuzz.account. A file is
 * loaded whole or refused with a message naming what is wrong; an account
 * that loads is stored the way the daemon stores it and must load back the
 * same. */

#include <string.h>

#include "core/dt-account.h"
#include "core/dt-account-file.h"
#include "core/dt-config.h"
#include "core/dt-error.h"
#include "sip/dt-sip-backend.h"

#include "fuzz.h"

static DtSipBackend *backend;
static const char *const config_groups[] = { "daemon", "sip", "media", "calls", NULL };

int
LLVMFuzzerInitialize (int    *argc,
                      char ***argv)
{
  DtSipBackendOptions options = { 0 };
  g_autoptr(GError) error = NULL;

  fuzz_setup_logging ();
  backend = dt_sip_backend_new (&options, &error);
  FUZZ_CHECK (backend != NULL, "%s", error->message);
  return 0;
}

static void
check_error (const GError *error,
             const char   *path)
{
  FUZZ_CHECK (error->domain == DT_ERROR && error->code == DT_ERROR_INVALID_ARGUMENTS,
              "unexpected error %s %d: %s", g_quark_to_string (error->domain), error->code,
              error->message);
  FUZZ_CHECK (g_str_has_prefix (error->message, path), "error does not name the file: %s",
              error->message);
}

static GVariant *
everything (const DtSettings *settings)
{
  GVariant *published = dt_settings_to_vardict (settings);
  const char *password = dt_settings_get_string (settings, "password");

  return g_variant_ref_sink (g_variant_new ("(@a{sv}ms)", published, password));
}

static void
config_case (const uint8_t *data,
             size_t         size)
{
  g_autoptr(DtConfig) config = dt_config_new ();
  g_autoptr(DtConfig) pristine = dt_config_new ();
  g_autoptr(GError) error = NULL;

  if (dt_config_load_data (config, (const char *) data, size, "dialtoned.conf", &error))
    return;
  check_error (error, "dialtoned.conf");
  /* A refused file changes nothing. */
  for (const char *const *g = config_groups; *g; g++)
    {
      g_autoptr(GVariant) now = g_variant_ref_sink (dt_settings_to_vardict (dt_config_get_group (config, *g)));
      g_autoptr(GVariant) before = g_variant_ref_sink (dt_settings_to_vardict (dt_config_get_group (pristine, *g)));

      FUZZ_CHECK (g_variant_equal (now, before), "[%s] changed by a refused file", *g);
    }
}

static void
account_case (const uint8_t *data,
              size_t         size)
{
  g_autoptr(DtSettings) settings = NULL;
  g_autoptr(DtSettings) again = NULL;
  g_autoptr(GKeyFile) keyfile = g_key_file_new ();
  g_autoptr(GVariant) first = NULL;
  g_autoptr(GVariant) second = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *text = NULL;
  gsize length;

  settings = dt_account_file_parse ("fuzz", (const char *) data, size, "fuzz.account", &error);
  if (settings == NULL)
    {
      check_error (error, "fuzz.account");
      return;
    }
  FUZZ_CHECK (g_str_equal (dt_settings_get_string (settings, "id"), "fuzz"), "id is not the file's");
  if (!dt_account_validate_settings (settings, DT_BACKEND (backend), &error))
    FUZZ_CHECK (error->domain == DT_ERROR && error->code == DT_ERROR_INVALID_ARGUMENTS,
                "validation failed with %s %d", g_quark_to_string (error->domain), error->code);
  g_clear_error (&error);

  /* As dt_account_file_save() writes it. */
  dt_settings_save_keyfile (settings, keyfile, "account");
  g_key_file_remove_key (keyfile, "account", "id", NULL);
  text = g_key_file_to_data (keyfile, &length, NULL);
  again = dt_account_file_parse ("fuzz", text, length, "fuzz.account", &error);
  FUZZ_CHECK (again != NULL, "the stored account does not load: %s\n%s", error->message, text);
  first = everything (settings);
  second = everything (again);
  FUZZ_CHECK (g_variant_equal (first, second), "the account changed when stored:\n%s", text);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  config_case (data, size);
  account_case (data, size);
  return 0;
}
