#include <gio/gio.h>
#include <glib/gstdio.h>

#include <string.h>

#include "dt-build-config.h"

#define DT_ERROR_PREFIX_TEST "org.dialtone.Phone1.Error."
#include "dt-generated.h"
#include "core/dt-dummy-backend.h"
#include "core/dt-dummy-media.h"
#include "core/dt-manager.h"
#include "dbus/dt-dbus-exporter.h"

/* The export layer alone, on a private bus: the daemon is not involved. The
 * client uses its own connection, as a real client would. */

typedef struct {
  char            *dir;
  GTestDBus       *bus;
  GDBusConnection *server;
  GDBusConnection *client;
  DtManager       *manager;
  DtDbusExporter  *exporter;
} Fixture;

static GDBusConnection *
connect_private (const char *address)
{
  g_autoptr(GError) error = NULL;
  GDBusConnection *c = g_dbus_connection_new_for_address_sync (
    address, G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT |
             G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION, NULL, NULL, &error);
  g_assert_no_error (error);
  return c;
}

static void
remove_tree (const char *dir)
{
  g_autoptr(GDir) d = g_dir_open (dir, 0, NULL);
  const char *name;

  while (d && (name = g_dir_read_name (d)) != NULL)
    {
      g_autofree char *p = g_build_filename (dir, name, NULL);
      if (g_file_test (p, G_FILE_TEST_IS_DIR))
        remove_tree (p);
      else
        g_unlink (p);
    }
  g_rmdir (dir);
}

static void
fixture_set_up (Fixture *f, gconstpointer data)
{
  g_autoptr(DtDummyBackend) backend = dt_dummy_backend_new ();
  g_autoptr(GError) error = NULL;

  f->bus = g_test_dbus_new (G_TEST_DBUS_NONE);
  g_test_dbus_up (f->bus);
  f->server = connect_private (g_test_dbus_get_bus_address (f->bus));
  f->client = connect_private (g_test_dbus_get_bus_address (f->bus));
  f->dir = g_dir_make_tmp ("dt-exporter-XXXXXX", NULL);
  f->manager = dt_manager_new (DT_BACKEND (backend), DT_LOG_LEVEL_MESSAGE, f->dir);
  dt_manager_start (f->manager);
  f->exporter = dt_dbus_exporter_new (f->server, f->manager, &error);
  g_assert_no_error (error);
}

static void
fixture_tear_down (Fixture *f, gconstpointer data)
{
  g_clear_object (&f->exporter);
  g_clear_object (&f->manager);
  g_dbus_connection_close_sync (f->client, NULL, NULL);
  g_dbus_connection_close_sync (f->server, NULL, NULL);
  g_clear_object (&f->client);
  g_clear_object (&f->server);
  g_test_dbus_down (f->bus);
  g_clear_object (&f->bus);
  remove_tree (f->dir);
  g_free (f->dir);
}

static void
on_result (GObject *source, GAsyncResult *result, gpointer user_data)
{
  *(GAsyncResult **) user_data = g_object_ref (result);
}

/* Calls a method on the exporter and spins the main context (which serves
 * the skeleton) until the reply arrives. */
static GVariant *
call_at (Fixture *f, const char *path, const char *iface, const char *method, GVariant *args,
         GError **error)
{
  g_autoptr(GAsyncResult) result = NULL;

  g_dbus_connection_call (f->client, g_dbus_connection_get_unique_name (f->server), path,
                          iface, method, args, NULL, G_DBUS_CALL_FLAGS_NONE, 5000, NULL,
                          on_result, &result);
  while (result == NULL)
    g_main_context_iteration (NULL, TRUE);
  return g_dbus_connection_call_finish (f->client, result, error);
}

static GVariant *
call (Fixture *f, const char *iface, const char *method, GVariant *args, GError **error)
{
  return call_at (f, DT_ROOT_PATH, iface, method, args, error);
}

static void
assert_dbus_error (GError *error, const char *name, const char *message_prefix)
{
  g_autofree char *remote = NULL;

  g_assert_nonnull (error);
  remote = g_dbus_error_get_remote_error (error);
  g_assert_cmpstr (remote, ==, name);
  g_dbus_error_strip_remote_error (error);
  if (message_prefix && !g_str_has_prefix (error->message, message_prefix))
    g_error ("'%s' does not start with '%s'", error->message, message_prefix);
}

