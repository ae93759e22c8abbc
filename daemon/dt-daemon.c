#include "dt-daemon.h"

#include <errno.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <string.h>
#include <glib-unix.h>
#include <gio/gunixsocketaddress.h>
#include <glib/gstdio.h>
#include <sys/stat.h>
#include <sysexits.h>

#include "dt-build-config.h"
#include "core/dt-config.h"
#include "core/dt-enum-types.h"
#include "core/dt-error.h"
#include "core/dt-manager.h"
#include "core/dt-state.h"
#include "dbus/dt-dbus-exporter.h"
#include "media/dt-media-module.h"
#include "sip/dt-sip-backend.h"
#include "store/dt-store.h"


/* How long the backend may take to unregister and hang up before the daemon
 * exits anyway: systemd's own stop timeout is 90 s, a user waits less. */
#define SHUTDOWN_BOUND_SECONDS 10

/* How long the daemon waits, once its last call is gone, before it gives
 * the calls' free heap back to the system. */
#define TRIM_DELAY_SECONDS 3

struct _DtDaemon {
  GObject          parent_instance;

  DtDaemonOptions  options;
  DtLogFilter     *log_filter;

  GMainLoop       *loop;
  int              exit_status;
  gboolean         shutting_down;
  gboolean         name_acquired;
  gint64           started_usec;

  DtConfig        *config;
  DtStore         *store;
  DtBackend       *backend;
  DtMediaEngine   *engine;
  DtManager       *manager;
  GDBusConnection *connection;
  DtDbusExporter  *exporter;
  guint            name_owner_id;
  GSList          *unix_signal_ids;
  guint            shutdown_bound_id;
  guint            trim_id;
};

G_DEFINE_FINAL_TYPE (DtDaemon, dt_daemon, G_TYPE_OBJECT)

/* sd_notify(3)'s protocol, which systemd documents as stable: one datagram
 * to $NOTIFY_SOCKET (a path, or '@' for an abstract name). Spoken here with
 * GIO rather than through libsystemd, whose dependencies (libgcrypt, lz4,
 * zstd, xz...) cost an idle daemon about 0.8 MiB of RSS for one sendto(). */
static void
notify_systemd (const char *state)
{
#if DT_NOTIFY_SYSTEMD
  const char *path = g_getenv ("NOTIFY_SOCKET");
  g_autoptr(GSocketAddress) address = NULL;
  g_autoptr(GSocket) socket = NULL;
  g_autoptr(GError) error = NULL;

  if (path == NULL || (path[0] != '/' && path[0] != '@') || path[1] == '\0')
    return;
  if (path[0] == '@')
    address = g_unix_socket_address_new_with_type (path + 1, -1, G_UNIX_SOCKET_ADDRESS_ABSTRACT);
  else
    address = g_unix_socket_address_new (path);
  socket = g_socket_new (G_SOCKET_FAMILY_UNIX, G_SOCKET_TYPE_DATAGRAM, G_SOCKET_PROTOCOL_DEFAULT, &error);
  if (socket == NULL || g_socket_send_to (socket, address, state, strlen (state), NULL, &error) < 0)
    g_warning ("Cannot notify the service manager at %s: %s", path, error->message);
#endif
}

static void
fail_start (DtDaemon   *self,
            int         exit_status,
            const char *message)
{
  /* One plain line on stderr: the user (or journald) sees exactly what is
   * wrong and where, with no log-level prefix to parse. */
  g_printerr ("dialtoned: %s\n", message);
  self->exit_status = exit_status;
}

static void
finish_shutdown (DtDaemon *self)
{
  g_clear_handle_id (&self->shutdown_bound_id, g_source_remove);

  if (self->exporter != NULL)
    dt_dbus_exporter_unexport (self->exporter);
  if (self->name_owner_id != 0)
    {
      g_bus_unown_name (self->name_owner_id);
      self->name_owner_id = 0;
    }
  /* ReleaseName and any last signals must reach the bus before we exit. */
  if (self->connection != NULL && !g_dbus_connection_is_closed (self->connection))
    g_dbus_connection_flush_sync (self->connection, NULL, NULL);
  if (self->store != NULL)
    dt_store_close (self->store);

  g_main_loop_quit (self->loop);
}

