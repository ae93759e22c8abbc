#include <gio/gio.h>

#include "dt-build-config.h"
#include "dt-generated.h"
#include "core/dt-dummy-backend.h"
#include "core/dt-manager.h"
#include "dbus/dt-dbus-exporter.h"

/* The export layer alone, on a private bus: the daemon is not involved. The
 * client uses its own connection, as a real client would. */

typedef struct {
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
fixture_set_up (Fixture *f, gconstpointer data)
{
  g_autoptr(DtDummyBackend) backend = dt_dummy_backend_new ();
  g_autoptr(GError) error = NULL;

  f->bus = g_test_dbus_new (G_TEST_DBUS_NONE);
  g_test_dbus_up (f->bus);
  f->server = connect_private (g_test_dbus_get_bus_address (f->bus));
  f->client = connect_private (g_test_dbus_get_bus_address (f->bus));
  f->manager = dt_manager_new (DT_BACKEND (backend), DT_LOG_LEVEL_MESSAGE);
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
}

static void
on_result (GObject *source, GAsyncResult *result, gpointer user_data)
{
  *(GAsyncResult **) user_data = g_object_ref (result);
}

/* Calls a method on the exporter and spins the main context (which serves
 * the skeleton) until the reply arrives. */
static GVariant *
call (Fixture *f, const char *iface, const char *method, GVariant *args, GError **error)
{
  g_autoptr(GAsyncResult) result = NULL;

  g_dbus_connection_call (f->client, g_dbus_connection_get_unique_name (f->server), DT_ROOT_PATH,
                          iface, method, args, NULL, G_DBUS_CALL_FLAGS_NONE, 5000, NULL,
                          on_result, &result);
  while (result == NULL)
    g_main_context_iteration (NULL, TRUE);
  return g_dbus_connection_call_finish (f->client, result, error);
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

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  g_test_add ("/exporter/properties", Fixture, NULL, fixture_set_up, test_properties, fixture_tear_down);
  g_test_add ("/exporter/set-log-level", Fixture, NULL, fixture_set_up, test_set_log_level, fixture_tear_down);
  g_test_add ("/exporter/set-log-level-invalid", Fixture, NULL, fixture_set_up, test_set_log_level_invalid, fixture_tear_down);
  g_test_add ("/exporter/object-manager", Fixture, NULL, fixture_set_up, test_object_manager, fixture_tear_down);
  g_test_add ("/exporter/unexport", Fixture, NULL, fixture_set_up, test_unexport, fixture_tear_down);
  return g_test_run ();
}
