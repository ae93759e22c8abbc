#include "dt-account.h"

#include <string.h>

#include <gio/gio.h>

#include "dt-build-config.h"
#include "dt-enum-types.h"
#include "dt-error.h"

/* Backoff after a failure the account can recover from by itself
 * (timeouts, server and network errors): 1 s doubling to 5 min, with
 * ±20 % jitter so that many phones behind one registrar do not retry in
 * lockstep after it comes back. */
#define RETRY_MIN_SECONDS 1.0
#define RETRY_MAX_SECONDS 300.0

static const char * const transports[] = { "udp", "tcp", "tls", NULL };
static const char * const dtmf_modes[] = { "auto", "info", NULL };
static const char * const media_encryptions[] = { "none", "optional", "mandatory", NULL };

/* Settings that decide what the daemon does with calls, not how it
 * signals: changing them leaves the registration and the calls alone. */
static const char * const call_policy_keys[] = {
  "auto-answer", "auto-answer-delay", "auto-answer-on-request", "do-not-disturb", "dtmf-mode",
  "dtmf-detect-inband", "media-encryption", "srtp-suites", "allow-direct-calls", NULL
};

static gboolean
check_id (const char  *value,
          GError     **error)
{
  if (dt_account_id_is_valid (value))
    return TRUE;
  g_set_error (error, DT_ERROR, DT_ERROR_INVALID_ARGUMENTS,
               "'%s' is not a valid id (1 to 64 of A-Z a-z 0-9 . _ -, not starting with . or -)",
               value);
  return FALSE;
}

static gboolean
check_ip_address (const char  *value,
                  GError     **error)
{
  g_autoptr(GInetAddress) address = g_inet_address_new_from_string (value);

  if (address != NULL)
    return TRUE;
  g_set_error (error, DT_ERROR, DT_ERROR_INVALID_ARGUMENTS,
               "'%s' is not an IPv4 or IPv6 address", value);
  return FALSE;
}

static gboolean
check_absolute_path (const char  *value,
                     GError     **error)
{
  if (g_path_is_absolute (value))
    return TRUE;
  g_set_error (error, DT_ERROR, DT_ERROR_INVALID_ARGUMENTS,
               "'%s' is not an absolute path", value);
  return FALSE;
}

/* A comma-separated list of SDES suite names, each once. */
static gboolean
check_srtp_suites (const char  *value,
                   GError     **error)
{
  g_auto(GStrv) names = g_strsplit (value, ",", 0);
  guint seen = 0;

  for (guint i = 0; names[i] != NULL; i++)
    {
      DtCryptoSuite suite;

      g_strstrip (names[i]);
      if (!dt_crypto_suite_from_string (names[i], &suite))
        {
          g_set_error (error, DT_ERROR, DT_ERROR_INVALID_ARGUMENTS,
                       "'%s' is not a crypto suite (AES_CM_128_HMAC_SHA1_80, AES_256_CM_HMAC_SHA1_80, "
                       "AES_CM_128_HMAC_SHA1_32)", names[i]);
          return FALSE;
        }
      if (seen & (1u << suite))
        {
          g_set_error (error, DT_ERROR, DT_ERROR_INVALID_ARGUMENTS, "'%s' is listed twice", names[i]);
          return FALSE;
        }
      seen |= 1u << suite;
    }
  if (seen == 0)
    {
      g_set_error_literal (error, DT_ERROR, DT_ERROR_INVALID_ARGUMENTS, "no crypto suite listed");
      return FALSE;
    }
  return TRUE;
}