static void
on_backend_shut_down (GObject      *source,
                      GAsyncResult *result,
                      gpointer      user_data)
{
  g_autoptr(DtDaemon) self = user_data;
  g_autoptr(GError) error = NULL;

  if (!dt_backend_shutdown_finish (DT_BACKEND (source), result, &error))
    g_warning ("Backend shutdown: %s", error->message);
  if (self->shutting_down && g_main_loop_is_running (self->loop))
    finish_shutdown (self);
}

static gboolean
on_shutdown_bound (gpointer user_data)
{
  DtDaemon *self = user_data;

  self->shutdown_bound_id = 0;
  g_warning ("Backend did not finish shutting down within %d s; exiting anyway",
             SHUTDOWN_BOUND_SECONDS);
  finish_shutdown (self);
  return G_SOURCE_REMOVE;
}

static void
begin_shutdown (DtDaemon *self,
                int       exit_status)
{
  if (self->shutting_down)
    return;
  self->shutting_down = TRUE;
  self->exit_status = exit_status;
  notify_systemd ("STOPPING=1\nSTATUS=Shutting down");
  g_message ("Shutting down");

  if (self->manager != NULL)
    dt_manager_stop (self->manager);
  if (self->backend == NULL)
    {
      finish_shutdown (self);
      return;
    }
  self->shutdown_bound_id = g_timeout_add_seconds (SHUTDOWN_BOUND_SECONDS, on_shutdown_bound, self);
  dt_backend_shutdown_async (self->backend, NULL, on_backend_shut_down, g_object_ref (self));
}

static gboolean
on_trim (gpointer user_data)
{
  DtDaemon *self = user_data;

  self->trim_id = 0;
  /* A call's media is in use: the call's end schedules this again. */
  if (dt_manager_get_calls (self->manager)->len == 0 && !self->shutting_down)
    {
#ifdef __GLIBC__
      /* A call's streaming threads leave free memory in their malloc
       * arenas: about 0.4 MiB after one call. */
      malloc_trim (0);
#endif
    }
  return G_SOURCE_REMOVE;
}

/* After start-up and after the last call. */
static void
schedule_trim (DtDaemon *self)
{
  g_clear_handle_id (&self->trim_id, g_source_remove);
  self->trim_id = g_timeout_add_seconds (TRIM_DELAY_SECONDS, on_trim, self);
}

static void
on_call_removed (DtDaemon *self,
                 DtCall   *call)
{
  schedule_trim (self);
}

static gboolean
on_unix_signal (gpointer user_data)
{
  begin_shutdown (DT_DAEMON (user_data), EXIT_SUCCESS);
  return G_SOURCE_CONTINUE;
}

static void
on_name_acquired (GDBusConnection *connection,
                  const char      *name,
                  gpointer         user_data)
{
  DtDaemon *self = user_data;

  self->name_acquired = TRUE;
  dt_manager_start (self->manager);
  g_message ("Ready on the %s bus as %s (%.1f ms after start)",
             self->options.bus_type == G_BUS_TYPE_SYSTEM ? "system" : "session", name,
             (g_get_monotonic_time () - self->started_usec) / 1000.0);
  notify_systemd ("READY=1\nSTATUS=Ready");
  /* Start-up's checks of the database (SQLite's page cache, its parsed
   * statements) leave about 0.15 MiB free in the heap, below memory still
   * in use, where free() cannot give it back. */
  schedule_trim (self);
}

static void
on_name_lost (GDBusConnection *connection,
              const char      *name,
              gpointer         user_data)
{
  DtDaemon *self = user_data;

  if (self->shutting_down)
    return;
  if (connection == NULL)
    {
      fail_start (self, EX_UNAVAILABLE, "lost the connection to the message bus");
      begin_shutdown (self, EX_UNAVAILABLE);
    }
  else if (!self->name_acquired)
    {
      g_autofree char *msg =
        g_strdup_printf ("%s is already owned by another process (use --replace to take it over)", name);
      fail_start (self, EXIT_FAILURE, msg);
      begin_shutdown (self, EXIT_FAILURE);
    }
  else
    {
      g_message ("Replaced by another instance on %s; exiting", name);
      begin_shutdown (self, EXIT_SUCCESS);
    }
}

