#include "dt-dbus-exporter.h"

#include "dt-build-config.h"
#include "dt-dbus-errors.h"
#include "dt-dbus-skeletons.h"
#include "core/dt-enum-types.h"
#include "core/dt-error.h"
#include "core/dt-state.h"

#define ACCOUNT_PATH_PREFIX DT_ROOT_PATH "/Account/"
#define CALL_PATH_PREFIX DT_ROOT_PATH "/Call/"

typedef struct {
  DtDbusExporter      *exporter;
  DtAccount           *account;
  char                *path;
  DtGenObjectSkeleton *object;
  DtGenAccount        *skeleton;
} ExportedAccount;

typedef struct {
  DtDbusExporter        *exporter;
  DtCall                *call;
  char                  *path;
  DtGenObjectSkeleton   *object;
  DtGenCall             *skeleton;
  gboolean               exported;
  guint                  export_id;  /* an outgoing call's export, once its INVITE is out */
  GDBusMethodInvocation *dial;       /* the Dial that placed it, answered once it is exported */
} ExportedCall;

struct _DtDbusExporter {
  GObject                   parent_instance;
  GDBusConnection          *connection;
  DtManager                *manager;
  GDBusObjectManagerServer *object_manager;
  DtGenManager             *manager_skeleton;
  DtGenHistory             *history_skeleton;
  GHashTable               *accounts;  /* DtAccount → ExportedAccount */
  GHashTable               *calls;     /* DtCall → ExportedCall */
  gboolean                  exported;
};

G_DEFINE_FINAL_TYPE (DtDbusExporter, dt_dbus_exporter, G_TYPE_OBJECT)

static char *
account_path (DtAccount *account)
{
  return g_strdup_printf (ACCOUNT_PATH_PREFIX "%u", dt_account_get_index (account));
}

static char *
call_path (DtCall *call)
{
  return g_strdup_printf (CALL_PATH_PREFIX "%u", dt_call_get_index (call));
}

static gboolean
call_is_exported (DtDbusExporter *self,
                  DtCall         *call)
{
  ExportedCall *ec = g_hash_table_lookup (self->calls, call);

  return ec != NULL && ec->exported;
}

/* Paths of the exported calls (all of them, or those of one account),
 * oldest first. */
static GStrv
call_paths (DtDbusExporter *self,
            DtAccount      *only)
{
  GPtrArray *calls = dt_manager_get_calls (self->manager);
  GPtrArray *paths = g_ptr_array_new ();

  for (guint i = 0; i < calls->len; i++)
    if ((only == NULL || dt_call_get_account (calls->pdata[i]) == only) &&
        call_is_exported (self, calls->pdata[i]))
      g_ptr_array_add (paths, call_path (calls->pdata[i]));
  g_ptr_array_add (paths, NULL);
  return (GStrv) g_ptr_array_free (paths, FALSE);
}

static DtAccount *
account_for_path (DtDbusExporter  *self,
                  const char      *path,
                  GError         **error)
{
  GHashTableIter iter;
  gpointer value;

  g_hash_table_iter_init (&iter, self->accounts);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    if (g_str_equal (((ExportedAccount *) value)->path, path))
      return ((ExportedAccount *) value)->account;
  g_set_error (error, DT_ERROR, DT_ERROR_NOT_FOUND, "no account at %s", path);
  return NULL;
}

/* Manager */

static void
sync_log_level (DtDbusExporter *self)
{
  dt_gen_manager_set_log_level (self->manager_skeleton,
                                dt_enum_to_nick (DT_TYPE_LOG_LEVEL,
                                                 dt_manager_get_log_level (self->manager)));
}

static void
sync_accounts_list (DtDbusExporter *self)
{
  GPtrArray *accounts = dt_manager_get_accounts (self->manager);
  g_autoptr(GPtrArray) paths = g_ptr_array_new_with_free_func (g_free);

  for (guint i = 0; i < accounts->len; i++)
    g_ptr_array_add (paths, account_path (g_ptr_array_index (accounts, i)));
  g_ptr_array_add (paths, NULL);
  dt_gen_manager_set_accounts (self->manager_skeleton, (const char * const *) paths->pdata);
}

static void
sync_default_account (DtDbusExporter *self)
{
  DtAccount *account = dt_manager_get_default_account (self->manager);
  g_autofree char *path = account ? account_path (account) : g_strdup ("/");

  dt_gen_manager_set_default_account (self->manager_skeleton, path);
}

static gboolean
write_manager_property (GDBusInterfaceSkeleton  *skeleton,
                        const char              *property,
                        GVariant                *value,
                        gpointer                 user_data,
                        GError                 **error)
{
  DtDbusExporter *self = user_data;

  if (g_str_equal (property, "DefaultAccount"))
    {
      const char *path = g_variant_get_string (value, NULL);
      DtAccount *account = NULL;

      if (!g_str_equal (path, "/") && (account = account_for_path (self, path, error)) == NULL)
        return FALSE;
      dt_manager_set_default_account (self->manager, account);
      return TRUE;
    }
  if (g_str_equal (property, "AudioSource") || g_str_equal (property, "AudioSink"))
    {
      gboolean source = g_str_equal (property, "AudioSource");
      const DtCallProfile *profile = dt_manager_get_call_profile (self->manager);

      if (!dt_manager_set_audio_endpoint (self->manager, source, g_variant_get_string (value, NULL), error))
        return FALSE;
      /* What the manager kept: a file's path may have been resolved. */
      if (source)
        dt_gen_manager_set_audio_source (self->manager_skeleton, profile->audio_source);
      else
        dt_gen_manager_set_audio_sink (self->manager_skeleton, profile->audio_sink);
      return TRUE;
    }
  g_set_error (error, G_DBUS_ERROR, G_DBUS_ERROR_PROPERTY_READ_ONLY, "%s is read-only", property);
  return FALSE;
}