static const DtSettingSpec account_specs[] = {
  { .key = "id", .kind = DT_SETTING_STRING, .check = check_id },
  { .key = "address", .kind = DT_SETTING_STRING },
  { .key = "display-name", .kind = DT_SETTING_STRING },
  { .key = "auth-user", .kind = DT_SETTING_STRING },
  { .key = "password", .kind = DT_SETTING_STRING, .secret = TRUE },
  { .key = "registrar", .kind = DT_SETTING_STRING },
  { .key = "outbound-proxy", .kind = DT_SETTING_STRING },
  { .key = "transport", .kind = DT_SETTING_CHOICE, .default_value = "udp", .choices = transports },
  { .key = "local-address", .kind = DT_SETTING_STRING, .check = check_ip_address },
  { .key = "local-port", .kind = DT_SETTING_UINT, .default_value = "0", .min = 0, .max = 65535 },
  { .key = "expires", .kind = DT_SETTING_UINT, .default_value = "600", .min = 10, .max = 86400 },
  { .key = "enabled", .kind = DT_SETTING_BOOLEAN, .default_value = "true" },
  { .key = "keepalive-interval", .kind = DT_SETTING_UINT, .default_value = "30",
    .min = 0, .max = 3600 },
  { .key = "tls-ca-file", .kind = DT_SETTING_STRING, .check = check_absolute_path },
  { .key = "tls-verify", .kind = DT_SETTING_BOOLEAN, .default_value = "true" },
  { .key = "user-agent", .kind = DT_SETTING_STRING, .default_value = "Dialtone/" DT_VERSION },
  { .key = "auto-answer", .kind = DT_SETTING_BOOLEAN, .default_value = "false" },
  { .key = "auto-answer-delay", .kind = DT_SETTING_UINT, .default_value = "0", .min = 0, .max = 3600 },
  { .key = "auto-answer-on-request", .kind = DT_SETTING_BOOLEAN, .default_value = "false" },
  { .key = "do-not-disturb", .kind = DT_SETTING_BOOLEAN, .default_value = "false" },
  { .key = "dtmf-mode", .kind = DT_SETTING_CHOICE, .default_value = "auto", .choices = dtmf_modes },
  { .key = "dtmf-detect-inband", .kind = DT_SETTING_BOOLEAN, .default_value = "false" },
  { .key = "media-encryption", .kind = DT_SETTING_CHOICE, .default_value = "optional",
    .choices = media_encryptions },
  { .key = "srtp-suites", .kind = DT_SETTING_STRING, .check = check_srtp_suites,
    .default_value = "AES_CM_128_HMAC_SHA1_80,AES_256_CM_HMAC_SHA1_80,AES_CM_128_HMAC_SHA1_32" },
  { .key = "sdes-require-tls", .kind = DT_SETTING_BOOLEAN, .default_value = "false" },
  { .key = "allow-direct-calls", .kind = DT_SETTING_BOOLEAN, .default_value = "false" },
  { NULL }
};

struct _DtAccount {
  GObject               parent_instance;

  DtBackend            *backend;
  guint                 index;
  DtSettings           *settings;

  DtAccountState        state;
  DtAccountStateReason  state_reason;
  guint                 last_sip_status;
  char                 *last_sip_reason;
  gint64                expires_usec;

  gboolean              started;
  gboolean              sdes_warned;
  gboolean              in_backend;       /* transports bound */
  gboolean              want_registered;  /* policy: keep it registered */
  guint                 retry_id;
  guint                 retry_attempt;
};

enum {
  PROP_0,
  PROP_ID,
  PROP_ADDRESS,
  PROP_DISPLAY_NAME,
  PROP_TRANSPORT,
  PROP_ENABLED,
  PROP_STATE,
  PROP_STATE_REASON,
  PROP_LAST_SIP_STATUS,
  PROP_LAST_SIP_REASON,
  PROP_REGISTRATION_EXPIRES_USEC,
  N_PROPS
};

enum {
  SIGNAL_STATE_CHANGED,
  N_SIGNALS
};

static GParamSpec *props[N_PROPS];
static guint signals[N_SIGNALS];

G_DEFINE_FINAL_TYPE (DtAccount, dt_account, G_TYPE_OBJECT)

const DtSettingSpec *
dt_account_setting_specs (void)
{
  return account_specs;
}

/* Ids name files (accounts/<id>.account) and appear in scripts: a small,
 * safe alphabet rules out path tricks without escaping anything. */