static void
on_connection_closed (GDBusConnection *connection,
                      gboolean         remote_peer_vanished,
                      GError          *error,
                      gpointer         user_data)
{
  DtDaemon *self = user_data;

  if (self->shutting_down)
    return;
  g_warning ("The message bus closed our connection%s%s", error ? ": " : "",
             error ? error->message : "");
  /* Non-zero, so systemd's Restart=on-failure brings the daemon back. */
  begin_shutdown (self, EX_UNAVAILABLE);
}

static void
dt_daemon_apply_log_level (DtDaemon *self)
{
  DtLogLevel level = dt_manager_get_log_level (self->manager);

  self->log_filter->level = level;
  g_message ("Log level is now %s", dt_enum_to_nick (DT_TYPE_LOG_LEVEL, level));
}

/* The folders of one kind of file clients may name: as configured, or
 * by default one in the data folder, made if missing (its files belong to
 * the daemon's user; an administrator puts prompts there). */
static GStrv
media_dirs (DtDaemon   *self,
            DtSettings *media,
            const char *key,
            const char *default_name)
{
  g_auto(GStrv) dirs = NULL;

  if (!dt_settings_is_set (media, key))
    {
      g_autofree char *dir = g_build_filename (self->options.data_dir, default_name, NULL);

      if (g_mkdir_with_parents (dir, 0700) != 0)
        g_warning ("[media] %s: cannot create %s: %s", key, dir, g_strerror (errno));
      dirs = g_new0 (char *, 2);
      dirs[0] = g_steal_pointer (&dir);
      return g_steal_pointer (&dirs);
    }
  dirs = dt_settings_dup_strv (media, key);
  for (char **d = dirs; *d != NULL; d++)
    if (!g_file_test (*d, G_FILE_TEST_IS_DIR))
      g_warning ("[media] %s: %s is not a folder (yet): nothing in it can be used", key, *d);
  return g_steal_pointer (&dirs);
}

/* Files named over D-Bus: on the system bus the daemon's rights are not
 * the caller's, so they are kept to the configured folders. */
static DtPathPolicy *
make_path_policy (DtDaemon   *self,
                  DtSettings *media)
{
  g_auto(GStrv) play = NULL;
  g_auto(GStrv) record = NULL;
  g_autofree char *play_list = NULL;
  g_autofree char *record_list = NULL;

  if (self->options.bus_type != G_BUS_TYPE_SYSTEM && !dt_settings_get_boolean (media, "restrict-paths"))
    return dt_path_policy_new ();
  play = media_dirs (self, media, "play-directories", "prompts");
  record = media_dirs (self, media, "record-directories", "recordings");
  play_list = g_strjoinv (", ", play);
  record_list = g_strjoinv (", ", record);
  g_message ("Files named by clients are restricted: play from %s; record to %s",
             *play_list ? play_list : "nowhere", *record_list ? record_list : "nowhere");
  return dt_path_policy_new_restricted ((const char * const *) play, (const char * const *) record);
}

/* What calls start from, out of [media] and [calls]: the endpoints are
 * checked here, with the engine, so that a bad one stops start-up like any
 * other configuration error. */