/* Dial's "account" option (an Id, or a path) is resolved here; the core
 * gets the rest. */
static gboolean
take_account_option (DtDbusExporter  *self,
                     GVariant        *options,
                     DtAccount      **account,
                     GVariant       **rest,
                     GError         **error)
{
  g_autoptr(GVariantDict) dict = g_variant_dict_new (options);
  g_autoptr(GVariant) value = g_variant_dict_lookup_value (dict, "account", NULL);

  *account = NULL;
  if (value != NULL)
    {
      g_variant_dict_remove (dict, "account");
      if (g_variant_is_of_type (value, G_VARIANT_TYPE_OBJECT_PATH))
        *account = account_for_path (self, g_variant_get_string (value, NULL), error);
      else if (g_variant_is_of_type (value, G_VARIANT_TYPE_STRING))
        {
          if (!dt_text_check ("account", g_variant_get_string (value, NULL), error))
            return FALSE;
          *account = dt_manager_find_account (self->manager, g_variant_get_string (value, NULL));
          if (*account == NULL)
            g_set_error (error, DT_ERROR, DT_ERROR_NOT_FOUND, "account: no account '%s'",
                         g_variant_get_string (value, NULL));
        }
      else
        g_set_error (error, DT_ERROR, DT_ERROR_INVALID_ARGUMENTS,
                     "account: expected an id (s) or a path (o), got '%s'", g_variant_get_type_string (value));
      if (*account == NULL)
        return FALSE;
    }
  *rest = g_variant_ref_sink (g_variant_dict_end (dict));
  return TRUE;
}

static void
dial (DtDbusExporter        *self,
      GDBusMethodInvocation *invocation,
      DtAccount             *account,
      const char            *uri,
      GVariant              *options)
{
  g_autoptr(GError) error = NULL;
  DtCall *call = dt_manager_dial (self->manager, account, uri, options, &error);
  ExportedCall *ec;

  if (call == NULL)
    {
      dt_dbus_return_error (invocation, error);
      return;
    }
  /* The reply names the call: it follows the call's InterfacesAdded. */
  ec = g_hash_table_lookup (self->calls, call);
  g_assert (ec != NULL);
  if (!ec->exported)
    ec->dial = invocation;
  else
    g_dbus_method_invocation_return_value (invocation, g_variant_new ("(o)", ec->path));
}

static gboolean
handle_dial (DtGenManager          *skeleton,
             GDBusMethodInvocation *invocation,
             const char            *uri,
             GVariant              *options,
             DtDbusExporter        *self)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) rest = NULL;
  DtAccount *account;

  if (!take_account_option (self, options, &account, &rest, &error))
    dt_dbus_return_error (invocation, error);
  else
    dial (self, invocation, account, uri, rest);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