gboolean
dt_account_id_is_valid (const char *id)
{
  gsize len = id ? strlen (id) : 0;

  if (len == 0 || len > 64 || id[0] == '.' || id[0] == '-')
    return FALSE;
  for (const char *c = id; *c; c++)
    if (!g_ascii_isalnum (*c) && *c != '.' && *c != '_' && *c != '-')
      return FALSE;
  return TRUE;
}

static gboolean
check_uri_setting (const DtSettings  *settings,
                   DtBackend         *backend,
                   const char        *key,
                   GError           **error)
{
  const char *uri = dt_settings_get_string (settings, key);
  g_autoptr(GError) local_error = NULL;

  if (uri == NULL || dt_backend_check_uri (backend, uri, &local_error))
    return TRUE;
  g_set_error (error, DT_ERROR, DT_ERROR_INVALID_ARGUMENTS, "%s: %s", key, local_error->message);
  return FALSE;
}

/* SDES puts the SRTP keys in the SDP: only TLS hides them on the way. */
static gboolean
sdes_keys_protected (const DtSettings *settings)
{
  return g_str_equal (dt_settings_get_string (settings, "transport"), "tls");
}

/* What the schema cannot say alone: required keys, and the syntax of
 * addresses, which belongs to the signalling stack. */
gboolean
dt_account_validate_settings (const DtSettings  *settings,
                              DtBackend         *backend,
                              GError           **error)
{
  const char *ca_file = dt_settings_get_string (settings, "tls-ca-file");

  if (dt_settings_get_string (settings, "id") == NULL)
    {
      g_set_error_literal (error, DT_ERROR, DT_ERROR_INVALID_ARGUMENTS, "id: is required");
      return FALSE;
    }
  if (dt_settings_get_string (settings, "address") == NULL)
    {
      g_set_error_literal (error, DT_ERROR, DT_ERROR_INVALID_ARGUMENTS, "address: is required");
      return FALSE;
    }
  if (!check_uri_setting (settings, backend, "address", error) ||
      !check_uri_setting (settings, backend, "registrar", error) ||
      !check_uri_setting (settings, backend, "outbound-proxy", error))
    return FALSE;
  if (ca_file != NULL && !g_file_test (ca_file, G_FILE_TEST_IS_REGULAR))
    {
      g_set_error (error, DT_ERROR, DT_ERROR_INVALID_ARGUMENTS,
                   "tls-ca-file: '%s' is not a readable file", ca_file);
      return FALSE;
    }
  if (dt_settings_get_boolean (settings, "sdes-require-tls") && !sdes_keys_protected (settings) &&
      !g_str_equal (dt_settings_get_string (settings, "media-encryption"), "none"))
    {
      g_set_error_literal (error, DT_ERROR, DT_ERROR_INVALID_ARGUMENTS,
                           "sdes-require-tls: SRTP keys would travel in clear; use transport=tls "
                           "or media-encryption=none");
      return FALSE;
    }
  return TRUE;
}

static void
set_state (DtAccount            *self,
           DtAccountState        state,
           DtAccountStateReason  reason)
{
  DtAccountState old = self->state;

  if (old == state && self->state_reason == reason)
    return;
  if (old != state && !dt_account_state_can_change (old, state))
    g_warning ("Account %s: unexpected state change %s → %s", dt_account_get_id (self),
               dt_enum_to_nick (DT_TYPE_ACCOUNT_STATE, old),
               dt_enum_to_nick (DT_TYPE_ACCOUNT_STATE, state));

  g_object_freeze_notify (G_OBJECT (self));
  self->state = state;
  self->state_reason = reason;
  if (state != DT_ACCOUNT_STATE_REGISTERED && self->expires_usec != 0)
    {
      self->expires_usec = 0;
      g_object_notify_by_pspec (G_OBJECT (self), props[PROP_REGISTRATION_EXPIRES_USEC]);
    }
  g_object_notify_by_pspec (G_OBJECT (self), props[PROP_STATE]);
  g_object_notify_by_pspec (G_OBJECT (self), props[PROP_STATE_REASON]);
  g_object_thaw_notify (G_OBJECT (self));

  g_info ("Account %s: %s → %s (%s)", dt_account_get_id (self),
          dt_enum_to_nick (DT_TYPE_ACCOUNT_STATE, old),
          dt_enum_to_nick (DT_TYPE_ACCOUNT_STATE, state),
          dt_enum_to_nick (DT_TYPE_ACCOUNT_STATE_REASON, reason));
  if (old != state)
    g_signal_emit (self, signals[SIGNAL_STATE_CHANGED], 0, old, state, reason);
}

