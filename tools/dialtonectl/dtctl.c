#include "dtctl.h"

#include <stdio.h>
#include <string.h>

#include "dt-build-config.h"

#define DT_ERROR_PREFIX "org.dialtone.Phone1.Error."

const char *
dtctl_bus_name (DtCtl *ctl)
{
  return ctl->bus_type == G_BUS_TYPE_SYSTEM ? "system" : "session";
}

int
dtctl_fail_message (int         status,
                    const char *format,
                    ...)
{
  g_autofree char *message = NULL;
  va_list args;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);
  g_printerr ("dialtonectl: %s\n", message);
  return status;
}

/* Timeouts become guint milliseconds for g_timeout_add(): bound them so
 * the conversion is defined. */
#define DTCTL_TIMEOUT_MAX_SECONDS (7 * 24 * 3600.0)

int
dtctl_check_timeout (double seconds)
{
  if (!(seconds >= 0 && seconds <= DTCTL_TIMEOUT_MAX_SECONDS))
    return dtctl_fail_message (DTCTL_EXIT_USAGE, "--timeout: %g is not a number of seconds from 0 to %g",
                               seconds, DTCTL_TIMEOUT_MAX_SECONDS);
  return DTCTL_EXIT_OK;
}

static gboolean
is_no_daemon_error (const GError *error)
{
  return g_error_matches (error, G_DBUS_ERROR, G_DBUS_ERROR_SERVICE_UNKNOWN) ||
         g_error_matches (error, G_DBUS_ERROR, G_DBUS_ERROR_NAME_HAS_NO_OWNER) ||
         g_error_matches (error, G_DBUS_ERROR, G_DBUS_ERROR_SPAWN_SERVICE_NOT_FOUND) ||
         g_error_matches (error, G_DBUS_ERROR, G_DBUS_ERROR_SPAWN_EXEC_FAILED) ||
         g_error_matches (error, G_DBUS_ERROR, G_DBUS_ERROR_SPAWN_CHILD_EXITED) ||
         g_error_matches (error, G_DBUS_ERROR, G_DBUS_ERROR_NO_REPLY) ||
         g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CLOSED);
}

/* One line on stderr, the message first and the D-Bus error name last (for
 * scripts that grep for it), and an exit status a script can branch on. */
int
dtctl_fail (DtCtl        *ctl,
            const GError *error)
{
  g_autofree char *remote = g_dbus_error_get_remote_error (error);
  g_autoptr(GError) copy = g_error_copy (error);

  g_dbus_error_strip_remote_error (copy);

  if (is_no_daemon_error (error))
    return dtctl_fail_message (DTCTL_EXIT_NO_DAEMON,
                               "dialtoned is not running on the %s bus (%s)",
                               dtctl_bus_name (ctl), copy->message);
  if (remote != NULL)
    {
      int status = g_str_equal (remote, DT_ERROR_PREFIX "NotFound") ? DTCTL_EXIT_NOT_FOUND
                 : g_str_equal (remote, DT_ERROR_PREFIX "InvalidArguments") ? DTCTL_EXIT_USAGE
                 : DTCTL_EXIT_FAILED;
      return dtctl_fail_message (status, "%s (%s)", copy->message, remote);
    }
  return dtctl_fail_message (DTCTL_EXIT_FAILED, "%s", copy->message);
}

int
dtctl_connect (DtCtl *ctl)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *owner = NULL;

  if (ctl->manager != NULL)
    return DTCTL_EXIT_OK;

  ctl->connection = g_bus_get_sync (ctl->bus_type, NULL, &error);
  if (ctl->connection == NULL)
    return dtctl_fail_message (DTCTL_EXIT_NO_DAEMON, "cannot connect to the %s bus: %s",
                               dtctl_bus_name (ctl), error->message);

  /* Without DO_NOT_AUTO_START, the proxy asks the bus to start dialtoned
   * when it is installed as an activatable service. */
  ctl->manager = dt_gen_manager_proxy_new_sync (ctl->connection, G_DBUS_PROXY_FLAGS_NONE,
                                                DT_BUS_NAME, DT_ROOT_PATH, NULL, &error);
  if (ctl->manager == NULL)
    return dtctl_fail (ctl, error);

  owner = g_dbus_proxy_get_name_owner (G_DBUS_PROXY (ctl->manager));
  if (owner == NULL)
    return dtctl_fail_message (DTCTL_EXIT_NO_DAEMON,
                               "dialtoned is not running on the %s bus "
                               "(no owner for %s, and it cannot be started by D-Bus activation)",
                               dtctl_bus_name (ctl), DT_BUS_NAME);

  ctl->objects = dt_gen_object_manager_client_new_sync (ctl->connection,
                                                        G_DBUS_OBJECT_MANAGER_CLIENT_FLAGS_DO_NOT_AUTO_START,
                                                        DT_BUS_NAME, DT_ROOT_PATH, NULL, &error);
  if (ctl->objects == NULL)
    return dtctl_fail (ctl, error);
  return DTCTL_EXIT_OK;
}