handle_hangup_all (DtGenManager          *skeleton,
                   GDBusMethodInvocation *invocation,
                   DtDbusExporter        *self)
{
  dt_gen_manager_complete_hangup_all (skeleton, invocation, dt_manager_hangup_all (self->manager));
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
handle_create_conference (DtGenManager          *skeleton,
                          GDBusMethodInvocation *invocation,
                          const char * const    *paths,
                          DtDbusExporter        *self)
{
  g_autoptr(GPtrArray) calls = g_ptr_array_new ();
  g_autoptr(GError) error = NULL;
  guint conference;

  for (guint i = 0; paths[i] != NULL; i++)
    {
      GHashTableIter iter;
      gpointer value;
      DtCall *call = NULL;

      g_hash_table_iter_init (&iter, self->calls);
      while (call == NULL && g_hash_table_iter_next (&iter, NULL, &value))
        if (g_str_equal (((ExportedCall *) value)->path, paths[i]))
          call = ((ExportedCall *) value)->call;
      if (call == NULL)
        {
          g_set_error (&error, DT_ERROR, DT_ERROR_NOT_FOUND, "calls: no call at %s", paths[i]);
          dt_dbus_return_error (invocation, error);
          return G_DBUS_METHOD_INVOCATION_HANDLED;
        }
      g_ptr_array_add (calls, call);
    }
  conference = dt_manager_create_conference (self->manager, calls, &error);
  if (conference == 0)
    dt_dbus_return_error (invocation, error);
  else
    dt_gen_manager_complete_create_conference (skeleton, invocation, conference);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
handle_set_log_level (DtGenManager          *skeleton,
                      GDBusMethodInvocation *invocation,
                      const char            *level_nick,
                      DtDbusExporter        *self)
{
  g_autoptr(GError) error = NULL;
  DtLogLevel level;

  if (!dt_text_check ("level", level_nick, &error) || !dt_log_level_parse (level_nick, &level, &error))
    {
      dt_dbus_return_error (invocation, error);
      return G_DBUS_METHOD_INVOCATION_HANDLED;
    }
  dt_manager_set_log_level (self->manager, level);
  dt_gen_manager_complete_set_log_level (skeleton, invocation);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
handle_create_account (DtGenManager          *skeleton,
                       GDBusMethodInvocation *invocation,
                       GVariant              *settings,
                       DtDbusExporter        *self)
{
  g_autoptr(GError) error = NULL;
  DtAccount *account = dt_manager_create_account (self->manager, settings, &error);
  g_autofree char *path = NULL;

  if (account == NULL)
    {
      dt_dbus_return_error (invocation, error);
      return G_DBUS_METHOD_INVOCATION_HANDLED;
    }
  path = account_path (account);
  dt_gen_manager_complete_create_account (skeleton, invocation, path);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
handle_remove_account (DtGenManager          *skeleton,
                       GDBusMethodInvocation *invocation,
                       const char            *path,
                       DtDbusExporter        *self)
{
  g_autoptr(GError) error = NULL;
  DtAccount *account = account_for_path (self, path, &error);

  if (account == NULL || !dt_manager_remove_account (self->manager, account, &error))
    {
      dt_dbus_return_error (invocation, error);
      return G_DBUS_METHOD_INVOCATION_HANDLED;
    }
  dt_gen_manager_complete_remove_account (skeleton, invocation);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

/* Accounts */

static void
sync_account (ExportedAccount *ea)
{
  DtAccount *a = ea->account;
  DtGenAccount *s = ea->skeleton;

  dt_gen_account_set_id (s, dt_account_get_id (a));
  dt_gen_account_set_address (s, dt_account_get_address (a));
  dt_gen_account_set_display_name (s, dt_account_get_display_name (a));
  dt_gen_account_set_enabled (s, dt_account_get_enabled (a));
  dt_gen_account_set_state (s, dt_enum_to_nick (DT_TYPE_ACCOUNT_STATE, dt_account_get_state (a)));
  dt_gen_account_set_state_reason (s, dt_enum_to_nick (DT_TYPE_ACCOUNT_STATE_REASON,
                                                       dt_account_get_state_reason (a)));
  dt_gen_account_set_last_sip_status (s, dt_account_get_last_sip_status (a));
  dt_gen_account_set_last_sip_reason (s, dt_account_get_last_sip_reason (a));
  dt_gen_account_set_transport (s, dt_account_get_transport (a));
  dt_gen_account_set_registration_expires_usec (s, (guint64) dt_account_get_registration_expires_usec (a));
  {
    g_auto(GStrv) calls = call_paths (ea->exporter, a);
    dt_gen_account_set_calls (s, (const char * const *) calls);
  }
}

static void
on_account_notify (DtAccount       *account,
                   GParamSpec      *pspec,
                   ExportedAccount *ea)
{
  /* Setting an unchanged value on a skeleton emits nothing, so syncing
   * everything keeps this simple without extra signals. */
  sync_account (ea);
}

static void
on_account_state_changed (DtAccount            *account,
                          DtAccountState        old_state,
                          DtAccountState        new_state,
                          DtAccountStateReason  reason,
                          ExportedAccount      *ea)
{
  sync_account (ea);
  /* Properties first: a client reacting to the signal reads the new state. */
  g_dbus_interface_skeleton_flush (G_DBUS_INTERFACE_SKELETON (ea->skeleton));
  dt_gen_account_emit_state_changed (ea->skeleton,
                                     dt_enum_to_nick (DT_TYPE_ACCOUNT_STATE, old_state),
                                     dt_enum_to_nick (DT_TYPE_ACCOUNT_STATE, new_state),
                                     dt_enum_to_nick (DT_TYPE_ACCOUNT_STATE_REASON, reason));
}

static gboolean
write_account_property (GDBusInterfaceSkeleton  *skeleton,
                        const char              *property,
                        GVariant                *value,
                        gpointer                 user_data,
                        GError                 **error)
{
  ExportedAccount *ea = user_data;

  if (g_str_equal (property, "Enabled"))
    return dt_manager_set_account_enabled (ea->exporter->manager, ea->account,
                                           g_variant_get_boolean (value), error);
  g_set_error (error, G_DBUS_ERROR, G_DBUS_ERROR_PROPERTY_READ_ONLY, "%s is read-only", property);
  return FALSE;
}

static void
complete_or_fail (GDBusMethodInvocation *invocation,
                  gboolean               ok,
                  GError               **error)
{
  if (ok)
    g_dbus_method_invocation_return_value (invocation, NULL);
  else
    dt_dbus_return_error (invocation, *error);
}

static gboolean
handle_account_update (DtGenAccount          *skeleton,
                       GDBusMethodInvocation *invocation,
                       GVariant              *settings,
                       ExportedAccount       *ea)
{
  g_autoptr(GError) error = NULL;

  complete_or_fail (invocation,
                    dt_manager_update_account (ea->exporter->manager, ea->account, settings, &error),
                    &error);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
handle_account_get_settings (DtGenAccount          *skeleton,
                             GDBusMethodInvocation *invocation,
                             ExportedAccount       *ea)
{
  dt_gen_account_complete_get_settings (skeleton, invocation,
                                        dt_settings_to_vardict (dt_account_get_settings (ea->account)));
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
handle_account_set_password (DtGenAccount          *skeleton,
                             GDBusMethodInvocation *invocation,
                             const char            *password,
                             ExportedAccount       *ea)
{
  g_autoptr(GError) error = NULL;

  complete_or_fail (invocation, dt_manager_set_account_password (ea->exporter->manager, ea->account,
                                                     password, &error), &error);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
handle_account_register (DtGenAccount          *skeleton,
                         GDBusMethodInvocation *invocation,
                         ExportedAccount       *ea)
{
  g_autoptr(GError) error = NULL;

  complete_or_fail (invocation, dt_account_register (ea->account, &error), &error);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
handle_account_dial (DtGenAccount          *skeleton,
                     GDBusMethodInvocation *invocation,
                     const char            *uri,
                     GVariant              *options,
                     ExportedAccount       *ea)
{
  dial (ea->exporter, invocation, ea->account, uri, options);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
handle_account_unregister (DtGenAccount          *skeleton,
                           GDBusMethodInvocation *invocation,
                           ExportedAccount       *ea)
{
  g_autoptr(GError) error = NULL;

  complete_or_fail (invocation, dt_account_unregister (ea->account, &error), &error);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static void
exported_account_free (ExportedAccount *ea)
{
  g_signal_handlers_disconnect_by_data (ea->account, ea);
  g_signal_handlers_disconnect_by_data (ea->skeleton, ea);
  if (ea->exporter->exported)
    g_dbus_object_manager_server_unexport (ea->exporter->object_manager, ea->path);
  g_object_unref (ea->skeleton);
  g_object_unref (ea->object);
  g_object_unref (ea->account);
  g_free (ea->path);
  g_free (ea);
}

static void
export_account (DtDbusExporter *self,
                DtAccount      *account)
{
  ExportedAccount *ea = g_new0 (ExportedAccount, 1);

  ea->exporter = self;
  ea->account = g_object_ref (account);
  ea->path = account_path (account);
  ea->skeleton = dt_dbus_account_skeleton_new (write_account_property, ea);
  sync_account (ea);
  g_signal_connect (ea->skeleton, "handle-update", G_CALLBACK (handle_account_update), ea);
  g_signal_connect (ea->skeleton, "handle-get-settings", G_CALLBACK (handle_account_get_settings), ea);
  g_signal_connect (ea->skeleton, "handle-set-password", G_CALLBACK (handle_account_set_password), ea);
  g_signal_connect (ea->skeleton, "handle-register", G_CALLBACK (handle_account_register), ea);
  g_signal_connect (ea->skeleton, "handle-unregister", G_CALLBACK (handle_account_unregister), ea);
  g_signal_connect (ea->skeleton, "handle-dial", G_CALLBACK (handle_account_dial), ea);
  g_signal_connect (account, "notify", G_CALLBACK (on_account_notify), ea);
  g_signal_connect (account, "state-changed", G_CALLBACK (on_account_state_changed), ea);

  ea->object = dt_gen_object_skeleton_new (ea->path);
  dt_gen_object_skeleton_set_account (ea->object, ea->skeleton);
  g_hash_table_insert (self->accounts, account, ea);
  g_dbus_object_manager_server_export (self->object_manager, G_DBUS_OBJECT_SKELETON (ea->object));
}

static void
on_account_added (DtManager      *manager,
                  DtAccount      *account,
                  DtDbusExporter *self)
{
  export_account (self, account);
  sync_accounts_list (self);
}

static void
on_account_removed (DtManager      *manager,
                    DtAccount      *account,
                    DtDbusExporter *self)
{
  g_hash_table_remove (self->accounts, account);
  sync_accounts_list (self);
}

/* Calls */

static void
sync_call (ExportedCall *ec)
{
  DtCall *c = ec->call;
  DtGenCall *s = ec->skeleton;
  g_autofree char *account = account_path (dt_call_get_account (c));

  dt_gen_call_set_account (s, account);
  dt_gen_call_set_direction (s, dt_enum_to_nick (DT_TYPE_CALL_DIRECTION, dt_call_get_direction (c)));
  dt_gen_call_set_remote_uri (s, dt_call_get_remote_uri (c));
  dt_gen_call_set_remote_display_name (s, dt_call_get_remote_display_name (c));
  dt_gen_call_set_local_uri (s, dt_call_get_local_uri (c));
  dt_gen_call_set_state (s, dt_enum_to_nick (DT_TYPE_CALL_STATE, dt_call_get_state (c)));
  dt_gen_call_set_state_reason (s, dt_enum_to_nick (DT_TYPE_CALL_STATE_REASON, dt_call_get_state_reason (c)));
  dt_gen_call_set_sip_status (s, dt_call_get_sip_status (c));
  dt_gen_call_set_sip_reason (s, dt_call_get_sip_reason (c));
  dt_gen_call_set_created_usec (s, (guint64) dt_call_get_created_usec (c));
  dt_gen_call_set_answered_usec (s, (guint64) dt_call_get_answered_usec (c));
  dt_gen_call_set_ended_usec (s, (guint64) dt_call_get_ended_usec (c));
  dt_gen_call_set_media (s, dt_call_get_media_info (c));
  dt_gen_call_set_encrypted (s, dt_call_get_encrypted (c));
  dt_gen_call_set_muted (s, dt_call_get_muted (c));
  dt_gen_call_set_recording (s, dt_call_get_recording (c));
  dt_gen_call_set_conference (s, dt_call_get_conference (c));
}

static void sync_calls_lists (DtDbusExporter *self);

/* InterfacesAdded carries every property: a client joining mid-call sees
 * the whole state at once. Whatever the call emits goes through here
 * first, so a client never sees a call's signal before the call. */
static void
export_call (ExportedCall *ec)
{
  if (ec->exported)
    return;
  ec->exported = TRUE;
  g_clear_handle_id (&ec->export_id, g_source_remove);
  sync_call (ec);
  g_dbus_object_manager_server_export (ec->exporter->object_manager, G_DBUS_OBJECT_SKELETON (ec->object));
  sync_calls_lists (ec->exporter);
  if (ec->dial != NULL)
    g_dbus_method_invocation_return_value (g_steal_pointer (&ec->dial), g_variant_new ("(o)", ec->path));
}

static gboolean
export_call_later (gpointer user_data)
{
  ExportedCall *ec = user_data;

  ec->export_id = 0;
  export_call (ec);
  return G_SOURCE_REMOVE;
}

/* One property changed: only it is copied, since a call notifies several
 * times at each step (a full copy, media info included, at every notify
 * was most of the work of a call's setup). The full copy still runs at
 * every state change (on_call_state_changed) and at export. */
static void
on_call_notify (DtCall       *call,
                GParamSpec   *pspec,
                ExportedCall *ec)
{
  DtGenCall *s = ec->skeleton;
  const char *name = pspec->name;

  if (g_str_equal (name, "state"))
    dt_gen_call_set_state (s, dt_enum_to_nick (DT_TYPE_CALL_STATE, dt_call_get_state (call)));
  else if (g_str_equal (name, "state-reason"))
    dt_gen_call_set_state_reason (s, dt_enum_to_nick (DT_TYPE_CALL_STATE_REASON,
                                                      dt_call_get_state_reason (call)));
  else if (g_str_equal (name, "sip-status"))
    dt_gen_call_set_sip_status (s, dt_call_get_sip_status (call));
  else if (g_str_equal (name, "sip-reason"))
    dt_gen_call_set_sip_reason (s, dt_call_get_sip_reason (call));
  else if (g_str_equal (name, "answered-usec"))
    dt_gen_call_set_answered_usec (s, (guint64) dt_call_get_answered_usec (call));
  else if (g_str_equal (name, "ended-usec"))
    dt_gen_call_set_ended_usec (s, (guint64) dt_call_get_ended_usec (call));
  else if (g_str_equal (name, "media-info"))
    {
      /* Whether it is encrypted changes with the media, without a notify. */
      dt_gen_call_set_media (s, dt_call_get_media_info (call));
      dt_gen_call_set_encrypted (s, dt_call_get_encrypted (call));
    }
  else if (g_str_equal (name, "muted"))
    dt_gen_call_set_muted (s, dt_call_get_muted (call));
  else if (g_str_equal (name, "recording"))
    dt_gen_call_set_recording (s, dt_call_get_recording (call));
  else if (g_str_equal (name, "conference"))
    dt_gen_call_set_conference (s, dt_call_get_conference (call));
  else
    sync_call (ec);
}

static void
on_call_state_changed (DtCall            *call,
                       DtCallState        old_state,
                       DtCallState        new_state,
                       DtCallStateReason  reason,
                       ExportedCall      *ec)
{
  export_call (ec);
  sync_call (ec);
  g_dbus_interface_skeleton_flush (G_DBUS_INTERFACE_SKELETON (ec->skeleton));
  dt_gen_call_emit_state_changed (ec->skeleton,
                                  dt_enum_to_nick (DT_TYPE_CALL_STATE, old_state),
                                  dt_enum_to_nick (DT_TYPE_CALL_STATE, new_state),
                                  dt_enum_to_nick (DT_TYPE_CALL_STATE_REASON, reason));
}

static gboolean
handle_call_answer (DtGenCall             *skeleton,
                    GDBusMethodInvocation *invocation,
                    GVariant              *options,
                    ExportedCall          *ec)
{
  g_autoptr(GError) error = NULL;

  complete_or_fail (invocation,
                    dt_manager_answer_call (ec->exporter->manager, ec->call, options, &error), &error);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
handle_call_hangup (DtGenCall             *skeleton,
                    GDBusMethodInvocation *invocation,
                    ExportedCall          *ec)
{
  g_autoptr(GError) error = NULL;

  complete_or_fail (invocation, dt_call_hangup (ec->call, &error), &error);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
handle_call_reject (DtGenCall             *skeleton,
                    GDBusMethodInvocation *invocation,
                    guint                  status,
                    ExportedCall          *ec)
{
  g_autoptr(GError) error = NULL;

  complete_or_fail (invocation, dt_call_reject (ec->call, status, &error), &error);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static GVariant *
read_call_property (GDBusInterfaceSkeleton *skeleton,
                    const char             *property,
                    gpointer                user_data)
{
  ExportedCall *ec = user_data;

  if (g_str_equal (property, "Statistics"))
    return dt_call_get_statistics (ec->call);
  return NULL;
}

static gboolean
write_call_property (GDBusInterfaceSkeleton  *skeleton,
                     const char              *property,
                     GVariant                *value,
                     gpointer                 user_data,
                     GError                 **error)
{
  ExportedCall *ec = user_data;

  if (g_str_equal (property, "Muted"))
    {
      if (dt_call_is_ended (ec->call))
        {
          g_set_error_literal (error, DT_ERROR, DT_ERROR_INVALID_STATE, "the call has ended");
          return FALSE;
        }
      dt_call_set_muted (ec->call, g_variant_get_boolean (value));
      return TRUE;
    }
  g_set_error (error, G_DBUS_ERROR, G_DBUS_ERROR_PROPERTY_READ_ONLY, "%s is read-only", property);
  return FALSE;
}

/* Call control */

static gboolean
handle_call_hold (DtGenCall             *skeleton,
                  GDBusMethodInvocation *invocation,
                  ExportedCall          *ec)
{
  g_autoptr(GError) error = NULL;

  complete_or_fail (invocation, dt_call_hold (ec->call, &error), &error);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
handle_call_resume (DtGenCall             *skeleton,
                    GDBusMethodInvocation *invocation,
                    ExportedCall          *ec)
{
  g_autoptr(GError) error = NULL;

  complete_or_fail (invocation, dt_call_resume (ec->call, &error), &error);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
handle_call_send_dtmf (DtGenCall             *skeleton,
                       GDBusMethodInvocation *invocation,
                       const char            *digits,
                       ExportedCall          *ec)
{
  g_autoptr(GError) error = NULL;

  complete_or_fail (invocation, dt_call_send_dtmf (ec->call, digits, &error), &error);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
handle_call_play_file (DtGenCall             *skeleton,
                       GDBusMethodInvocation *invocation,
                       const char            *path,
                       GVariant              *options,
                       ExportedCall          *ec)
{
  g_autoptr(GError) error = NULL;

  complete_or_fail (invocation, dt_call_play_file (ec->call, path, options, &error), &error);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
handle_call_stop_playback (DtGenCall             *skeleton,
                           GDBusMethodInvocation *invocation,
                           ExportedCall          *ec)
{
  g_autoptr(GError) error = NULL;

  complete_or_fail (invocation, dt_call_stop_playback (ec->call, &error), &error);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
handle_call_start_recording (DtGenCall             *skeleton,
                             GDBusMethodInvocation *invocation,
                             const char            *path,
                             GVariant              *options,
                             ExportedCall          *ec)
{
  g_autoptr(GError) error = NULL;

  complete_or_fail (invocation, dt_call_start_recording (ec->call, path, options, &error), &error);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
handle_call_leave_conference (DtGenCall             *skeleton,
                              GDBusMethodInvocation *invocation,
                              ExportedCall          *ec)
{
  g_autoptr(GError) error = NULL;

  complete_or_fail (invocation, dt_manager_leave_conference (ec->exporter->manager, ec->call, &error), &error);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
handle_call_stop_recording (DtGenCall             *skeleton,
                            GDBusMethodInvocation *invocation,
                            ExportedCall          *ec)
{
  g_autoptr(GError) error = NULL;

  complete_or_fail (invocation, dt_call_stop_recording (ec->call, &error), &error);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static void
on_call_dtmf_received (DtCall       *call,
                       const char   *digit,
                       ExportedCall *ec)
{
  export_call (ec);
  dt_gen_call_emit_dtmf_received (ec->skeleton, digit);
}

static void
on_call_playback_finished (DtCall       *call,
                           const char   *path,
                           const char   *reason,
                           ExportedCall *ec)
{
  export_call (ec);
  dt_gen_call_emit_playback_finished (ec->skeleton, path, reason);
}

/* Transfer */

static void
sync_call_transfer (ExportedCall *ec)
{
  dt_gen_call_set_transfer_state (ec->skeleton, dt_enum_to_nick (DT_TYPE_CALL_TRANSFER_STATE,
                                                                 dt_call_get_transfer_state (ec->call)));
  dt_gen_call_set_transfer_status (ec->skeleton, dt_call_get_transfer_status (ec->call));
}

static void
on_call_transfer_notify (DtCall       *call,
                         GParamSpec   *pspec,
                         ExportedCall *ec)
{
  sync_call_transfer (ec);
}

static gboolean
handle_call_transfer (DtGenCall             *skeleton,
                      GDBusMethodInvocation *invocation,
                      const char            *uri,
                      ExportedCall          *ec)
{
  g_autoptr(GError) error = NULL;

  complete_or_fail (invocation, dt_call_transfer (ec->call, uri, &error), &error);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
handle_call_transfer_to_call (DtGenCall             *skeleton,
                              GDBusMethodInvocation *invocation,
                              const char            *other_path,
                              ExportedCall          *ec)
{
  g_autoptr(GError) error = NULL;
  GHashTableIter iter;
  gpointer value;
  DtCall *other = NULL;

  g_hash_table_iter_init (&iter, ec->exporter->calls);
  while (other == NULL && g_hash_table_iter_next (&iter, NULL, &value))
    if (g_str_equal (((ExportedCall *) value)->path, other_path))
      other = ((ExportedCall *) value)->call;
  if (other == NULL)
    g_set_error (&error, DT_ERROR, DT_ERROR_NOT_FOUND, "other: no call at %s", other_path);
  complete_or_fail (invocation, other != NULL && dt_call_transfer_to_call (ec->call, other, &error),
                    &error);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static void
exported_call_free (ExportedCall *ec)
{
  g_clear_handle_id (&ec->export_id, g_source_remove);
  /* Only when the daemon stops within the call's first turn. */
  if (ec->dial != NULL)
    g_dbus_method_invocation_return_error_literal (g_steal_pointer (&ec->dial), DT_ERROR, DT_ERROR_FAILED,
                                                   "the daemon is stopping");
  g_signal_handlers_disconnect_by_data (ec->call, ec);
  g_signal_handlers_disconnect_by_data (ec->skeleton, ec);
  dt_dbus_skeleton_set_reader (ec->skeleton, NULL, NULL);
  if (ec->exporter->exported && ec->exported)
    g_dbus_object_manager_server_unexport (ec->exporter->object_manager, ec->path);
  g_object_unref (ec->skeleton);
  g_object_unref (ec->object);
  g_object_unref (ec->call);
  g_free (ec->path);
  g_free (ec);
}

static void
sync_calls_lists (DtDbusExporter *self)
{
  g_auto(GStrv) paths = call_paths (self, NULL);
  GHashTableIter iter;
  gpointer value;

  dt_gen_manager_set_calls (self->manager_skeleton, (const char * const *) paths);
  g_hash_table_iter_init (&iter, self->accounts);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    sync_account (value);
}

static void
on_call_added (DtManager      *manager,
               DtCall         *call,
               DtDbusExporter *self)
{
  ExportedCall *ec = g_new0 (ExportedCall, 1);

  ec->exporter = self;
  ec->call = g_object_ref (call);
  ec->path = call_path (call);
  ec->skeleton = dt_dbus_call_skeleton_new (write_call_property, ec);
  dt_dbus_skeleton_set_reader (ec->skeleton, read_call_property, ec);
  g_signal_connect (ec->skeleton, "handle-answer", G_CALLBACK (handle_call_answer), ec);
  g_signal_connect (ec->skeleton, "handle-hangup", G_CALLBACK (handle_call_hangup), ec);
  g_signal_connect (ec->skeleton, "handle-reject", G_CALLBACK (handle_call_reject), ec);
  g_signal_connect (ec->skeleton, "handle-hold", G_CALLBACK (handle_call_hold), ec);
  g_signal_connect (ec->skeleton, "handle-resume", G_CALLBACK (handle_call_resume), ec);
  g_signal_connect (ec->skeleton, "handle-send-dtmf", G_CALLBACK (handle_call_send_dtmf), ec);
  g_signal_connect (ec->skeleton, "handle-play-file", G_CALLBACK (handle_call_play_file), ec);
  g_signal_connect (ec->skeleton, "handle-stop-playback", G_CALLBACK (handle_call_stop_playback), ec);
  g_signal_connect (ec->skeleton, "handle-start-recording", G_CALLBACK (handle_call_start_recording), ec);
  g_signal_connect (ec->skeleton, "handle-stop-recording", G_CALLBACK (handle_call_stop_recording), ec);
  g_signal_connect (ec->skeleton, "handle-leave-conference", G_CALLBACK (handle_call_leave_conference), ec);
  g_signal_connect (ec->skeleton, "handle-transfer", G_CALLBACK (handle_call_transfer), ec);
  g_signal_connect (ec->skeleton, "handle-transfer-to-call", G_CALLBACK (handle_call_transfer_to_call), ec);
  g_signal_connect (call, "notify::transfer-state", G_CALLBACK (on_call_transfer_notify), ec);
  g_signal_connect (call, "notify::transfer-status", G_CALLBACK (on_call_transfer_notify), ec);
  sync_call_transfer (ec);
  g_signal_connect (call, "notify", G_CALLBACK (on_call_notify), ec);
  g_signal_connect (call, "state-changed", G_CALLBACK (on_call_state_changed), ec);
  g_signal_connect (call, "dtmf-received", G_CALLBACK (on_call_dtmf_received), ec);
  g_signal_connect (call, "playback-finished", G_CALLBACK (on_call_playback_finished), ec);
  ec->object = dt_gen_object_skeleton_new (ec->path);
  dt_gen_object_skeleton_set_call (ec->object, ec->skeleton);
  g_hash_table_insert (self->calls, call, ec);
  /* An outgoing call is exported once nua has sent its INVITE: the source
   * that sends it was attached before this one, and nothing the peer
   * answers is read before the next turn. That takes the export (a fifth
   * of a millisecond: the object, InterfacesAdded, the lists) out of the
   * way of the INVITE; Dial's reply waits for it. */
  if (dt_call_get_direction (call) == DT_CALL_DIRECTION_OUTGOING)
    ec->export_id = g_idle_add_full (G_PRIORITY_DEFAULT, export_call_later, ec, NULL);
  else
    export_call (ec);
}

static void
on_call_removed (DtManager      *manager,
                 DtCall         *call,
                 DtDbusExporter *self)
{
  g_hash_table_remove (self->calls, call);
  sync_calls_lists (self);
}

/* History */

static gboolean
ids_from_variant (GVariant  *ids,
                  gint64   **out,
                  gsize     *n)
{
  gsize count = 0;
  const guint64 *values = g_variant_get_fixed_array (ids, &count, sizeof (guint64));

  *out = g_new (gint64, MAX (count, 1));
  for (gsize i = 0; i < count; i++)
    (*out)[i] = (gint64) MIN (values[i], (guint64) G_MAXINT64);
  *n = count;
  return TRUE;
}

static gboolean
no_history (GDBusMethodInvocation *invocation,
            DtCallHistory         *history)
{
  if (history != NULL)
    return FALSE;
  g_dbus_method_invocation_return_error_literal (invocation, DT_ERROR, DT_ERROR_NOT_SUPPORTED,
                                                 "the history is not available");
  return TRUE;
}

static gboolean
handle_list_calls (DtGenHistory          *skeleton,
                   GDBusMethodInvocation *invocation,
                   GVariant              *filter,
                   guint                  offset,
                   guint                  limit,
                   DtDbusExporter        *self)
{
  DtCallHistory *history = dt_manager_get_history (self->manager);
  g_autoptr(GError) error = NULL;
  GVariant *calls;

  if (no_history (invocation, history))
    return G_DBUS_METHOD_INVOCATION_HANDLED;
  calls = dt_call_history_list_calls (history, filter, offset, limit, &error);
  if (calls == NULL)
    dt_dbus_return_error (invocation, error);
  else
    dt_gen_history_complete_list_calls (skeleton, invocation, calls);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
handle_history_ids (GDBusMethodInvocation *invocation,
                    DtCallHistory         *history,
                    GVariant              *ids,
                    guint                (*apply) (DtCallHistory *, const gint64 *, gsize, GError **))
{
  g_autoptr(GError) error = NULL;
  g_autofree gint64 *values = NULL;
  gsize n;
  guint changed;

  if (no_history (invocation, history))
    return G_DBUS_METHOD_INVOCATION_HANDLED;
  ids_from_variant (ids, &values, &n);
  changed = apply (history, values, n, &error);
  if (error != NULL)
    dt_dbus_return_error (invocation, error);
  else
    g_dbus_method_invocation_return_value (invocation, g_variant_new ("(u)", changed));
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
handle_delete (DtGenHistory *skeleton, GDBusMethodInvocation *invocation, GVariant *ids, DtDbusExporter *self)
{
  return handle_history_ids (invocation, dt_manager_get_history (self->manager), ids,
                             dt_call_history_delete_calls);
}

static gboolean
handle_mark_seen (DtGenHistory *skeleton, GDBusMethodInvocation *invocation, GVariant *ids, DtDbusExporter *self)
{
  return handle_history_ids (invocation, dt_manager_get_history (self->manager), ids,
                             dt_call_history_mark_seen);
}

static gboolean
handle_clear (DtGenHistory          *skeleton,
              GDBusMethodInvocation *invocation,
              GVariant              *filter,
              DtDbusExporter        *self)
{
  DtCallHistory *history = dt_manager_get_history (self->manager);
  g_autoptr(GError) error = NULL;
  guint deleted;

  if (no_history (invocation, history))
    return G_DBUS_METHOD_INVOCATION_HANDLED;
  deleted = dt_call_history_clear_calls (history, filter, &error);
  if (error != NULL)
    dt_dbus_return_error (invocation, error);
  else
    dt_gen_history_complete_clear (skeleton, invocation, deleted);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static void
on_history_added (DtManager      *manager,
                  gint64          id,
                  GVariant       *entry,
                  DtDbusExporter *self)
{
  dt_gen_history_emit_entry_added (self->history_skeleton, "call", (guint64) id, entry);
}

/* Object life */

static void
dt_dbus_exporter_dispose (GObject *object)
{
  DtDbusExporter *self = DT_DBUS_EXPORTER (object);

  dt_dbus_exporter_unexport (self);
  g_clear_pointer (&self->calls, g_hash_table_unref);
  g_clear_pointer (&self->accounts, g_hash_table_unref);
  if (self->manager != NULL)
    g_signal_handlers_disconnect_by_data (self->manager, self);
  g_clear_object (&self->manager_skeleton);
  g_clear_object (&self->history_skeleton);
  g_clear_object (&self->object_manager);
  g_clear_object (&self->manager);
  g_clear_object (&self->connection);
  G_OBJECT_CLASS (dt_dbus_exporter_parent_class)->dispose (object);
}

static void
dt_dbus_exporter_class_init (DtDbusExporterClass *klass)
{
  G_OBJECT_CLASS (klass)->dispose = dt_dbus_exporter_dispose;
}

static void
dt_dbus_exporter_init (DtDbusExporter *self)
{
  self->accounts = g_hash_table_new_full (NULL, NULL, NULL, (GDestroyNotify) exported_account_free);
  self->calls = g_hash_table_new_full (NULL, NULL, NULL, (GDestroyNotify) exported_call_free);
}

DtDbusExporter *
dt_dbus_exporter_new (GDBusConnection  *connection,
                      DtManager        *manager,
                      GError          **error)
{
  g_autoptr(DtDbusExporter) self = g_object_new (DT_TYPE_DBUS_EXPORTER, NULL);
  GPtrArray *accounts = dt_manager_get_accounts (manager);

  dt_dbus_errors_register ();

  self->connection = g_object_ref (connection);
  self->manager = g_object_ref (manager);
  self->object_manager = g_dbus_object_manager_server_new (DT_ROOT_PATH);

  self->manager_skeleton = dt_dbus_manager_skeleton_new (write_manager_property, self);
  dt_gen_manager_set_version (self->manager_skeleton, dt_manager_get_version (manager));
  sync_log_level (self);
  {
    const DtCallProfile *profile = dt_manager_get_call_profile (manager);
    g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);

    if (profile != NULL)
      {
        for (guint i = 0; i < profile->codecs->len; i++)
          if (!dt_codec_is_telephone_event (profile->codecs->pdata[i]))
            g_ptr_array_add (names, g_ascii_strdown (((DtCodec *) profile->codecs->pdata[i])->name, -1));
        dt_gen_manager_set_audio_source (self->manager_skeleton, profile->audio_source);
        dt_gen_manager_set_audio_sink (self->manager_skeleton, profile->audio_sink);
      }
    g_ptr_array_add (names, NULL);
    dt_gen_manager_set_codecs (self->manager_skeleton, (const char * const *) names->pdata);
  }
  g_signal_connect (self->manager_skeleton, "handle-dial", G_CALLBACK (handle_dial), self);
  g_signal_connect (self->manager_skeleton, "handle-hangup-all", G_CALLBACK (handle_hangup_all), self);
  g_signal_connect (self->manager_skeleton, "handle-create-conference", G_CALLBACK (handle_create_conference), self);
  g_signal_connect (manager, "call-added", G_CALLBACK (on_call_added), self);
  g_signal_connect (manager, "call-removed", G_CALLBACK (on_call_removed), self);
  g_signal_connect (manager, "history-added", G_CALLBACK (on_history_added), self);

  self->history_skeleton = dt_gen_history_skeleton_new ();
  g_signal_connect (self->history_skeleton, "handle-list-calls", G_CALLBACK (handle_list_calls), self);
  g_signal_connect (self->history_skeleton, "handle-delete", G_CALLBACK (handle_delete), self);
  g_signal_connect (self->history_skeleton, "handle-clear", G_CALLBACK (handle_clear), self);
  g_signal_connect (self->history_skeleton, "handle-mark-seen", G_CALLBACK (handle_mark_seen), self);
  g_signal_connect (self->manager_skeleton, "handle-set-log-level",
                    G_CALLBACK (handle_set_log_level), self);
  g_signal_connect (self->manager_skeleton, "handle-create-account",
                    G_CALLBACK (handle_create_account), self);
  g_signal_connect (self->manager_skeleton, "handle-remove-account",
                    G_CALLBACK (handle_remove_account), self);
  g_signal_connect_swapped (manager, "notify::log-level", G_CALLBACK (sync_log_level), self);
  g_signal_connect_swapped (manager, "notify::default-account",
                            G_CALLBACK (sync_default_account), self);
  g_signal_connect (manager, "account-added", G_CALLBACK (on_account_added), self);
  g_signal_connect (manager, "account-removed", G_CALLBACK (on_account_removed), self);

  for (guint i = 0; i < accounts->len; i++)
    export_account (self, g_ptr_array_index (accounts, i));
  sync_accounts_list (self);
  sync_default_account (self);
  sync_calls_lists (self);

  /* GDBusObjectManagerServer only exports objects strictly below its own
   * path, so the Manager interface is exported beside it at the root (the
   * shape ModemManager and BlueZ clients expect). */
  if (!g_dbus_interface_skeleton_export (G_DBUS_INTERFACE_SKELETON (self->manager_skeleton),
                                         connection, DT_ROOT_PATH, error) ||
      !g_dbus_interface_skeleton_export (G_DBUS_INTERFACE_SKELETON (self->history_skeleton),
                                         connection, DT_ROOT_PATH, error))
    return NULL;
  g_dbus_object_manager_server_set_connection (self->object_manager, connection);
  self->exported = TRUE;

  return g_steal_pointer (&self);
}

void
dt_dbus_exporter_unexport (DtDbusExporter *self)
{
  if (!self->exported)
    return;
  self->exported = FALSE;
  g_dbus_object_manager_server_set_connection (self->object_manager, NULL);
  g_dbus_interface_skeleton_unexport (G_DBUS_INTERFACE_SKELETON (self->manager_skeleton));
  g_dbus_interface_skeleton_unexport (G_DBUS_INTERFACE_SKELETON (self->history_skeleton));
}