static void
cancel_retry (DtAccount *self)
{
  g_clear_handle_id (&self->retry_id, g_source_remove);
}

static gboolean ensure_in_backend (DtAccount *self);

static void
begin_registration (DtAccount *self)
{
  cancel_retry (self);
  if (!ensure_in_backend (self))
    return;
  set_state (self, DT_ACCOUNT_STATE_REGISTERING, DT_ACCOUNT_STATE_REASON_NONE);
  dt_backend_account_register (self->backend, self);
}

static gboolean
on_retry (gpointer user_data)
{
  DtAccount *self = user_data;

  self->retry_id = 0;
  if (self->want_registered)
    begin_registration (self);
  else
    ensure_in_backend (self);
  return G_SOURCE_REMOVE;
}

static void
schedule_retry (DtAccount *self)
{
  double delay = RETRY_MIN_SECONDS * (double) (1u << MIN (self->retry_attempt, 16u));

  delay = MIN (delay, RETRY_MAX_SECONDS) * g_random_double_range (0.8, 1.2);
  self->retry_attempt++;
  cancel_retry (self);
  self->retry_id = g_timeout_add ((guint) (delay * 1000), on_retry, self);
  g_message ("Account %s: retrying in %.1f s", dt_account_get_id (self), delay);
}

/* Binds the account's transports. A failure (a busy port, no such
 * address) is reported as network-down and retried like any transient
 * failure: the port may be free again soon. */
static gboolean
ensure_in_backend (DtAccount *self)
{
  g_autoptr(GError) error = NULL;

  if (self->in_backend)
    return TRUE;
  if (!dt_backend_account_add (self->backend, self, &error))
    {
      g_warning ("Account %s: %s", dt_account_get_id (self), error->message);
      set_state (self, DT_ACCOUNT_STATE_FAILED, DT_ACCOUNT_STATE_REASON_NETWORK_DOWN);
      schedule_retry (self);
      return FALSE;
    }
  self->in_backend = TRUE;
  return TRUE;
}

static void
leave_backend (DtAccount *self)
{
  cancel_retry (self);
  if (!self->in_backend)
    return;
  self->in_backend = FALSE;
  dt_backend_account_remove (self->backend, self);
}

/* Makes the backend match the settings: the one place that decides what
 * an enabled or disabled account does on the network. */
static void
activate (DtAccount *self)
{
  self->retry_attempt = 0;
  if (!dt_account_get_enabled (self))
    {
      self->want_registered = FALSE;
      leave_backend (self);
      set_state (self, DT_ACCOUNT_STATE_DISABLED,
                 self->started ? DT_ACCOUNT_STATE_REASON_USER_REQUEST : DT_ACCOUNT_STATE_REASON_NONE);
      return;
    }
  if (self->state == DT_ACCOUNT_STATE_DISABLED)
    set_state (self, DT_ACCOUNT_STATE_UNREGISTERED, DT_ACCOUNT_STATE_REASON_NONE);
  if (!dt_account_has_registrar (self))
    {
      self->want_registered = FALSE;
      if (ensure_in_backend (self))
        set_state (self, DT_ACCOUNT_STATE_UNREGISTERED, DT_ACCOUNT_STATE_REASON_NO_REGISTRAR);
      return;
    }
  self->want_registered = TRUE;
  begin_registration (self);
}

