#include "dt-manager.h"

#include <string.h>

#include "dt-account-file.h"
#include "dt-settings.h"
#include "dt-build-config.h"
#include "dt-enum-types.h"
#include "dt-error.h"

struct _DtManager {
  GObject    parent_instance;
  DtBackend *backend;
  DtLogLevel log_level;
  char      *accounts_dir;
  GPtrArray *accounts;        /* DtAccount, in the order added */
  guint      next_account_index;
  gboolean   started;
  DtAccount *default_account; /* weak: cleared on removal */

  DtMediaEngine *engine;
  DtCallProfile *profile;
  DtCallHistory *history;
  GPtrArray     *calls;         /* DtCall, oldest first, until removed */
  GHashTable    *history_ids;   /* DtCall → gint64 row id (boxed) */
  GPtrArray     *history_due;   /* DtCall: changed since its row was written, first first */
  guint          history_due_id;
  guint          next_call_index;
  guint          next_conference;
};

/* Ended calls stay on the bus this long, so that a client that was not
 * watching can still read how the call ended; the history keeps them. */
#define CALL_LINGER_SECONDS 10

static void write_due_history (DtManager *self);

static const DtSettingSpec call_option_specs[] = {
  { .key = "audio-source", .kind = DT_SETTING_STRING },
  { .key = "audio-sink", .kind = DT_SETTING_STRING },
  { .key = "hold-others", .kind = DT_SETTING_BOOLEAN, .default_value = "false" },
  { NULL }
};

enum {
  PROP_0,
  PROP_LOG_LEVEL,
  PROP_DEFAULT_ACCOUNT,
  N_PROPS
};

enum {
  SIGNAL_ACCOUNT_ADDED,
  SIGNAL_ACCOUNT_REMOVED,
  SIGNAL_CALL_ADDED,
  SIGNAL_CALL_REMOVED,
  SIGNAL_HISTORY_ADDED,
  N_SIGNALS
};

static GParamSpec *props[N_PROPS];
static guint signals[N_SIGNALS];

G_DEFINE_FINAL_TYPE (DtManager, dt_manager, G_TYPE_OBJECT)