gboolean
dtctl_parse_options (DtCtl              *ctl,
                     const DtCtlCommand *command,
                     GOptionEntry       *entries,
                     int                *argc,
                     char             ***argv,
                     int                 min_args,
                     int                 max_args,
                     int                *status)
{
  const GOptionEntry common[] = {
    { "json", 'j', 0, G_OPTION_ARG_NONE, &ctl->json, "Print JSON instead of text", NULL },
    { NULL }
  };
  g_autofree char *name = command->group ? g_strdup_printf ("%s %s", command->group, command->verb)
                                         : g_strdup (command->verb);
  g_autofree char *params = g_strdup_printf ("%s%s", name, command->params ? command->params : "");
  g_autoptr(GOptionContext) context = g_option_context_new (params);
  g_autoptr(GError) error = NULL;
  int positional;

  g_option_context_set_summary (context, command->summary);
  g_option_context_add_main_entries (context, common, NULL);
  if (entries != NULL)
    g_option_context_add_main_entries (context, entries, NULL);

  if (!g_option_context_parse (context, argc, argv, &error))
    {
      *status = dtctl_fail_message (DTCTL_EXIT_USAGE, "%s\nTry 'dialtonectl %s --help'.",
                                    error->message, name);
      return FALSE;
    }

  /* argv[0] is the command itself. */
  positional = *argc - 1;
  if (positional < min_args || positional > max_args)
    {
      *status = dtctl_fail_message (DTCTL_EXIT_USAGE, "%s: expected %s%s\nTry 'dialtonectl %s --help'.",
                                    name,
                                    positional < min_args ? "more arguments" : "fewer arguments",
                                    command->params ? command->params : "", name);
      return FALSE;
    }
  return TRUE;
}

int
dtctl_print_json (JsonNode *node)
{
  g_autoptr(JsonGenerator) generator = json_generator_new ();
  g_autofree char *text = NULL;

  json_generator_set_pretty (generator, TRUE);
  json_generator_set_root (generator, node);
  text = json_generator_to_data (generator, NULL);
  g_print ("%s\n", text);
  return DTCTL_EXIT_OK;
}

guint
dtctl_path_index (const char *path)
{
  const char *slash = strrchr (path, '/');

  return slash ? (guint) g_ascii_strtoull (slash + 1, NULL, 10) : 0;
}

static int
compare_by_index (gconstpointer a,
                  gconstpointer b)
{
  guint ia = dtctl_path_index (g_dbus_proxy_get_object_path (G_DBUS_PROXY (a)));
  guint ib = dtctl_path_index (g_dbus_proxy_get_object_path (G_DBUS_PROXY (b)));

  return ia < ib ? -1 : ia > ib;
}

/* The proxies of every object that carries @interface, in index order. */
static GList *
list_proxies (DtCtl      *ctl,
              const char *interface)
{
  GList *objects = g_dbus_object_manager_get_objects (ctl->objects);
  GList *proxies = NULL;

  for (GList *l = objects; l; l = l->next)
    {
      GDBusInterface *proxy = g_dbus_object_get_interface (l->data, interface);
      if (proxy != NULL)
        proxies = g_list_prepend (proxies, proxy);
    }
  g_list_free_full (objects, g_object_unref);
  return g_list_sort (proxies, compare_by_index);
}

GList *
dtctl_list_accounts (DtCtl *ctl)
{
  return list_proxies (ctl, "org.dialtone.Phone1.Account");
}

GList *
dtctl_list_calls (DtCtl *ctl)
{
  return list_proxies (ctl, "org.dialtone.Phone1.Call");
}

static gboolean
is_index (const char *spec);

/* A full object path, or the index at its end. */
static gboolean
spec_names_path (const char *spec,
                 const char *path)
{
  return (spec[0] == '/' && g_str_equal (path, spec)) ||
         (is_index (spec) && dtctl_path_index (path) == (guint) g_ascii_strtoull (spec, NULL, 10));
}