DtMediaEncryption
dt_account_get_media_encryption (DtAccount *self)
{
  DtMediaEncryption encryption = DT_MEDIA_ENCRYPTION_OPTIONAL;

  dt_media_encryption_from_string (dt_settings_get_string (self->settings, "media-encryption"), &encryption);
  return encryption;
}

/* The suites to offer or accept, in the account's order; validated. */
guint
dt_account_get_srtp_suites (DtAccount     *self,
                            DtCryptoSuite  suites[DT_CRYPTO_SUITE_COUNT])
{
  g_auto(GStrv) names = g_strsplit (dt_settings_get_string (self->settings, "srtp-suites"), ",", 0);
  guint count = 0;

  for (guint i = 0; names[i] != NULL && count < DT_CRYPTO_SUITE_COUNT; i++)
    if (dt_crypto_suite_from_string (g_strstrip (names[i]), &suites[count]))
      count++;
  return count;
}

/* The account's encryption policy on @desc, with a fresh random key for
 * each of its suites (tags from 1, in its order). */
void
dt_account_describe_encryption (DtAccount          *self,
                                DtMediaDescription *desc)
{
  DtCryptoSuite suites[DT_CRYPTO_SUITE_COUNT];
  guint count;

  desc->encryption = dt_account_get_media_encryption (self);
  desc->secure_profile = desc->encryption == DT_MEDIA_ENCRYPTION_MANDATORY;
  if (desc->encryption == DT_MEDIA_ENCRYPTION_NONE)
    return;
  count = dt_account_get_srtp_suites (self, suites);
  for (guint i = 0; i < count; i++)
    {
      g_autoptr(GError) error = NULL;
      DtCrypto *crypto = dt_crypto_new_random (suites[i], i + 1, &error);

      if (crypto == NULL)
        {
          g_warning ("Account %s: %s", dt_account_get_id (self), error->message);
          return;
        }
      g_ptr_array_add (desc->cryptos, crypto);
    }
}

static void
warn_about_sdes_in_clear (DtAccount *self)
{
  if (self->sdes_warned || dt_account_get_media_encryption (self) == DT_MEDIA_ENCRYPTION_NONE ||
      sdes_keys_protected (self->settings))
    return;
  self->sdes_warned = TRUE;
  g_warning ("Account %s: SRTP keys (SDES) travel in the SDP over %s, readable on the way; "
             "use transport=tls, or sdes-require-tls=true to forbid this", dt_account_get_id (self),
             dt_settings_get_string (self->settings, "transport"));
}

void
dt_account_start (DtAccount *self)
{
  g_return_if_fail (!self->started);
  warn_about_sdes_in_clear (self);
  activate (self);
  self->started = TRUE;
}

/* The daemon is going away: the backend's own shutdown unregisters, so only
 * the policy stops here. */
void
dt_account_stop (DtAccount *self)
{
  cancel_retry (self);
  self->want_registered = FALSE;
}

gboolean
dt_account_set_enabled (DtAccount *self,
                        gboolean   enabled)
{
  if (dt_account_get_enabled (self) == enabled)
    return FALSE;
  dt_settings_set (self->settings, "enabled", g_variant_new_boolean (enabled), NULL);
  g_object_notify_by_pspec (G_OBJECT (self), props[PROP_ENABLED]);
  activate (self);
  return TRUE;
}

gboolean
dt_account_register (DtAccount  *self,
                     GError    **error)
{
  if (!dt_account_get_enabled (self))
    {
      g_set_error_literal (error, DT_ERROR, DT_ERROR_INVALID_STATE,
                           "the account is disabled; enable it first");
      return FALSE;
    }
  if (!dt_account_has_registrar (self))
    {
      g_set_error_literal (error, DT_ERROR, DT_ERROR_NOT_SUPPORTED,
                           "the account has no registrar");
      return FALSE;
    }
  self->want_registered = TRUE;
  self->retry_attempt = 0;
  begin_registration (self);
  return TRUE;
}