static DtCallProfile *
make_call_profile (DtDaemon    *self,
                   const char  *config_path,
                   GError     **error)
{
  DtSettings *media = dt_config_get_group (self->config, "media");
  DtSettings *calls = dt_config_get_group (self->config, "calls");
  g_autoptr(DtCallProfile) profile = g_new0 (DtCallProfile, 1);
  g_auto(GStrv) names = dt_settings_dup_strv (media, "codecs");
  g_autoptr(GError) local_error = NULL;
  const char *keys[] = { "audio-source", "audio-sink" };
  guint port_min, port_max;

  for (guint i = 0; i < G_N_ELEMENTS (keys); i++)
    if (!dt_media_engine_check_endpoint (self->engine, dt_settings_get_string (media, keys[i]), i == 0,
                                         &local_error))
      {
        g_set_error (error, DT_ERROR, DT_ERROR_INVALID_ARGUMENTS, "%s: [media] %s: %s", config_path,
                     keys[i], local_error->message);
        return NULL;
      }
  port_min = dt_settings_get_uint (media, "rtp-port-min");
  port_max = dt_settings_get_uint (media, "rtp-port-max");
  if ((port_min == 0) != (port_max == 0))
    {
      g_set_error (error, DT_ERROR, DT_ERROR_INVALID_ARGUMENTS,
                   "%s: [media] %s: set both rtp-port-min and rtp-port-max, or neither", config_path,
                   port_min == 0 ? "rtp-port-max" : "rtp-port-min");
      return NULL;
    }
  if (port_max != 0 && port_max < ((port_min + 1) & ~1u) + 1)
    {
      g_set_error (error, DT_ERROR, DT_ERROR_INVALID_ARGUMENTS,
                   "%s: [media] rtp-port-max: must leave room for a port pair above rtp-port-min",
                   config_path);
      return NULL;
    }

  profile->audio_source = g_strdup (dt_settings_get_string (media, "audio-source"));
  profile->audio_sink = g_strdup (dt_settings_get_string (media, "audio-sink"));
  profile->jitter_latency_ms = dt_settings_get_uint (media, "jitter-buffer");
  profile->ptime = dt_settings_get_uint (media, "ptime");
  profile->rtp_timeout_ms = dt_settings_get_uint (media, "rtp-timeout") * 1000;
  profile->port_min = port_min;
  profile->port_max = port_max;
  profile->no_answer_timeout_s = dt_settings_get_uint (calls, "no-answer-timeout");
  profile->codecs = g_ptr_array_new_with_free_func ((GDestroyNotify) dt_codec_free);
  for (char **n = names; *n; n++)
    g_ptr_array_add (profile->codecs, dt_codec_new_known (*n));
  g_ptr_array_add (profile->codecs, dt_codec_new_known ("telephone-event"));
  profile->path_policy = make_path_policy (self, media);
  return g_steal_pointer (&profile);
}

static void
save_default_account (DtDaemon *self)
{
  DtAccount *account = dt_manager_get_default_account (self->manager);
  g_autoptr(GError) error = NULL;

  if (!dt_store_set_preference (self->store, "default-account",
                                account ? dt_account_get_id (account) : NULL, &error))
    g_warning ("Cannot save the default account: %s", error->message);
}

/* The manager knows nothing of the store: the daemon carries the default
 * account's id between them. */
static void
load_accounts (DtDaemon *self)
{
  g_autofree char *default_id = dt_store_get_preference (self->store, "default-account");
  guint loaded = dt_manager_load_accounts (self->manager);

  if (default_id != NULL)
    {
      DtAccount *account = dt_manager_find_account (self->manager, default_id);
      if (account != NULL)
        dt_manager_set_default_account (self->manager, account);
      else
        g_message ("Default account '%s' no longer exists", default_id);
    }
  g_signal_connect_swapped (self->manager, "notify::default-account",
                            G_CALLBACK (save_default_account), self);
  g_info ("%u account(s) loaded", loaded);
}

static gboolean
ensure_private_dir (const char  *path,
                    GError     **error)
{
  GStatBuf st;

  if (g_mkdir_with_parents (path, 0700) != 0)
    {
      int saved = errno;
      g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (saved),
                   "cannot create folder %s: %s", path, g_strerror (saved));
      return FALSE;
    }
  if (g_stat (path, &st) == 0 && (st.st_mode & 0077) != 0)
    g_warning ("%s is readable by other users (mode %03o); it may hold account secrets",
               path, st.st_mode & 0777);
  return TRUE;
}