DtGenCall *
dtctl_resolve_call (DtCtl              *ctl,
                    const char         *spec,
                    const char * const *states,
                    int                *status)
{
  GList *calls = dtctl_list_calls (ctl);
  DtGenCall *found = NULL;
  guint matches = 0;

  for (GList *l = calls; l; l = l->next)
    {
      const char *path = g_dbus_proxy_get_object_path (G_DBUS_PROXY (l->data));

      if (spec == NULL)
        {
          if (states == NULL || g_strv_contains (states, dt_gen_call_get_state (l->data)))
            {
              matches++;
              g_set_object (&found, l->data);
            }
        }
      else if (spec_names_path (spec, path))
        {
          g_set_object (&found, l->data);
          matches = 1;
          break;
        }
    }
  g_list_free_full (calls, g_object_unref);

  if (spec == NULL && matches != 1)
    {
      g_autofree char *wanted = states ? g_strjoinv (" or ", (char **) states) : g_strdup ("going on");
      g_clear_object (&found);
      *status = dtctl_fail_message (matches == 0 ? DTCTL_EXIT_NOT_FOUND : DTCTL_EXIT_USAGE,
                                    matches == 0 ? "no call is %s" : "several calls are %s; name one",
                                    wanted);
      return NULL;
    }
  if (found == NULL)
    *status = dtctl_fail_message (DTCTL_EXIT_NOT_FOUND, "no call '%s'", spec);
  return found;
}

static gboolean
is_index (const char *spec)
{
  if (*spec == '\0')
    return FALSE;
  for (const char *c = spec; *c; c++)
    if (!g_ascii_isdigit (*c))
      return FALSE;
  return TRUE;
}

DtGenAccount *
dtctl_resolve_account (DtCtl      *ctl,
                       const char *spec,
                       int        *status)
{
  GList *accounts = dtctl_list_accounts (ctl);
  DtGenAccount *found = NULL;

  for (GList *l = accounts; l && !found; l = l->next)
    {
      const char *path = g_dbus_proxy_get_object_path (G_DBUS_PROXY (l->data));

      if (spec_names_path (spec, path) || g_strcmp0 (dt_gen_account_get_id (l->data), spec) == 0)
        found = g_object_ref (l->data);
    }
  g_list_free_full (accounts, g_object_unref);
  if (found == NULL)
    *status = dtctl_fail_message (DTCTL_EXIT_NOT_FOUND, "no account '%s'", spec);
  return found;
}

/* "RegistrationExpiresUSec" → "registration-expires-usec": JSON keys
 * follow the settings' kebab-case. "USec" is one word, not U + Sec. */
char *
dtctl_kebab_case (const char *camel)
{
  g_auto(GStrv) parts = g_strsplit (camel, "USec", -1);
  g_autofree char *words = g_strjoinv ("Usec", parts);
  GString *out = g_string_new (NULL);

  for (const char *c = words; *c; c++)
    {
      gboolean after_lower = c > words && g_ascii_islower (c[-1]);
      gboolean acronym_end = c > words && g_ascii_isupper (c[-1]) && g_ascii_islower (c[1]);

      if (g_ascii_isupper (*c) && (after_lower || acronym_end))
        g_string_append_c (out, '-');
      g_string_append_c (out, g_ascii_tolower (*c));
    }
  return g_string_free (out, FALSE);
}

JsonNode *
dtctl_proxy_to_json (GDBusProxy *proxy)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_auto(GStrv) names = g_dbus_proxy_get_cached_property_names (proxy);
  const char *path = g_dbus_proxy_get_object_path (proxy);

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "path");
  json_builder_add_string_value (builder, path);
  if (g_str_has_prefix (path, DT_ROOT_PATH "/"))
    {
      json_builder_set_member_name (builder, "index");
      json_builder_add_int_value (builder, dtctl_path_index (path));
    }
  for (char **n = names; n && *n; n++)
    {
      g_autoptr(GVariant) value = g_dbus_proxy_get_cached_property (proxy, *n);
      g_autofree char *key = dtctl_kebab_case (*n);

      json_builder_set_member_name (builder, key);
      json_builder_add_value (builder, json_gvariant_serialize (value));
    }
  json_builder_end_object (builder);
  return json_builder_get_root (builder);
}

char *
dtctl_variant_to_text (GVariant *value)
{
  if (g_variant_is_of_type (value, G_VARIANT_TYPE_STRING) ||
      g_variant_is_of_type (value, G_VARIANT_TYPE_OBJECT_PATH))
    return g_variant_dup_string (value, NULL);
  if (g_variant_is_of_type (value, G_VARIANT_TYPE_STRING_ARRAY) ||
      g_variant_is_of_type (value, G_VARIANT_TYPE_OBJECT_PATH_ARRAY))
    {
      g_autofree const char **items = g_variant_is_of_type (value, G_VARIANT_TYPE_STRING_ARRAY)
                                        ? g_variant_get_strv (value, NULL)
                                        : g_variant_get_objv (value, NULL);
      return g_strjoinv (", ", (char **) items);
    }
  return g_variant_print (value, FALSE);
}

void
dtctl_print_properties (GDBusProxy *proxy)
{
  g_auto(GStrv) names = g_dbus_proxy_get_cached_property_names (proxy);

  for (char **n = names; n && *n; n++)
    {
      g_autoptr(GVariant) value = g_dbus_proxy_get_cached_property (proxy, *n);
      g_autofree char *text = dtctl_variant_to_text (value);

      g_print ("  %-24s %s\n", *n, text);
    }
}