gboolean
dt_account_unregister (DtAccount  *self,
                       GError    **error)
{
  if (!dt_account_get_enabled (self))
    {
      g_set_error_literal (error, DT_ERROR, DT_ERROR_INVALID_STATE, "the account is disabled");
      return FALSE;
    }
  self->want_registered = FALSE;
  cancel_retry (self);
  switch (self->state)
    {
    case DT_ACCOUNT_STATE_REGISTERED:
    case DT_ACCOUNT_STATE_REGISTERING:
      set_state (self, DT_ACCOUNT_STATE_UNREGISTERING, DT_ACCOUNT_STATE_REASON_USER_REQUEST);
      dt_backend_account_unregister (self->backend, self);
      break;
    case DT_ACCOUNT_STATE_FAILED:
      set_state (self, DT_ACCOUNT_STATE_UNREGISTERED, DT_ACCOUNT_STATE_REASON_USER_REQUEST);
      break;
    default:
      break;
    }
  return TRUE;
}

static char *
settings_text (const DtSettings   *settings,
               const char * const *leave_out)
{
  g_autoptr(GKeyFile) keyfile = g_key_file_new ();

  dt_settings_save_keyfile (settings, keyfile, "account");
  for (guint i = 0; leave_out && leave_out[i]; i++)
    g_key_file_remove_key (keyfile, "account", leave_out[i], NULL);
  return g_key_file_to_data (keyfile, NULL, NULL);
}

static gboolean
settings_equal (const DtSettings   *a,
                const DtSettings   *b,
                const char * const *leave_out)
{
  g_autofree char *ta = settings_text (a, leave_out);
  g_autofree char *tb = settings_text (b, leave_out);

  return g_str_equal (ta, tb);
}

/* Takes ownership of @settings, already validated. Anything that shapes
 * the signalling (addresses, transport, credentials) re-creates the
 * backend side; returns whether anything changed. */
gboolean
dt_account_replace_settings (DtAccount  *self,
                             DtSettings *settings)
{
  g_autoptr(DtSettings) old = self->settings;
  gboolean was_enabled = dt_settings_get_boolean (old, "enabled");

  if (settings_equal (old, settings, NULL))
    {
      self->settings = g_steal_pointer (&old);
      dt_settings_free (settings);
      return FALSE;
    }
  self->settings = settings;
  if (self->started)
    warn_about_sdes_in_clear (self);
  if (settings_equal (old, settings, call_policy_keys))
    return TRUE;

  g_object_freeze_notify (G_OBJECT (self));
  for (guint i = PROP_ID; i <= PROP_ENABLED; i++)
    g_object_notify_by_pspec (G_OBJECT (self), props[i]);
  g_object_thaw_notify (G_OBJECT (self));

  if (self->started)
    {
      if (was_enabled)
        leave_backend (self);
      activate (self);
    }
  return TRUE;
}

void
dt_account_set_password (DtAccount  *self,
                         const char *password)
{
  g_autoptr(DtSettings) next = dt_settings_copy (self->settings);

  dt_settings_set (next, "password", g_variant_new_string (password), NULL);
  dt_account_replace_settings (self, g_steal_pointer (&next));
}

static gboolean
reason_is_final (DtAccountStateReason reason)
{
  /* Retrying these would only repeat the refusal (and, for bad passwords,
   * risk a lockout): wait for the user to change something. */
  return reason == DT_ACCOUNT_STATE_REASON_AUTH_FAILED ||
         reason == DT_ACCOUNT_STATE_REASON_FORBIDDEN ||
         reason == DT_ACCOUNT_STATE_REASON_NO_CREDENTIALS;
}