static GVariant *
account_settings (const char *id, const char *address)
{
  GVariantBuilder b;

  g_variant_builder_init (&b, G_VARIANT_TYPE_VARDICT);
  if (id)
    g_variant_builder_add (&b, "{sv}", "id", g_variant_new_string (id));
  if (address)
    g_variant_builder_add (&b, "{sv}", "address", g_variant_new_string (address));
  g_variant_builder_add (&b, "{sv}", "registrar", g_variant_new_string ("sip:example.org"));
  /* Otherwise the warning about SDES keys over UDP is fatal here. */
  g_variant_builder_add (&b, "{sv}", "media-encryption", g_variant_new_string ("none"));
  return g_variant_builder_end (&b);
}

static char *
create_account (Fixture *f, GVariant *settings, GError **error)
{
  g_autoptr(GVariant) reply = call (f, "org.dialtone.Phone1.Manager", "CreateAccount",
                                    g_variant_new_tuple (&settings, 1), error);
  char *path = NULL;

  if (reply)
    g_variant_get (reply, "(o)", &path);
  return path;
}

static void
spin (guint ms)
{
  gint64 end = g_get_monotonic_time () + ms * 1000;

  while (g_get_monotonic_time () < end)
    g_main_context_iteration (NULL, FALSE);
}

static GVariant *
get_property (Fixture *f, const char *name)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) reply = call (f, "org.freedesktop.DBus.Properties", "Get",
                                    g_variant_new ("(ss)", "org.dialtone.Phone1.Manager", name),
                                    &error);
  GVariant *value;

  g_assert_no_error (error);
  g_variant_get (reply, "(v)", &value);
  return value;
}

static void
test_properties (Fixture *f, gconstpointer data)
{
  g_autoptr(GVariant) version = get_property (f, "Version");
  g_autoptr(GVariant) accounts = get_property (f, "Accounts");
  g_autoptr(GVariant) calls = get_property (f, "Calls");
  g_autoptr(GVariant) level = get_property (f, "LogLevel");

  g_assert_cmpstr (g_variant_get_string (version, NULL), ==, DT_VERSION);
  g_assert_cmpstr (g_variant_get_type_string (accounts), ==, "ao");
  g_assert_cmpuint (g_variant_n_children (accounts), ==, 0);
  g_assert_cmpuint (g_variant_n_children (calls), ==, 0);
  g_assert_cmpstr (g_variant_get_string (level, NULL), ==, "message");
}

static void
test_set_log_level (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) reply = call (f, "org.dialtone.Phone1.Manager", "SetLogLevel",
                                    g_variant_new ("(s)", "debug"), &error);
  g_autoptr(GVariant) level = NULL;

  g_assert_no_error (error);
  g_assert_cmpint (dt_manager_get_log_level (f->manager), ==, DT_LOG_LEVEL_DEBUG);
  level = get_property (f, "LogLevel");
  g_assert_cmpstr (g_variant_get_string (level, NULL), ==, "debug");
}

static void
test_set_log_level_invalid (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) reply = call (f, "org.dialtone.Phone1.Manager", "SetLogLevel",
                                    g_variant_new ("(s)", "loud"), &error);
  g_autofree char *name = NULL;

  g_assert_null (reply);
  name = g_dbus_error_get_remote_error (error);
  g_assert_cmpstr (name, ==, "org.dialtone.Phone1.Error.InvalidArguments");
  g_assert_cmpint (dt_manager_get_log_level (f->manager), ==, DT_LOG_LEVEL_MESSAGE);
}

static void
test_object_manager (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) reply = call (f, "org.freedesktop.DBus.ObjectManager", "GetManagedObjects",
                                    NULL, &error);

  g_assert_no_error (error);
  g_assert_cmpstr (g_variant_get_type_string (reply), ==, "(a{oa{sa{sv}}})");
}

static void
test_unexport (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) reply = NULL;

  dt_dbus_exporter_unexport (f->exporter);
  reply = call (f, "org.dialtone.Phone1.Manager", "SetLogLevel", g_variant_new ("(s)", "debug"),
                &error);
  g_assert_null (reply);
  g_assert_error (error, G_DBUS_ERROR, G_DBUS_ERROR_UNKNOWN_METHOD);
}