static gboolean
start (DtDaemon *self)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *config_path = NULL;
  g_autofree char *db_path = NULL;
  g_autofree char *accounts_dir = NULL;
  g_autoptr(DtCallProfile) profile = NULL;
  DtLogLevel level;
  const char *level_nick;

  if (!ensure_private_dir (self->options.config_dir, &error) ||
      !ensure_private_dir (self->options.data_dir, &error))
    {
      fail_start (self, EX_CANTCREAT, error->message);
      return FALSE;
    }

  self->config = dt_config_new ();
  config_path = g_build_filename (self->options.config_dir, "dialtoned.conf", NULL);
  if (!dt_config_load_file (self->config, config_path, &error))
    {
      fail_start (self, EX_CONFIG, error->message);
      return FALSE;
    }

  level_nick = self->options.log_level
             ? self->options.log_level
             : dt_settings_get_string (dt_config_get_group (self->config, "daemon"), "log-level");
  if (!dt_log_level_parse (level_nick, &level, &error))
    {
      g_autofree char *msg = g_strdup_printf ("--log-level: %s", error->message);
      fail_start (self, EX_USAGE, msg);
      return FALSE;
    }
  self->log_filter->level = level;

  db_path = g_build_filename (self->options.data_dir, "dialtone.db", NULL);
  self->store = dt_store_open (db_path, &error);
  if (self->store == NULL)
    {
      g_autofree char *msg = NULL;

      if (g_error_matches (error, DT_STORE_ERROR, DT_STORE_ERROR_CORRUPT) ||
          g_error_matches (error, DT_STORE_ERROR, DT_STORE_ERROR_TOO_NEW))
        msg = g_strdup_printf ("%s; the file was left untouched: move it aside to start "
                               "with an empty history", error->message);
      fail_start (self, g_error_matches (error, DT_STORE_ERROR, DT_STORE_ERROR_OPEN) ? EX_IOERR
                        : EX_DATAERR,
                  msg ? msg : error->message);
      return FALSE;
    }

  {
    g_autoptr(GError) history_error = NULL;
    guint closed = dt_store_close_interrupted_calls (self->store, &history_error);

    if (history_error != NULL)
      g_warning ("%s", history_error->message);
    else if (closed > 0)
      g_message ("%u call(s) interrupted by the last exit marked as ended (daemon-restart)", closed);
  }

  {
    /* The build tree's module, for tests and meson devenv. */
    const char *module_dir = g_getenv ("DIALTONE_MEDIA_MODULE_DIR");

    self->engine = DT_MEDIA_ENGINE (dt_media_module_new (module_dir != NULL && *module_dir != '\0'
                                                         ? module_dir : DT_MEDIA_MODULE_DIR));
  }
  profile = make_call_profile (self, config_path, &error);
  if (profile == NULL)
    {
      fail_start (self, EX_CONFIG, error->message);
      return FALSE;
    }
  {
    const DtSettings *sip_settings = dt_config_get_group (self->config, "sip");
    DtSipBackendOptions sip = {
      .transaction_timeout_ms = dt_settings_get_uint (sip_settings, "transaction-timeout") * 1000,
      .codecs = profile->codecs,
      .request_rate = dt_settings_get_uint (sip_settings, "request-rate"),
      .request_burst = dt_settings_get_uint (sip_settings, "request-burst"),
    };
    DtSipBackend *backend = dt_sip_backend_new (&sip, &error);

    if (backend == NULL)
      {
        fail_start (self, EX_SOFTWARE, error->message);
        return FALSE;
      }
    self->backend = DT_BACKEND (backend);
  }
  accounts_dir = g_build_filename (self->options.config_dir, "accounts", NULL);
  self->manager = dt_manager_new (self->backend, level, accounts_dir);
  dt_manager_set_media (self->manager, self->engine, profile);
  dt_manager_set_history (self->manager, DT_CALL_HISTORY (self->store));
  g_signal_connect_swapped (self->manager, "call-removed", G_CALLBACK (on_call_removed), self);
  g_signal_connect_swapped (self->manager, "notify::log-level",
                            G_CALLBACK (dt_daemon_apply_log_level), self);
  load_accounts (self);

  self->connection = g_bus_get_sync (self->options.bus_type, NULL, &error);
  if (self->connection == NULL)
    {
      g_autofree char *msg = g_strdup_printf ("cannot connect to the %s bus: %s",
                                              self->options.bus_type == G_BUS_TYPE_SYSTEM ? "system" : "session",
                                              error->message);
      fail_start (self, EX_UNAVAILABLE, msg);
      return FALSE;
    }
  /* We decide what losing the bus means (exit non-zero, cleanly). */
  g_dbus_connection_set_exit_on_close (self->connection, FALSE);
  g_signal_connect (self->connection, "closed", G_CALLBACK (on_connection_closed), self);

  self->exporter = dt_dbus_exporter_new (self->connection, self->manager, &error);
  if (self->exporter == NULL)
    {
      fail_start (self, EX_SOFTWARE, error->message);
      return FALSE;
    }

  /* Objects are exported before the name is requested, so a client that
   * sees the name appear can use the whole API at once. */
  self->name_owner_id =
    g_bus_own_name_on_connection (self->connection, DT_BUS_NAME,
                                  G_BUS_NAME_OWNER_FLAGS_ALLOW_REPLACEMENT |
                                  G_BUS_NAME_OWNER_FLAGS_DO_NOT_QUEUE |
                                  (self->options.replace ? G_BUS_NAME_OWNER_FLAGS_REPLACE : 0),
                                  on_name_acquired, on_name_lost, self, NULL);
  return TRUE;
}