void
dt_account_notify_registration (DtAccount            *self,
                                DtAccountState        state,
                                DtAccountStateReason  reason,
                                guint                 sip_status,
                                const char           *sip_reason,
                                gint64                expires_usec)
{
  g_object_freeze_notify (G_OBJECT (self));

  if (sip_status != 0 && (sip_status != self->last_sip_status ||
                          g_strcmp0 (sip_reason, self->last_sip_reason) != 0))
    {
      self->last_sip_status = sip_status;
      g_free (self->last_sip_reason);
      self->last_sip_reason = g_strdup (sip_reason);
      g_object_notify_by_pspec (G_OBJECT (self), props[PROP_LAST_SIP_STATUS]);
      g_object_notify_by_pspec (G_OBJECT (self), props[PROP_LAST_SIP_REASON]);
    }

  switch (state)
    {
    case DT_ACCOUNT_STATE_REGISTERED:
      self->retry_attempt = 0;
      set_state (self, state, reason);
      if (self->expires_usec != expires_usec)
        {
          self->expires_usec = expires_usec;
          g_object_notify_by_pspec (G_OBJECT (self), props[PROP_REGISTRATION_EXPIRES_USEC]);
        }
      if (!self->want_registered)
        {
          /* Registered after the user asked to unregister (the replies
           * crossed): finish what the user asked. */
          set_state (self, DT_ACCOUNT_STATE_UNREGISTERING, DT_ACCOUNT_STATE_REASON_USER_REQUEST);
          dt_backend_account_unregister (self->backend, self);
        }
      break;

    case DT_ACCOUNT_STATE_FAILED:
      set_state (self, state, reason);
      if (self->want_registered && !reason_is_final (reason))
        schedule_retry (self);
      break;

    case DT_ACCOUNT_STATE_UNREGISTERED:
      set_state (self, state, reason);
      /* The registrar dropped us (or a refresh lapsed) while we want to be
       * registered: start again. */
      if (self->want_registered)
        schedule_retry (self);
      break;

    default:
      set_state (self, state, reason);
      break;
    }

  g_object_thaw_notify (G_OBJECT (self));
}

guint
dt_account_get_index (DtAccount *self)
{
  return self->index;
}

const char *
dt_account_get_id (DtAccount *self)
{
  return dt_settings_get_string (self->settings, "id");
}

const char *
dt_account_get_address (DtAccount *self)
{
  return dt_settings_get_string (self->settings, "address");
}

const char *
dt_account_get_display_name (DtAccount *self)
{
  const char *name = dt_settings_get_string (self->settings, "display-name");

  return name ? name : "";
}

const char *
dt_account_get_transport (DtAccount *self)
{
  return dt_settings_get_string (self->settings, "transport");
}

gboolean
dt_account_get_enabled (DtAccount *self)
{
  return dt_settings_get_boolean (self->settings, "enabled");
}

gboolean
dt_account_has_registrar (DtAccount *self)
{
  return dt_settings_get_string (self->settings, "registrar") != NULL;
}

DtAccountState
dt_account_get_state (DtAccount *self)
{
  return self->state;
}

DtAccountStateReason
dt_account_get_state_reason (DtAccount *self)
{
  return self->state_reason;
}

guint
dt_account_get_last_sip_status (DtAccount *self)
{
  return self->last_sip_status;
}

const char *
dt_account_get_last_sip_reason (DtAccount *self)
{
  return self->last_sip_reason ? self->last_sip_reason : "";
}

gint64
dt_account_get_registration_expires_usec (DtAccount *self)
{
  return self->expires_usec;
}

const DtSettings *
dt_account_get_settings (DtAccount *self)
{
  return self->settings;
}