static void
test_create_account (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *path = create_account (f, account_settings ("work", "sip:alice@example.org"), &error);
  g_autofree char *file = g_build_filename (f->dir, "work.account", NULL);
  g_autoptr(GVariant) accounts = NULL;
  g_autoptr(GVariant) reply = NULL;
  g_autoptr(GVariant) settings = NULL;
  GStatBuf st;

  g_assert_no_error (error);
  g_assert_cmpstr (path, ==, "/org/dialtone/Phone1/Account/0");
  accounts = get_property (f, "Accounts");
  g_assert_cmpuint (g_variant_n_children (accounts), ==, 1);

  /* Written with mode 0600, holding no id (the file name is the id). */
  g_assert_cmpint (g_stat (file, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0600);

  reply = call_at (f, path, "org.dialtone.Phone1.Account", "GetSettings", NULL, &error);
  g_assert_no_error (error);
  g_variant_get (reply, "(@a{sv})", &settings);
  g_assert_true (g_variant_lookup (settings, "id", "&s", NULL));
  g_assert_true (g_variant_lookup (settings, "expires", "u", NULL));

  /* The dummy backend registers on the next iteration. */
  spin (50);
  g_assert_cmpint (dt_account_get_state (dt_manager_find_account (f->manager, "work")), ==,
                   DT_ACCOUNT_STATE_REGISTERED);
}

static void
test_create_account_rejects (Fixture *f, gconstpointer data)
{
  static const struct { const char *key; const char *type; const char *value; const char *name; const char *prefix; } cases[] = {
    { "bogus", "s", "'x'", "InvalidArguments", "bogus: unknown key" },
    { "expires", "s", "'600'", "InvalidArguments", "expires: expected an unsigned integer" },
    { "expires", "u", "uint32 1", "InvalidArguments", "expires: 1 is out of range" },
    { "transport", "s", "'carrier-pigeon'", "InvalidArguments", "transport:" },
    { "id", "s", "'../evil'", "InvalidArguments", "id:" },
    { "id", "s", "'a/b'", "InvalidArguments", "id:" },
    { "address", "s", "'not a uri'", "InvalidArguments", "address:" },
    { "registrar", "s", "'http://example.org'", "InvalidArguments", "registrar:" },
    { "password", "s", "'secret'", "InvalidArguments", "password:" },
    { "local-address", "s", "'example.org'", "InvalidArguments", "local-address:" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GVariant) base = account_settings ("x", "sip:x@example.org");
      g_autoptr(GVariant) value = g_variant_parse (NULL, cases[i].value, NULL, NULL, NULL);
      g_autoptr(GVariantDict) dict = g_variant_dict_new (base);
      g_autofree char *path = NULL;

      g_test_message ("case %u: %s", i, cases[i].key);
      g_variant_dict_insert_value (dict, cases[i].key, value);
      path = create_account (f, g_variant_dict_end (dict), &error);
      g_assert_null (path);
      assert_dbus_error (error, DT_ERROR_PREFIX_TEST "InvalidArguments", cases[i].prefix);
    }
  /* Nothing was created or written. */
  g_assert_cmpuint (dt_manager_get_accounts (f->manager)->len, ==, 0);
  {
    g_autoptr(GDir) d = g_dir_open (f->dir, 0, NULL);
    g_assert_null (g_dir_read_name (d));
  }
}

static void
test_duplicate_id (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *first = create_account (f, account_settings ("work", "sip:a@example.org"), &error);
  g_autofree char *second = NULL;

  g_assert_no_error (error);
  second = create_account (f, account_settings ("work", "sip:b@example.org"), &error);
  g_assert_null (second);
  assert_dbus_error (error, DT_ERROR_PREFIX_TEST "AlreadyExists", "id:");
}

static void
test_update_and_password (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *path = create_account (f, account_settings ("work", "sip:a@example.org"), &error);
  g_autofree char *file = g_build_filename (f->dir, "work.account", NULL);
  g_autofree char *contents = NULL;
  g_autoptr(GVariant) reply = NULL;
  g_autoptr(GVariant) settings = NULL;
  GVariantBuilder b;

  g_variant_builder_init (&b, G_VARIANT_TYPE_VARDICT);
  g_variant_builder_add (&b, "{sv}", "expires", g_variant_new_int32 (120));
  g_variant_builder_add (&b, "{sv}", "display-name", g_variant_new_string ("Alice"));
  g_clear_pointer (&reply, g_variant_unref);
  reply = call_at (f, path, "org.dialtone.Phone1.Account", "Update",
                   g_variant_new ("(@a{sv})", g_variant_builder_end (&b)), &error);
  g_assert_no_error (error);

  g_clear_pointer (&reply, g_variant_unref);
  reply = call_at (f, path, "org.dialtone.Phone1.Account", "SetPassword",
                   g_variant_new ("(s)", "hunter2"), &error);
  g_assert_no_error (error);

  g_assert_true (g_file_get_contents (file, &contents, NULL, NULL));
  g_assert_nonnull (strstr (contents, "expires=120"));
  g_assert_nonnull (strstr (contents, "password=hunter2"));

  /* The secret never comes back. */
  g_clear_pointer (&reply, g_variant_unref);
  reply = call_at (f, path, "org.dialtone.Phone1.Account", "GetSettings", NULL, &error);
  g_variant_get (reply, "(@a{sv})", &settings);
  g_assert_false (g_variant_lookup (settings, "password", "&s", NULL));

  /* A bad update changes nothing. */
  g_variant_builder_init (&b, G_VARIANT_TYPE_VARDICT);
  g_variant_builder_add (&b, "{sv}", "expires", g_variant_new_uint32 (300));
  g_variant_builder_add (&b, "{sv}", "transport", g_variant_new_string ("smoke-signals"));
  g_clear_pointer (&reply, g_variant_unref);
  reply = call_at (f, path, "org.dialtone.Phone1.Account", "Update",
                   g_variant_new ("(@a{sv})", g_variant_builder_end (&b)), &error);
  assert_dbus_error (error, DT_ERROR_PREFIX_TEST "InvalidArguments", "transport:");
  g_clear_error (&error);
  g_clear_pointer (&contents, g_free);
  g_assert_true (g_file_get_contents (file, &contents, NULL, NULL));
  g_assert_nonnull (strstr (contents, "expires=120"));

  /* The id cannot change. */
  g_variant_builder_init (&b, G_VARIANT_TYPE_VARDICT);
  g_variant_builder_add (&b, "{sv}", "id", g_variant_new_string ("home"));
  g_clear_pointer (&reply, g_variant_unref);
  reply = call_at (f, path, "org.dialtone.Phone1.Account", "Update",
                   g_variant_new ("(@a{sv})", g_variant_builder_end (&b)), &error);
  assert_dbus_error (error, DT_ERROR_PREFIX_TEST "InvalidArguments", "id:");
}

static void
test_default_account_and_remove (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *path = create_account (f, account_settings ("work", "sip:a@example.org"), &error);
  g_autofree char *file = g_build_filename (f->dir, "work.account", NULL);
  g_autoptr(GVariant) reply = NULL;
  g_autoptr(GVariant) current = NULL;

  current = get_property (f, "DefaultAccount");
  g_assert_cmpstr (g_variant_get_string (current, NULL), ==, "/");

  reply = call (f, "org.freedesktop.DBus.Properties", "Set",
                g_variant_new ("(ssv)", "org.dialtone.Phone1.Manager", "DefaultAccount",
                               g_variant_new_object_path ("/org/dialtone/Phone1/Account/7")), &error);
  assert_dbus_error (error, DT_ERROR_PREFIX_TEST "NotFound", NULL);
  g_clear_error (&error);

  g_clear_pointer (&reply, g_variant_unref);
  reply = call (f, "org.freedesktop.DBus.Properties", "Set",
                g_variant_new ("(ssv)", "org.dialtone.Phone1.Manager", "DefaultAccount",
                               g_variant_new_object_path (path)), &error);
  g_assert_no_error (error);
  g_assert_true (dt_manager_get_default_account (f->manager) ==
                 dt_manager_find_account (f->manager, "work"));

  g_clear_pointer (&reply, g_variant_unref);
  reply = call (f, "org.dialtone.Phone1.Manager", "RemoveAccount",
                g_variant_new ("(o)", "/org/dialtone/Phone1/Account/9"), &error);
  assert_dbus_error (error, DT_ERROR_PREFIX_TEST "NotFound", NULL);
  g_clear_error (&error);

  g_clear_pointer (&reply, g_variant_unref);
  reply = call (f, "org.dialtone.Phone1.Manager", "RemoveAccount", g_variant_new ("(o)", path), &error);
  g_assert_no_error (error);
  g_assert_false (g_file_test (file, G_FILE_TEST_EXISTS));
  g_assert_null (dt_manager_get_default_account (f->manager));
  g_clear_pointer (&current, g_variant_unref);
  current = get_property (f, "Accounts");
  g_assert_cmpuint (g_variant_n_children (current), ==, 0);

  /* Paths are not reused. */
  g_clear_pointer (&path, g_free);
  path = create_account (f, account_settings ("work", "sip:a@example.org"), &error);
  g_assert_cmpstr (path, ==, "/org/dialtone/Phone1/Account/1");
}

/* Call options are checked by the core's schema, and borrowed: under ASan
 * with G_SLICE=always-malloc (the unit environment), each Dial used to leak
 * its options (found with tests/fuzz/fuzz-settings). */
static void
test_dial_options (Fixture *f, gconstpointer data)
{
  g_autoptr(DtDummyMedia) media = dt_dummy_media_new ();
  g_autoptr(GPtrArray) codecs = g_ptr_array_new_with_free_func ((GDestroyNotify) dt_codec_free);
  DtCallProfile profile = { .ptime = 20, .codecs = codecs };
  g_autoptr(GError) error = NULL;
  g_autofree char *account = NULL;
  g_autoptr(GVariant) reply = NULL;

  g_ptr_array_add (codecs, dt_codec_new_known ("pcmu"));
  dt_manager_set_media (f->manager, DT_MEDIA_ENGINE (media), &profile);
  account = create_account (f, account_settings ("x", "sip:x@example.org"), &error);
  g_assert_no_error (error);
  g_assert_nonnull (account);
  for (guint i = 0; i < 3; i++)
    {
      g_clear_error (&error);
      reply = call (f, "org.dialtone.Phone1.Manager", "Dial",
                    g_variant_new_parsed ("('sip:bob@example.org', {'hold-others': <'yes'>})"), &error);
      g_assert_null (reply);
      assert_dbus_error (error, DT_ERROR_PREFIX_TEST "InvalidArguments", "hold-others: expected a boolean");
    }
  g_assert_cmpuint (dt_manager_get_calls (f->manager)->len, ==, 0);
}

static GVariant *
get_call_property (Fixture *f, const char *path, const char *name)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) reply = call_at (f, path, "org.freedesktop.DBus.Properties", "Get",
                                       g_variant_new ("(ss)", "org.dialtone.Phone1.Call", name), &error);
  GVariant *value;

  g_assert_no_error (error);
  g_variant_get (reply, "(v)", &value);
  return value;
}