static void
dt_manager_get_property (GObject    *object,
                         guint       prop_id,
                         GValue     *value,
                         GParamSpec *pspec)
{
  DtManager *self = DT_MANAGER (object);

  switch (prop_id)
    {
    case PROP_LOG_LEVEL:
      g_value_set_enum (value, self->log_level);
      break;
    case PROP_DEFAULT_ACCOUNT:
      g_value_set_object (value, self->default_account);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
dt_manager_dispose (GObject *object)
{
  DtManager *self = DT_MANAGER (object);

  self->default_account = NULL;
  if (self->backend != NULL)
    g_signal_handlers_disconnect_by_data (self->backend, self);
  if (self->calls != NULL)
    for (guint i = 0; i < self->calls->len; i++)
      g_signal_handlers_disconnect_by_data (self->calls->pdata[i], self);
  write_due_history (self);
  g_clear_pointer (&self->calls, g_ptr_array_unref);
  g_clear_pointer (&self->history_due, g_ptr_array_unref);
  g_clear_pointer (&self->history_ids, g_hash_table_unref);
  g_clear_pointer (&self->accounts, g_ptr_array_unref);
  g_clear_object (&self->history);
  g_clear_object (&self->engine);
  g_clear_pointer (&self->profile, dt_call_profile_free);
  g_clear_object (&self->backend);
  G_OBJECT_CLASS (dt_manager_parent_class)->dispose (object);
}

static void
dt_manager_finalize (GObject *object)
{
  DtManager *self = DT_MANAGER (object);

  g_free (self->accounts_dir);
  G_OBJECT_CLASS (dt_manager_parent_class)->finalize (object);
}

static void
dt_manager_class_init (DtManagerClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->get_property = dt_manager_get_property;
  object_class->dispose = dt_manager_dispose;
  object_class->finalize = dt_manager_finalize;

  props[PROP_LOG_LEVEL] =
    g_param_spec_enum ("log-level", NULL, NULL, DT_TYPE_LOG_LEVEL, DT_LOG_LEVEL_MESSAGE,
                       G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  props[PROP_DEFAULT_ACCOUNT] =
    g_param_spec_object ("default-account", NULL, NULL, DT_TYPE_ACCOUNT,
                         G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, props);

  signals[SIGNAL_ACCOUNT_ADDED] =
    g_signal_new ("account-added", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                  NULL, NULL, NULL, G_TYPE_NONE, 1, DT_TYPE_ACCOUNT);
  signals[SIGNAL_ACCOUNT_REMOVED] =
    g_signal_new ("account-removed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                  NULL, NULL, NULL, G_TYPE_NONE, 1, DT_TYPE_ACCOUNT);
  signals[SIGNAL_CALL_ADDED] =
    g_signal_new ("call-added", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                  NULL, NULL, NULL, G_TYPE_NONE, 1, DT_TYPE_CALL);
  signals[SIGNAL_CALL_REMOVED] =
    g_signal_new ("call-removed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                  NULL, NULL, NULL, G_TYPE_NONE, 1, DT_TYPE_CALL);
  signals[SIGNAL_HISTORY_ADDED] =
    g_signal_new ("history-added", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                  NULL, NULL, NULL, G_TYPE_NONE, 2, G_TYPE_INT64, G_TYPE_VARIANT);
}

static void
dt_manager_init (DtManager *self)
{
  self->log_level = DT_LOG_LEVEL_MESSAGE;
  self->accounts = g_ptr_array_new_with_free_func (g_object_unref);
  self->calls = g_ptr_array_new_with_free_func (g_object_unref);
  self->history_ids = g_hash_table_new_full (NULL, NULL, NULL, g_free);
  self->history_due = g_ptr_array_new_with_free_func (g_object_unref);
}

static DtCall *on_incoming_call (DtBackend  *backend,
                                 DtAccount  *account,
                                 const char *remote_uri,
                                 const char *remote_display_name,
                                 const char *local_uri,
                                 DtManager  *self);

DtManager *
dt_manager_new (DtBackend  *backend,
                DtLogLevel  log_level,
                const char *accounts_dir)
{
  DtManager *self;

  g_return_val_if_fail (DT_IS_BACKEND (backend), NULL);
  self = g_object_new (DT_TYPE_MANAGER, NULL);
  self->backend = g_object_ref (backend);
  self->log_level = log_level;
  self->accounts_dir = g_strdup (accounts_dir);
  g_signal_connect (backend, "incoming-call", G_CALLBACK (on_incoming_call), self);
  return self;
}

DtBackend *
dt_manager_get_backend (DtManager *self)
{
  return self->backend;
}

const char *
dt_manager_get_version (DtManager *self)
{
  return DT_VERSION;
}

DtLogLevel
dt_manager_get_log_level (DtManager *self)
{
  return self->log_level;
}

void
dt_manager_set_log_level (DtManager  *self,
                          DtLogLevel  level)
{
  if (self->log_level == level)
    return;
  self->log_level = level;
  g_object_notify_by_pspec (G_OBJECT (self), props[PROP_LOG_LEVEL]);
}

GPtrArray *
dt_manager_get_accounts (DtManager *self)
{
  return self->accounts;
}

DtAccount *
dt_manager_find_account (DtManager  *self,
                         const char *id)
{
  for (guint i = 0; i < self->accounts->len; i++)
    {
      DtAccount *account = g_ptr_array_index (self->accounts, i);
      if (g_strcmp0 (dt_account_get_id (account), id) == 0)
        return account;
    }
  return NULL;
}

static DtAccount *
add_account (DtManager  *self,
             DtSettings *settings)
{
  DtAccount *account = dt_account_new (self->backend, self->next_account_index++, settings);

  g_ptr_array_add (self->accounts, account);
  g_signal_emit (self, signals[SIGNAL_ACCOUNT_ADDED], 0, account);
  if (self->started)
    dt_account_start (account);
  return account;
}

static int
compare_names (gconstpointer a,
               gconstpointer b)
{
  return g_strcmp0 (*(const char * const *) a, *(const char * const *) b);
}

/* A bad file is reported and skipped: one broken account never keeps the
 * others (or the daemon) from working. Returns how many were loaded. */
guint
dt_manager_load_accounts (DtManager *self)
{
  g_autoptr(GDir) dir = NULL;
  g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GError) error = NULL;
  const char *name;
  guint loaded = 0;

  dir = g_dir_open (self->accounts_dir, 0, &error);
  if (dir == NULL)
    {
      if (!g_error_matches (error, G_FILE_ERROR, G_FILE_ERROR_NOENT))
        g_warning ("Cannot read accounts from %s: %s", self->accounts_dir, error->message);
      return 0;
    }
  while ((name = g_dir_read_name (dir)) != NULL)
    if (g_str_has_suffix (name, ".account"))
      g_ptr_array_add (names, g_strdup (name));
  g_ptr_array_sort (names, compare_names);

  for (guint i = 0; i < names->len; i++)
    {
      g_autofree char *path = g_build_filename (self->accounts_dir, names->pdata[i], NULL);
      g_autoptr(GError) load_error = NULL;
      g_autoptr(DtSettings) settings = dt_account_file_load (path, &load_error);

      if (settings != NULL && !dt_account_validate_settings (settings, self->backend, &load_error))
        {
          g_autoptr(GError) wrapped = g_error_new (load_error->domain, load_error->code, "%s: [account] %s",
                                                   path, load_error->message);
          g_clear_pointer (&settings, dt_settings_free);
          g_clear_error (&load_error);
          load_error = g_steal_pointer (&wrapped);
        }
      if (settings == NULL)
        {
          g_warning ("Account not loaded: %s", load_error->message);
          continue;
        }
      add_account (self, g_steal_pointer (&settings));
      loaded++;
    }
  return loaded;
}

/* Accounts touch the network only from here on: the daemon calls this once
 * it owns its bus name, so a second instance never disturbs the first
 * one's registrations. */
void
dt_manager_start (DtManager *self)
{
  if (self->started)
    return;
  self->started = TRUE;
  for (guint i = 0; i < self->accounts->len; i++)
    dt_account_start (g_ptr_array_index (self->accounts, i));
}

void
dt_manager_stop (DtManager *self)
{
  for (guint i = 0; i < self->calls->len; i++)
    dt_call_end_for_shutdown (self->calls->pdata[i]);
  for (guint i = 0; i < self->accounts->len; i++)
    dt_account_stop (g_ptr_array_index (self->accounts, i));
}

DtAccount *
dt_manager_create_account (DtManager  *self,
                           GVariant   *settings_asv,
                           GError    **error)
{
  g_autoptr(DtSettings) settings = dt_settings_new (dt_account_setting_specs ());
  const char *id;

  if (!dt_settings_update_vardict (settings, settings_asv, error) ||
      !dt_account_validate_settings (settings, self->backend, error))
    return NULL;

  id = dt_settings_get_string (settings, "id");
  if (dt_manager_find_account (self, id) != NULL)
    {
      g_set_error (error, DT_ERROR, DT_ERROR_ALREADY_EXISTS,
                   "id: an account '%s' exists already", id);
      return NULL;
    }
  if (!dt_account_file_save (self->accounts_dir, settings, error))
    return NULL;
  return add_account (self, g_steal_pointer (&settings));
}

gboolean
dt_manager_remove_account (DtManager  *self,
                           DtAccount  *account,
                           GError    **error)
{
  g_autoptr(DtAccount) keep = g_object_ref (account);

  if (!dt_account_file_delete (self->accounts_dir, dt_account_get_id (account), error))
    return FALSE;
  if (self->default_account == account)
    dt_manager_set_default_account (self, NULL);
  /* Disabling unregisters (bounded, in the backend) and releases the
   * transports; the object then goes away. */
  dt_account_set_enabled (account, FALSE);
  g_ptr_array_remove (self->accounts, account);
  g_signal_emit (self, signals[SIGNAL_ACCOUNT_REMOVED], 0, account);
  return TRUE;
}

/* Stores the new settings before applying them: what runs is always what
 * a restart would load. */
static gboolean
save_and_apply (DtManager   *self,
                DtAccount   *account,
                DtSettings  *next,
                GError     **error)
{
  g_autoptr(DtSettings) owned = next;

  if (!dt_account_validate_settings (owned, self->backend, error) ||
      !dt_account_file_save (self->accounts_dir, owned, error))
    return FALSE;
  dt_account_replace_settings (account, g_steal_pointer (&owned));
  return TRUE;
}

gboolean
dt_manager_update_account (DtManager  *self,
                           DtAccount  *account,
                           GVariant   *settings_asv,
                           GError    **error)
{
  g_autoptr(DtSettings) next = dt_settings_copy (dt_account_get_settings (account));

  if (!dt_settings_update_vardict (next, settings_asv, error))
    return FALSE;
  if (g_strcmp0 (dt_settings_get_string (next, "id"), dt_account_get_id (account)) != 0)
    {
      g_set_error_literal (error, DT_ERROR, DT_ERROR_INVALID_ARGUMENTS,
                           "id: cannot be changed; remove the account and add it again");
      return FALSE;
    }
  return save_and_apply (self, account, g_steal_pointer (&next), error);
}

gboolean
dt_manager_set_account_password (DtManager   *self,
                                 DtAccount   *account,
                                 const char  *password,
                                 GError     **error)
{
  g_autoptr(DtSettings) next = dt_settings_copy (dt_account_get_settings (account));

  if (!dt_text_check ("password", password, error))
    return FALSE;
  if (*password == '\0')
    dt_settings_unset (next, "password");
  else if (!dt_settings_set (next, "password", g_variant_new_string (password), error))
    return FALSE;
  return save_and_apply (self, account, g_steal_pointer (&next), error);
}

gboolean
dt_manager_set_account_enabled (DtManager  *self,
                                DtAccount  *account,
                                gboolean    enabled,
                                GError    **error)
{
  g_autoptr(DtSettings) next = dt_settings_copy (dt_account_get_settings (account));

  if (dt_account_get_enabled (account) == enabled)
    return TRUE;
  dt_settings_set (next, "enabled", g_variant_new_boolean (enabled), NULL);
  if (!dt_account_file_save (self->accounts_dir, next, error))
    return FALSE;
  dt_account_set_enabled (account, enabled);
  return TRUE;
}

DtAccount *
dt_manager_get_default_account (DtManager *self)
{
  return self->default_account;
}

void
dt_manager_set_default_account (DtManager *self,
                                DtAccount *account)
{
  if (self->default_account == account)
    return;
  self->default_account = account;
  g_object_notify_by_pspec (G_OBJECT (self), props[PROP_DEFAULT_ACCOUNT]);
}

void
dt_manager_set_media (DtManager           *self,
                      DtMediaEngine       *engine,
                      const DtCallProfile *profile)
{
  g_set_object (&self->engine, engine);
  g_clear_pointer (&self->profile, dt_call_profile_free);
  self->profile = dt_call_profile_copy (profile);
}

void
dt_manager_set_history (DtManager     *self,
                        DtCallHistory *history)
{
  g_set_object (&self->history, history);
}

/* Whoever reads the history sees the calls in progress as they are. */
DtCallHistory *
dt_manager_get_history (DtManager *self)
{
  write_due_history (self);
  return self->history;
}

const DtCallProfile *
dt_manager_get_call_profile (DtManager *self)
{
  return self->profile;
}

/* An endpoint a client names (@key prefixes any error), as it will be
 * used: a file goes through the path policy, read for a source and
 * written for a sink. The default in use needs no new permission (a
 * transferred call inherits it, and dialtoned.conf may name any file). */
static char *
check_endpoint (DtManager   *self,
                const char  *key,
                const char  *endpoint,
                gboolean     is_source,
                GError     **error)
{
  const char *current = is_source ? self->profile->audio_source : self->profile->audio_sink;
  g_autofree char *resolved = NULL;

  if (!dt_text_check (key, endpoint, error))
    return NULL;
  if (g_str_has_prefix (endpoint, "file:") && g_strcmp0 (endpoint, current) != 0 &&
      self->profile->path_policy != NULL)
    {
      g_autofree char *path = dt_path_policy_check (self->profile->path_policy, key, endpoint + 5,
                                                    is_source ? DT_PATH_ACCESS_READ : DT_PATH_ACCESS_WRITE,
                                                    error);
      if (path == NULL)
        return NULL;
      endpoint = resolved = g_strconcat ("file:", path, NULL);
    }
  if (!dt_media_engine_check_endpoint (self->engine, endpoint, is_source, error))
    {
      g_prefix_error (error, "%s: ", key);
      return NULL;
    }
  return g_strdup (endpoint);
}

/* The default endpoint for calls from now on (not saved: dialtoned.conf
 * holds the lasting one). */
gboolean
dt_manager_set_audio_endpoint (DtManager   *self,
                               gboolean     is_source,
                               const char  *endpoint,
                               GError     **error)
{
  char **slot, *checked;

  if (self->profile == NULL || self->engine == NULL)
    {
      g_set_error_literal (error, DT_ERROR, DT_ERROR_NOT_SUPPORTED, "calls are not available");
      return FALSE;
    }
  slot = is_source ? &self->profile->audio_source : &self->profile->audio_sink;
  checked = check_endpoint (self, is_source ? "AudioSource" : "AudioSink", endpoint, is_source, error);
  if (checked == NULL)
    return FALSE;
  g_free (*slot);
  *slot = checked;
  return TRUE;
}

GPtrArray *
dt_manager_get_calls (DtManager *self)
{
  return self->calls;
}

static void
write_history_now (DtManager *self,
                   DtCall    *call)
{
  gint64 *id = g_hash_table_lookup (self->history_ids, call);
  g_autoptr(GError) error = NULL;

  if (self->history == NULL)
    return;
  if (id == NULL)
    {
      gint64 row = dt_call_history_record_call (self->history, call, &error);
      if (row <= 0)
        {
          g_warning ("Call %u: not recorded in the history: %s", dt_call_get_index (call),
                     error ? error->message : "unknown error");
          return;
        }
      id = g_new (gint64, 1);
      *id = row;
      g_hash_table_insert (self->history_ids, call, id);
      return;
    }
  if (!dt_call_history_update_call (self->history, *id, call, &error))
    g_warning ("Call %u: history not updated: %s", dt_call_get_index (call), error->message);
}

/* In the order the calls first changed: a new call's row is inserted in
 * the order the calls were made, so ids follow it. */
static void
write_due_history (DtManager *self)
{
  g_clear_handle_id (&self->history_due_id, g_source_remove);
  if (self->history_due == NULL)
    return;
  for (guint i = 0; i < self->history_due->len; i++)
    write_history_now (self, self->history_due->pdata[i]);
  g_ptr_array_set_size (self->history_due, 0);
}

static gboolean
on_history_due (gpointer user_data)
{
  DtManager *self = user_data;

  self->history_due_id = 0;
  write_due_history (self);
  return G_SOURCE_REMOVE;
}

/* A call in progress is written once the main loop has nothing more
 * urgent to do: its SIP responses and D-Bus signals go first, and a call
 * that rings and is answered at once is written once. The write that
 * ends a call is made at once (the history-added signal carries the row). */
static void
write_history (DtManager *self,
               DtCall    *call)
{
  if (self->history == NULL)
    return;
  if (dt_call_is_ended (call))
    {
      if (g_hash_table_contains (self->history_ids, call))
        {
          g_ptr_array_remove (self->history_due, call);
          write_history_now (self, call);
        }
      else
        {
          /* Its row goes after those of the calls made before it. */
          write_due_history (self);
          if (!g_hash_table_contains (self->history_ids, call))
            write_history_now (self, call);
        }
      return;
    }
  if (!g_ptr_array_find (self->history_due, call, NULL))
    g_ptr_array_add (self->history_due, g_object_ref (call));
  if (self->history_due_id == 0)
    self->history_due_id = g_idle_add_full (G_PRIORITY_LOW, on_history_due, self, NULL);
}

static gboolean
remove_ended_call (gpointer user_data)
{
  DtCall *call = user_data;
  DtManager *self = g_object_get_data (G_OBJECT (call), "dt-manager");
  g_autoptr(DtCall) keep = g_object_ref (call);

  g_signal_handlers_disconnect_by_data (call, self);
  g_hash_table_remove (self->history_ids, call);
  g_ptr_array_remove (self->calls, call);
  g_signal_emit (self, signals[SIGNAL_CALL_REMOVED], 0, call);
  return G_SOURCE_REMOVE;
}

/* Local conferences: each pair of calls exchanges what it hears through
 * two channels, so every party hears all the others and not itself. A
 * conference is the calls sharing its id. */

static char *
conference_channel (guint   conference,
                    DtCall *from,
                    DtCall *to)
{
  return g_strdup_printf ("dialtone-conference-%u-%u-%u", conference, dt_call_get_index (from),
                          dt_call_get_index (to));
}

static GPtrArray *
conference_members (DtManager *self,
                    guint      conference)
{
  GPtrArray *members = g_ptr_array_new ();

  for (guint i = 0; conference != 0 && i < self->calls->len; i++)
    if (dt_call_get_conference (self->calls->pdata[i]) == conference)
      g_ptr_array_add (members, self->calls->pdata[i]);
  return members;
}

static gboolean
link_pair (DtCall  *a,
           DtCall  *b,
           guint    conference,
           GError **error)
{
  g_autofree char *ab = conference_channel (conference, a, b);
  g_autofree char *ba = conference_channel (conference, b, a);

  return dt_call_conference_send (a, ab, error) && dt_call_conference_receive (b, ab, error) &&
         dt_call_conference_send (b, ba, error) && dt_call_conference_receive (a, ba, error);
}

static void
unlink_pair (DtCall *a,
             DtCall *b,
             guint   conference)
{
  g_autofree char *ab = conference_channel (conference, a, b);
  g_autofree char *ba = conference_channel (conference, b, a);

  dt_call_conference_drop (a, ab);
  dt_call_conference_drop (b, ab);
  dt_call_conference_drop (b, ba);
  dt_call_conference_drop (a, ba);
}

/* Takes @call out of its conference; a conference of one is over. */
static void
leave_conference (DtManager *self,
                  DtCall    *call)
{
  guint conference = dt_call_get_conference (call);
  g_autoptr(GPtrArray) members = NULL;

  if (conference == 0)
    return;
  members = conference_members (self, conference);
  for (guint i = 0; i < members->len; i++)
    if (members->pdata[i] != call)
      unlink_pair (call, members->pdata[i], conference);
  dt_call_set_conference (call, 0);
  g_message ("Call %u: left conference %u", dt_call_get_index (call), conference);
  if (members->len == 2)
    for (guint i = 0; i < members->len; i++)
      dt_call_set_conference (members->pdata[i], 0);
}

guint
dt_manager_create_conference (DtManager  *self,
                              GPtrArray  *calls,
                              GError    **error)
{
  guint conference;

  if (calls->len < 2)
    {
      g_set_error_literal (error, DT_ERROR, DT_ERROR_INVALID_ARGUMENTS, "calls: a conference needs two calls or more");
      return 0;
    }
  for (guint i = 0; i < calls->len; i++)
    {
      DtCall *call = calls->pdata[i];

      for (guint j = 0; j < i; j++)
        if (calls->pdata[j] == call)
          {
            g_set_error (error, DT_ERROR, DT_ERROR_INVALID_ARGUMENTS, "calls: call %u is named twice",
                         dt_call_get_index (call));
            return 0;
          }
      if (dt_call_get_conference (call) != 0)
        {
          g_set_error (error, DT_ERROR, DT_ERROR_INVALID_STATE, "call %u is in conference %u already",
                       dt_call_get_index (call), dt_call_get_conference (call));
          return 0;
        }
      if (!dt_call_can_confer (call, error))
        {
          g_prefix_error (error, "call %u: ", dt_call_get_index (call));
          return 0;
        }
    }
  conference = ++self->next_conference;
  for (guint i = 0; i < calls->len; i++)
    for (guint j = i + 1; j < calls->len; j++)
      if (!link_pair (calls->pdata[i], calls->pdata[j], conference, error))
        {
          for (guint a = 0; a < calls->len; a++)
            for (guint b = a + 1; b < calls->len; b++)
              unlink_pair (calls->pdata[a], calls->pdata[b], conference);
          return 0;
        }
  for (guint i = 0; i < calls->len; i++)
    {
      DtCall *call = calls->pdata[i];
      g_autoptr(GError) resume_error = NULL;

      dt_call_set_conference (call, conference);
      /* A conference talks: the calls we held join it audibly. */
      if (dt_call_is_held_locally (call) && !dt_call_resume (call, &resume_error))
        g_warning ("Call %u: cannot resume it for the conference: %s", dt_call_get_index (call),
                   resume_error->message);
    }
  g_message ("Conference %u: %u calls", conference, calls->len);
  return conference;
}

gboolean
dt_manager_leave_conference (DtManager  *self,
                             DtCall     *call,
                             GError    **error)
{
  if (dt_call_get_conference (call) == 0)
    {
      g_set_error (error, DT_ERROR, DT_ERROR_INVALID_STATE, "call %u is not in a conference",
                   dt_call_get_index (call));
      return FALSE;
    }
  leave_conference (self, call);
  return TRUE;
}

static void
on_call_state_changed (DtCall            *call,
                       DtCallState        old_state,
                       DtCallState        new_state,
                       DtCallStateReason  reason,
                       DtManager         *self)
{
  write_history (self, call);
  if (new_state != DT_CALL_STATE_TERMINATED)
    return;

  leave_conference (self, call);
  if (self->history != NULL)
    {
      gint64 *id = g_hash_table_lookup (self->history_ids, call);
      g_autoptr(GVariant) entry = id ? dt_call_history_get_call (self->history, *id, NULL) : NULL;

      if (entry != NULL)
        g_signal_emit (self, signals[SIGNAL_HISTORY_ADDED], 0, *id, entry);
    }
  g_timeout_add_seconds_full (G_PRIORITY_DEFAULT, CALL_LINGER_SECONDS, remove_ended_call,
                              g_object_ref (call), g_object_unref);
}

/* A REFER from the call's party: the new call goes through the same path
 * as Dial, from the same account and with the same endpoints. */
static DtCall *
on_call_referred (DtCall     *call,
                  const char *target_uri,
                  DtManager  *self)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) opts = NULL;
  GVariantDict options;
  DtCall *placed;

  g_variant_dict_init (&options, NULL);
  if (dt_call_get_audio_source (call) != NULL)
    g_variant_dict_insert (&options, "audio-source", "s", dt_call_get_audio_source (call));
  if (dt_call_get_inheritable_sink (call) != NULL)
    g_variant_dict_insert (&options, "audio-sink", "s", dt_call_get_inheritable_sink (call));
  opts = g_variant_ref_sink (g_variant_dict_end (&options));
  placed = dt_manager_dial (self, dt_call_get_account (call), target_uri, opts, &error);
  if (placed == NULL)
    {
      g_message ("Call %u: cannot follow the transfer to %s: %s", dt_call_get_index (call),
                 target_uri, error->message);
      return NULL;
    }
  g_message ("Call %u: transferred by its party to %s (call %u)", dt_call_get_index (call),
             target_uri, dt_call_get_index (placed));
  return g_object_ref (placed);
}

static DtCall *
add_call (DtManager       *self,
          DtAccount       *account,
          DtCallDirection  direction,
          const char      *remote_uri,
          const char      *remote_display_name,
          const char      *local_uri)
{
  DtCall *call = dt_call_new (self->next_call_index++, account, direction, remote_uri,
                              remote_display_name, local_uri, self->backend, self->engine,
                              self->profile);

  g_object_set_data (G_OBJECT (call), "dt-manager", self);
  g_ptr_array_add (self->calls, call);
  g_signal_connect (call, "state-changed", G_CALLBACK (on_call_state_changed), self);
  g_signal_connect (call, "referred", G_CALLBACK (on_call_referred), self);
  write_history (self, call);
  g_signal_emit (self, signals[SIGNAL_CALL_ADDED], 0, call);
  return call;
}

/* Call waiting: the calls the user was talking on go on hold when they
 * take another one. */
static void
hold_others (DtManager *self,
             DtCall    *call)
{
  for (guint i = 0; i < self->calls->len; i++)
    {
      DtCall *other = self->calls->pdata[i];
      DtCallState state = dt_call_get_state (other);
      g_autoptr(GError) error = NULL;

      if (other == call || dt_call_is_held_locally (other) ||
          (state != DT_CALL_STATE_ACTIVE && state != DT_CALL_STATE_REMOTE_HELD))
        continue;
      if (!dt_call_hold (other, &error))
        g_warning ("Call %u: cannot hold it: %s", dt_call_get_index (other), error->message);
    }
}

static gboolean
apply_call_options (DtManager  *self,
                    DtCall     *call,
                    GVariant   *options,
                    GError    **error)
{
  g_autoptr(DtSettings) parsed = dt_settings_new (call_option_specs);
  g_autofree char *source = NULL, *sink = NULL;

  /* @options is not floating (D-Bus arguments): update_vardict borrows it. */
  if (options != NULL && !dt_settings_update_vardict (parsed, options, error))
    return FALSE;
  if (dt_settings_is_set (parsed, "audio-source") &&
      (source = check_endpoint (self, "audio-source", dt_settings_get_string (parsed, "audio-source"),
                                TRUE, error)) == NULL)
    return FALSE;
  if (dt_settings_is_set (parsed, "audio-sink") &&
      (sink = check_endpoint (self, "audio-sink", dt_settings_get_string (parsed, "audio-sink"),
                              FALSE, error)) == NULL)
    return FALSE;
  if (call != NULL)
    dt_call_set_endpoints (call, source, sink);
  if (call != NULL && dt_settings_get_boolean (parsed, "hold-others"))
    hold_others (self, call);
  return TRUE;
}

/* "1234" → "sip:1234@DOMAIN-OF-THE-ACCOUNT"; "bob@host" → "sip:bob@host". */
static char *
complete_uri (const char *input,
              DtAccount  *account)
{
  const char *address = dt_account_get_address (account);
  const char *at = strchr (address, '@');
  g_autofree char *with_scheme = NULL;

  if (g_str_has_prefix (input, "sip:") || g_str_has_prefix (input, "sips:"))
    with_scheme = g_strdup (input);
  else
    with_scheme = g_strconcat ("sip:", input, NULL);

  if (strchr (with_scheme, '@') == NULL && at != NULL && strchr (with_scheme, ':')[1] != '\0' &&
      !g_hostname_is_ip_address (strchr (with_scheme, ':') + 1))
    {
      /* A bare number or user name: the account's domain, without any of
       * the account URI's parameters. */
      g_autofree char *domain = g_strndup (at + 1, strcspn (at + 1, ";>?"));
      return g_strconcat (with_scheme, "@", domain, NULL);
    }
  return g_steal_pointer (&with_scheme);
}

static DtAccount *
choose_account (DtManager  *self,
                GError    **error)
{
  if (self->default_account != NULL && dt_account_get_enabled (self->default_account))
    return self->default_account;
  for (guint i = 0; i < self->accounts->len; i++)
    if (dt_account_get_enabled (self->accounts->pdata[i]))
      return self->accounts->pdata[i];
  g_set_error_literal (error, DT_ERROR, DT_ERROR_NOT_FOUND,
                       "no enabled account to call from; add one with CreateAccount");
  return NULL;
}

/* Returns once the call is under way; how it goes shows in its state. */
DtCall *
dt_manager_dial (DtManager  *self,
                 DtAccount  *account,
                 const char *uri,
                 GVariant   *options,
                 GError    **error)
{
  g_autofree char *target = NULL;
  g_autoptr(GError) uri_error = NULL;
  DtCall *call;

  if (self->engine == NULL)
    {
      g_set_error_literal (error, DT_ERROR, DT_ERROR_NOT_SUPPORTED, "calls are not available");
      return NULL;
    }
  if (account == NULL && (account = choose_account (self, error)) == NULL)
    return NULL;
  if (!dt_account_get_enabled (account))
    {
      g_set_error (error, DT_ERROR, DT_ERROR_INVALID_STATE, "account %s is disabled",
                   dt_account_get_id (account));
      return NULL;
    }
  if (uri == NULL || *uri == '\0')
    {
      g_set_error_literal (error, DT_ERROR, DT_ERROR_INVALID_ARGUMENTS, "uri: is empty");
      return NULL;
    }
  if (!dt_text_check ("uri", uri, error))
    return NULL;
  {
    /* Another scheme ("http:", "tel:" for now) cannot be completed into a
     * SIP URI: say so rather than call "sip:http://…". */
    g_autofree char *scheme = g_uri_parse_scheme (uri);

    if (scheme != NULL && g_ascii_strcasecmp (scheme, "sip") != 0 && g_ascii_strcasecmp (scheme, "sips") != 0)
      {
        g_set_error (error, DT_ERROR, DT_ERROR_INVALID_ARGUMENTS, "uri: '%s:' URIs cannot be called", scheme);
        return NULL;
      }
  }
  target = complete_uri (uri, account);
  if (strstr (target, ":@") != NULL || g_str_has_suffix (target, ":"))
    {
      g_set_error (error, DT_ERROR, DT_ERROR_INVALID_ARGUMENTS, "uri: '%s' names nobody to call", uri);
      return NULL;
    }
  if (!dt_backend_check_uri (self->backend, target, &uri_error))
    {
      g_set_error (error, DT_ERROR, DT_ERROR_INVALID_ARGUMENTS, "uri: %s", uri_error->message);
      return NULL;
    }
  if (!apply_call_options (self, NULL, options, error))
    return NULL;

  call = add_call (self, account, DT_CALL_DIRECTION_OUTGOING, target, NULL,
                   dt_account_get_address (account));
  apply_call_options (self, call, options, NULL);
  g_message ("Call %u: dialing %s from %s", dt_call_get_index (call), target,
             dt_account_get_id (account));
  if (!dt_call_dial (call, error))
    return NULL;
  return call;
}

gboolean
dt_manager_answer_call (DtManager  *self,
                        DtCall     *call,
                        GVariant   *options,
                        GError    **error)
{
  if (!apply_call_options (self, call, options, error))
    return FALSE;
  return dt_call_answer (call, error);
}

guint
dt_manager_hangup_all (DtManager *self)
{
  guint count = 0;

  for (guint i = 0; i < self->calls->len; i++)
    if (dt_call_hangup (self->calls->pdata[i], NULL))
      count++;
  return count;
}

static gboolean
refuse_busy (gpointer user_data)
{
  DtCall *call = user_data;

  if (dt_call_get_state (call) == DT_CALL_STATE_INCOMING)
    dt_call_refuse_busy (call);
  return G_SOURCE_REMOVE;
}

static DtCall *
on_incoming_call (DtBackend  *backend,
                  DtAccount  *account,
                  const char *remote_uri,
                  const char *remote_display_name,
                  const char *local_uri,
                  DtManager  *self)
{
  const DtSettings *settings;
  DtCall *call;

  if (self->engine == NULL || !self->started)
    return NULL;
  call = add_call (self, account, DT_CALL_DIRECTION_INCOMING, remote_uri, remote_display_name,
                   local_uri);
  g_message ("Call %u: incoming from %s on %s", dt_call_get_index (call), remote_uri,
             dt_account_get_id (account));
  settings = dt_account_get_settings (account);
  if (dt_settings_get_boolean (settings, "do-not-disturb"))
    {
      /* Turned away once the backend holds the call, so it shows as a
       * missed call like any other. */
      g_message ("Call %u: do not disturb: refused busy", dt_call_get_index (call));
      g_idle_add_full (G_PRIORITY_DEFAULT, refuse_busy, g_object_ref (call), g_object_unref);
    }
  else if (dt_settings_get_boolean (settings, "auto-answer"))
    dt_call_schedule_auto_answer (call, dt_settings_get_uint (settings, "auto-answer-delay"));
  return g_object_ref (call);
}