static void
dt_account_get_property (GObject    *object,
                         guint       prop_id,
                         GValue     *value,
                         GParamSpec *pspec)
{
  DtAccount *self = DT_ACCOUNT (object);

  switch (prop_id)
    {
    case PROP_ID:
      g_value_set_string (value, dt_account_get_id (self));
      break;
    case PROP_ADDRESS:
      g_value_set_string (value, dt_account_get_address (self));
      break;
    case PROP_DISPLAY_NAME:
      g_value_set_string (value, dt_account_get_display_name (self));
      break;
    case PROP_TRANSPORT:
      g_value_set_string (value, dt_account_get_transport (self));
      break;
    case PROP_ENABLED:
      g_value_set_boolean (value, dt_account_get_enabled (self));
      break;
    case PROP_STATE:
      g_value_set_enum (value, self->state);
      break;
    case PROP_STATE_REASON:
      g_value_set_enum (value, self->state_reason);
      break;
    case PROP_LAST_SIP_STATUS:
      g_value_set_uint (value, self->last_sip_status);
      break;
    case PROP_LAST_SIP_REASON:
      g_value_set_string (value, dt_account_get_last_sip_reason (self));
      break;
    case PROP_REGISTRATION_EXPIRES_USEC:
      g_value_set_int64 (value, self->expires_usec);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
dt_account_dispose (GObject *object)
{
  DtAccount *self = DT_ACCOUNT (object);

  cancel_retry (self);
  if (self->in_backend)
    leave_backend (self);
  g_clear_object (&self->backend);
  G_OBJECT_CLASS (dt_account_parent_class)->dispose (object);
}

static void
dt_account_finalize (GObject *object)
{
  DtAccount *self = DT_ACCOUNT (object);

  dt_settings_free (self->settings);
  g_free (self->last_sip_reason);
  G_OBJECT_CLASS (dt_account_parent_class)->finalize (object);
}

static void
dt_account_class_init (DtAccountClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GParamFlags flags = G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS;

  object_class->get_property = dt_account_get_property;
  object_class->dispose = dt_account_dispose;
  object_class->finalize = dt_account_finalize;

  props[PROP_ID] = g_param_spec_string ("id", NULL, NULL, NULL, flags);
  props[PROP_ADDRESS] = g_param_spec_string ("address", NULL, NULL, NULL, flags);
  props[PROP_DISPLAY_NAME] = g_param_spec_string ("display-name", NULL, NULL, NULL, flags);
  props[PROP_TRANSPORT] = g_param_spec_string ("transport", NULL, NULL, NULL, flags);
  props[PROP_ENABLED] = g_param_spec_boolean ("enabled", NULL, NULL, TRUE, flags);
  props[PROP_STATE] = g_param_spec_enum ("state", NULL, NULL, DT_TYPE_ACCOUNT_STATE,
                                         DT_ACCOUNT_STATE_DISABLED, flags);
  props[PROP_STATE_REASON] = g_param_spec_enum ("state-reason", NULL, NULL,
                                                DT_TYPE_ACCOUNT_STATE_REASON,
                                                DT_ACCOUNT_STATE_REASON_NONE, flags);
  props[PROP_LAST_SIP_STATUS] = g_param_spec_uint ("last-sip-status", NULL, NULL,
                                                   0, 699, 0, flags);
  props[PROP_LAST_SIP_REASON] = g_param_spec_string ("last-sip-reason", NULL, NULL, NULL, flags);
  props[PROP_REGISTRATION_EXPIRES_USEC] =
    g_param_spec_int64 ("registration-expires-usec", NULL, NULL, 0, G_MAXINT64, 0, flags);
  g_object_class_install_properties (object_class, N_PROPS, props);

  /* (old, new, reason) */
  signals[SIGNAL_STATE_CHANGED] =
    g_signal_new ("state-changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                  NULL, NULL, NULL, G_TYPE_NONE, 3, DT_TYPE_ACCOUNT_STATE,
                  DT_TYPE_ACCOUNT_STATE, DT_TYPE_ACCOUNT_STATE_REASON);
}

static void
dt_account_init (DtAccount *self)
{
  self->state = DT_ACCOUNT_STATE_DISABLED;
}

/* Takes ownership of @settings, already validated. */
DtAccount *
dt_account_new (DtBackend  *backend,
                guint       index,
                DtSettings *settings)
{
  DtAccount *self = g_object_new (DT_TYPE_ACCOUNT, NULL);

  self->backend = g_object_ref (backend);
  self->index = index;
  self->settings = settings;
  return self;
}