static guint64
stat_u64 (GVariant *stats, const char *key)
{
  guint64 value = 0;

  if (!g_variant_lookup (stats, key, "t", &value))
    g_error ("Statistics has no %s (t): %s", key, g_variant_print (stats, TRUE));
  return value;
}

/* Statistics is read from the media session at each Get, GetAll and
 * object-manager snapshot (the dummy's counters grow with every read), and
 * is empty before the audio and after the end. */
static void
test_call_statistics (Fixture *f, gconstpointer data)
{
  g_autoptr(DtDummyMedia) media = dt_dummy_media_new ();
  g_autoptr(GPtrArray) codecs = g_ptr_array_new_with_free_func ((GDestroyNotify) dt_codec_free);
  DtCallProfile profile = { .ptime = 20, .codecs = codecs };
  g_autoptr(GError) error = NULL;
  g_autofree char *account = NULL, *path = NULL;
  g_autoptr(GVariant) reply = NULL, first = NULL, second = NULL, all = NULL, objects = NULL;
  g_autoptr(GVariant) all_stats = NULL, ended = NULL, snapshot = NULL;
  DtCall *c;
  double jitter = 0, rtt = 0;
  gint64 deadline;

  g_ptr_array_add (codecs, dt_codec_new_known ("pcmu"));
  dt_manager_set_media (f->manager, DT_MEDIA_ENGINE (media), &profile);
  account = create_account (f, account_settings ("x", "sip:x@example.org"), &error);
  g_assert_no_error (error);
  reply = call (f, "org.dialtone.Phone1.Manager", "Dial",
                g_variant_new_parsed ("('sip:bob@example.org', @a{sv} {})"), &error);
  g_assert_no_error (error);
  g_variant_get (reply, "(o)", &path);
  c = g_ptr_array_index (dt_manager_get_calls (f->manager), 0);

  /* The dummy remote answers on a later iteration. */
  deadline = g_get_monotonic_time () + 2 * G_USEC_PER_SEC;
  while (dt_call_get_state (c) != DT_CALL_STATE_ACTIVE && g_get_monotonic_time () < deadline)
    g_main_context_iteration (NULL, TRUE);
  g_assert_cmpint (dt_call_get_state (c), ==, DT_CALL_STATE_ACTIVE);

  first = get_call_property (f, path, "Statistics");
  second = get_call_property (f, path, "Statistics");
  g_assert_cmpstr (g_variant_get_type_string (first), ==, "a{sv}");
  g_assert_cmpuint (stat_u64 (first, "packets-sent"), ==, 50);
  g_assert_cmpuint (stat_u64 (first, "packets-received"), ==, 49);
  g_assert_cmpuint (stat_u64 (first, "packets-lost"), ==, 1);
  g_assert_cmpuint (stat_u64 (first, "packets-late"), ==, 0);
  g_assert_true (g_variant_lookup (first, "jitter-ms", "d", &jitter));
  g_assert_true (g_variant_lookup (first, "rtt-ms", "d", &rtt));
  g_assert_cmpfloat (jitter, ==, 1.5);
  g_assert_cmpfloat (rtt, ==, 0.25);
  g_assert_cmpuint (stat_u64 (second, "packets-sent"), ==, 100);

  g_variant_unref (reply);
  reply = call_at (f, path, "org.freedesktop.DBus.Properties", "GetAll",
                   g_variant_new ("(s)", "org.dialtone.Phone1.Call"), &error);
  g_assert_no_error (error);
  g_variant_get (reply, "(@a{sv})", &all);
  all_stats = g_variant_lookup_value (all, "Statistics", G_VARIANT_TYPE_VARDICT);
  g_assert_nonnull (all_stats);
  g_assert_cmpuint (stat_u64 (all_stats, "packets-sent"), ==, 150);

  g_variant_unref (reply);
  reply = call (f, "org.freedesktop.DBus.ObjectManager", "GetManagedObjects", NULL, &error);
  g_assert_no_error (error);
  g_variant_get (reply, "(@a{oa{sa{sv}}})", &objects);
  snapshot = g_variant_lookup_value (objects, path, NULL);
  g_assert_nonnull (snapshot);
  g_clear_pointer (&all, g_variant_unref);
  all = g_variant_lookup_value (snapshot, "org.dialtone.Phone1.Call", G_VARIANT_TYPE_VARDICT);
  g_clear_pointer (&all_stats, g_variant_unref);
  all_stats = g_variant_lookup_value (all, "Statistics", G_VARIANT_TYPE_VARDICT);
  g_assert_cmpuint (stat_u64 (all_stats, "packets-sent"), ==, 200);

  g_variant_unref (reply);
  reply = call_at (f, path, "org.dialtone.Phone1.Call", "Hangup", NULL, &error);
  g_assert_no_error (error);
  g_assert_true (dt_call_is_ended (c));
  ended = get_call_property (f, path, "Statistics");
  g_assert_cmpuint (g_variant_n_children (ended), ==, 0);
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  g_test_add ("/exporter/properties", Fixture, NULL, fixture_set_up, test_properties, fixture_tear_down);
  g_test_add ("/exporter/set-log-level", Fixture, NULL, fixture_set_up, test_set_log_level, fixture_tear_down);
  g_test_add ("/exporter/set-log-level-invalid", Fixture, NULL, fixture_set_up, test_set_log_level_invalid, fixture_tear_down);
  g_test_add ("/exporter/object-manager", Fixture, NULL, fixture_set_up, test_object_manager, fixture_tear_down);
  g_test_add ("/exporter/unexport", Fixture, NULL, fixture_set_up, test_unexport, fixture_tear_down);
  g_test_add ("/exporter/create-account", Fixture, NULL, fixture_set_up, test_create_account, fixture_tear_down);
  g_test_add ("/exporter/create-account-rejects", Fixture, NULL, fixture_set_up, test_create_account_rejects, fixture_tear_down);
  g_test_add ("/exporter/duplicate-id", Fixture, NULL, fixture_set_up, test_duplicate_id, fixture_tear_down);
  g_test_add ("/exporter/update-and-password", Fixture, NULL, fixture_set_up, test_update_and_password, fixture_tear_down);
  g_test_add ("/exporter/dial-options", Fixture, NULL, fixture_set_up, test_dial_options, fixture_tear_down);
  g_test_add ("/exporter/call-statistics", Fixture, NULL, fixture_set_up, test_call_statistics, fixture_tear_down);
  g_test_add ("/exporter/default-account-and-remove", Fixture, NULL, fixture_set_up, test_default_account_and_remove, fixture_tear_down);
  return g_test_run ();
}