int
dt_daemon_run (DtDaemon *self)
{
  static const int signals[] = { SIGTERM, SIGINT };

  self->started_usec = g_get_monotonic_time ();
  for (guint i = 0; i < G_N_ELEMENTS (signals); i++)
    self->unix_signal_ids = g_slist_prepend (self->unix_signal_ids,
                                             GUINT_TO_POINTER (g_unix_signal_add (signals[i], on_unix_signal, self)));

  if (!start (self))
    return self->exit_status;

  g_main_loop_run (self->loop);
  return self->exit_status;
}

static void
dt_daemon_dispose (GObject *object)
{
  DtDaemon *self = DT_DAEMON (object);

  for (GSList *l = self->unix_signal_ids; l != NULL; l = l->next)
    g_source_remove (GPOINTER_TO_UINT (l->data));
  g_clear_pointer (&self->unix_signal_ids, g_slist_free);
  g_clear_handle_id (&self->shutdown_bound_id, g_source_remove);
  g_clear_handle_id (&self->trim_id, g_source_remove);
  if (self->name_owner_id != 0)
    {
      g_bus_unown_name (self->name_owner_id);
      self->name_owner_id = 0;
    }
  if (self->connection != NULL)
    g_signal_handlers_disconnect_by_data (self->connection, self);
  if (self->manager != NULL)
    g_signal_handlers_disconnect_by_data (self->manager, self);

  /* Reverse order of construction. */
  g_clear_object (&self->exporter);
  g_clear_object (&self->connection);
  g_clear_object (&self->manager);
  g_clear_object (&self->engine);
  g_clear_object (&self->backend);
  g_clear_object (&self->store);
  g_clear_object (&self->config);
  G_OBJECT_CLASS (dt_daemon_parent_class)->dispose (object);
}

static void
dt_daemon_finalize (GObject *object)
{
  DtDaemon *self = DT_DAEMON (object);

  g_main_loop_unref (self->loop);
  g_free (self->options.config_dir);
  g_free (self->options.data_dir);
  g_free (self->options.log_level);
  G_OBJECT_CLASS (dt_daemon_parent_class)->finalize (object);
}

static void
dt_daemon_class_init (DtDaemonClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = dt_daemon_dispose;
  object_class->finalize = dt_daemon_finalize;
}

static void
dt_daemon_init (DtDaemon *self)
{
  self->loop = g_main_loop_new (NULL, FALSE);
}

DtDaemon *
dt_daemon_new (const DtDaemonOptions *options,
               DtLogFilter           *log_filter)
{
  DtDaemon *self = g_object_new (DT_TYPE_DAEMON, NULL);

  self->options.config_dir = g_strdup (options->config_dir);
  self->options.data_dir = g_strdup (options->data_dir);
  self->options.bus_type = options->bus_type;
  self->options.replace = options->replace;
  self->options.log_level = g_strdup (options->log_level);
  self->log_filter = log_filter;
  return self;
}
