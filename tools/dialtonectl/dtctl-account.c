#include "dtctl.h"

#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "dt-build-config.h"

#define ACCOUNT_IFACE "org.dialtone.Phone1.Account"

/* Reasons after which an account waits for the user instead of retrying. */
static const char * const final_reasons[] = { "auth-failed", "forbidden", "no-credentials", NULL };

static gboolean
is_default (DtCtl        *ctl,
            DtGenAccount *account)
{
  return g_strcmp0 (dt_gen_manager_get_default_account (ctl->manager),
                    g_dbus_proxy_get_object_path (G_DBUS_PROXY (account))) == 0;
}

int
dtctl_cmd_account_list (DtCtl              *ctl,
                        const DtCtlCommand *command,
                        int                 argc,
                        char              **argv)
{
  g_autolist(DtGenAccount) accounts = NULL;
  int status;

  if (!dtctl_parse_options (ctl, command, NULL, &argc, &argv, 0, 0, &status) ||
      (status = dtctl_connect (ctl)) != DTCTL_EXIT_OK)
    return status;
  accounts = dtctl_list_accounts (ctl);

  if (ctl->json)
    {
      g_autoptr(JsonArray) array = json_array_new ();   /* the node takes its own reference */
      g_autoptr(JsonNode) root = json_node_init_array (json_node_alloc (), array);

      for (GList *l = accounts; l; l = l->next)
        {
          JsonNode *node = dtctl_proxy_to_json (G_DBUS_PROXY (l->data));
          json_object_set_boolean_member (json_node_get_object (node), "default",
                                          is_default (ctl, l->data));
          json_array_add_element (array, node);
        }
      return dtctl_print_json (root);
    }

  if (accounts == NULL)
    {
      g_print ("No accounts. Add one with 'dialtonectl account add'.\n");
      return DTCTL_EXIT_OK;
    }
  g_print ("  %-3s %-16s %-32s %-13s %s\n", "#", "ID", "ADDRESS", "STATE", "REASON");
  for (GList *l = accounts; l; l = l->next)
    {
      DtGenAccount *a = l->data;
      g_print ("%c %-3u %-16s %-32s %-13s %s\n", is_default (ctl, a) ? '*' : ' ',
               dtctl_path_index (g_dbus_proxy_get_object_path (G_DBUS_PROXY (a))),
               dt_gen_account_get_id (a), dt_gen_account_get_address (a),
               dt_gen_account_get_state (a), dt_gen_account_get_state_reason (a));
    }
  return DTCTL_EXIT_OK;
}

/* The start of every verb that takes one ACCOUNT and no options of its
 * own: NULL with *status set when it cannot go on (or --help was shown). */
static DtGenAccount *
parse_one_account (DtCtl              *ctl,
                   const DtCtlCommand *command,
                   int                 argc,
                   char              **argv,
                   int                *status)
{
  if (!dtctl_parse_options (ctl, command, NULL, &argc, &argv, 1, 1, status) ||
      (*status = dtctl_connect (ctl)) != DTCTL_EXIT_OK)
    return NULL;
  return dtctl_resolve_account (ctl, argv[1], status);
}

int
dtctl_cmd_account_show (DtCtl              *ctl,
                        const DtCtlCommand *command,
                        int                 argc,
                        char              **argv)
{
  g_autoptr(DtGenAccount) account = NULL;
  g_autoptr(GVariant) settings = NULL;
  g_autoptr(GError) error = NULL;
  int status;

  if ((account = parse_one_account (ctl, command, argc, argv, &status)) == NULL)
    return status;
  if (!dt_gen_account_call_get_settings_sync (account, &settings, NULL, &error))
    return dtctl_fail (ctl, error);

  if (ctl->json)
    {
      g_autoptr(JsonNode) node = dtctl_proxy_to_json (G_DBUS_PROXY (account));
      JsonObject *object = json_node_get_object (node);

      json_object_set_boolean_member (object, "default", is_default (ctl, account));
      json_object_set_member (object, "settings", json_gvariant_serialize (settings));
      return dtctl_print_json (node);
    }

  g_print ("Account %u (%s)%s\n", dtctl_path_index (g_dbus_proxy_get_object_path (G_DBUS_PROXY (account))),
           dt_gen_account_get_id (account), is_default (ctl, account) ? ", the default" : "");
  g_print ("  %-24s %s\n", "Path", g_dbus_proxy_get_object_path (G_DBUS_PROXY (account)));
  dtctl_print_properties (G_DBUS_PROXY (account));
  g_print ("Settings:\n");
  {
    GVariantIter iter;
    const char *key;
    GVariant *value;

    g_variant_iter_init (&iter, settings);
    while (g_variant_iter_next (&iter, "{&sv}", &key, &value))
      {
        g_autofree char *text = dtctl_variant_to_text (value);
        g_print ("  %-24s %s\n", key, text);
        g_variant_unref (value);
      }
  }
  return DTCTL_EXIT_OK;
}

static gboolean
add_uint (GVariantBuilder  *builder,
          const char       *key,
          const char       *text,
          int              *status)
{
  guint64 number;
  g_autoptr(GError) error = NULL;

  if (!g_ascii_string_to_unsigned (text, 10, 0, G_MAXUINT32, &number, &error))
    {
      *status = dtctl_fail_message (DTCTL_EXIT_USAGE, "%s: '%s' is not a whole number", key, text);
      return FALSE;
    }
  g_variant_builder_add (builder, "{sv}", key, g_variant_new_uint32 ((guint32) number));
  return TRUE;
}

int
dtctl_cmd_account_add (DtCtl              *ctl,
                       const DtCtlCommand *command,
                       int                 argc,
                       char              **argv)
{
  g_autofree char *address = NULL, *registrar = NULL, *auth_user = NULL, *transport = NULL;
  g_autofree char *proxy = NULL, *expires = NULL, *display_name = NULL, *local_address = NULL;
  g_autofree char *local_port = NULL, *keepalive = NULL, *ca_file = NULL, *user_agent = NULL;
  gboolean no_tls_verify = FALSE, disabled = FALSE, allow_direct_calls = FALSE;
  GOptionEntry entries[] = {
    { "address", 'a', 0, G_OPTION_ARG_STRING, &address, "SIP address of record (required)", "URI" },
    { "registrar", 'r', 0, G_OPTION_ARG_STRING, &registrar, "Registrar; without one the account makes direct calls only", "URI" },
    { "auth-user", 'u', 0, G_OPTION_ARG_STRING, &auth_user, "User name for digest authentication", "USER" },
    { "transport", 't', 0, G_OPTION_ARG_STRING, &transport, "udp (default), tcp or tls", "TRANSPORT" },
    { "outbound-proxy", 'p', 0, G_OPTION_ARG_STRING, &proxy, "Send every request through this proxy", "URI" },
    { "expires", 'e', 0, G_OPTION_ARG_STRING, &expires, "Registration lifetime to ask for (default 600)", "SECONDS" },
    { "display-name", 'n', 0, G_OPTION_ARG_STRING, &display_name, "Name shown to people we call", "NAME" },
    { "local-address", 0, 0, G_OPTION_ARG_STRING, &local_address, "Bind to this IP address", "IP" },
    { "local-port", 0, 0, G_OPTION_ARG_STRING, &local_port, "Bind to this port (default: any)", "PORT" },
    { "keepalive-interval", 0, 0, G_OPTION_ARG_STRING, &keepalive, "Keepalive interval, 0 for none (default 30)", "SECONDS" },
    { "tls-ca-file", 0, 0, G_OPTION_ARG_FILENAME, &ca_file, "Trust this CA for TLS (PEM)", "FILE" },
    { "no-tls-verify", 0, 0, G_OPTION_ARG_NONE, &no_tls_verify, "Do not verify the server's TLS certificate (unsafe)", NULL },
    { "user-agent", 0, 0, G_OPTION_ARG_STRING, &user_agent, "User-Agent header", "TEXT" },
    { "allow-direct-calls", 0, 0, G_OPTION_ARG_NONE, &allow_direct_calls,
      "Take incoming calls that do not come through the registrar (LAN)", NULL },
    { "disabled", 0, 0, G_OPTION_ARG_NONE, &disabled, "Add it disabled", NULL },
    { NULL }
  };
  GVariantBuilder builder;
  g_autofree char *path = NULL;
  g_autoptr(GError) error = NULL;
  int status;

  if (!dtctl_parse_options (ctl, command, entries, &argc, &argv, 1, 1, &status))
    return status;
  if (address == NULL)
    return dtctl_fail_message (DTCTL_EXIT_USAGE, "account add: --address is required\n"
                               "Try 'dialtonectl account add --help'.");

  g_variant_builder_init (&builder, G_VARIANT_TYPE_VARDICT);
  g_variant_builder_add (&builder, "{sv}", "id", g_variant_new_string (argv[1]));
  g_variant_builder_add (&builder, "{sv}", "address", g_variant_new_string (address));
  {
    const struct { const char *key; const char *value; } strings[] = {
      { "registrar", registrar }, { "auth-user", auth_user }, { "transport", transport },
      { "outbound-proxy", proxy }, { "display-name", display_name },
      { "local-address", local_address }, { "tls-ca-file", ca_file }, { "user-agent", user_agent },
    };
    const struct { const char *key; const char *value; } numbers[] = {
      { "expires", expires }, { "local-port", local_port }, { "keepalive-interval", keepalive },
    };

    for (guint i = 0; i < G_N_ELEMENTS (strings); i++)
      if (strings[i].value != NULL)
        g_variant_builder_add (&builder, "{sv}", strings[i].key, g_variant_new_string (strings[i].value));
    for (guint i = 0; i < G_N_ELEMENTS (numbers); i++)
      if (numbers[i].value != NULL && !add_uint (&builder, numbers[i].key, numbers[i].value, &status))
        {
          g_variant_builder_clear (&builder);
          return status;
        }
  }
  if (no_tls_verify)
    g_variant_builder_add (&builder, "{sv}", "tls-verify", g_variant_new_boolean (FALSE));
  if (allow_direct_calls)
    g_variant_builder_add (&builder, "{sv}", "allow-direct-calls", g_variant_new_boolean (TRUE));
  if (disabled)
    g_variant_builder_add (&builder, "{sv}", "enabled", g_variant_new_boolean (FALSE));

  if ((status = dtctl_connect (ctl)) != DTCTL_EXIT_OK)
    {
      g_variant_builder_clear (&builder);
      return status;
    }
  if (!dt_gen_manager_call_create_account_sync (ctl->manager, g_variant_builder_end (&builder),
                                                &path, NULL, &error))
    return dtctl_fail (ctl, error);

  if (ctl->json)
    {
      g_autoptr(JsonBuilder) b = json_builder_new ();
      g_autoptr(JsonNode) root = NULL;

      json_builder_begin_object (b);
      json_builder_set_member_name (b, "path");
      json_builder_add_string_value (b, path);
      json_builder_set_member_name (b, "index");
      json_builder_add_int_value (b, dtctl_path_index (path));
      json_builder_set_member_name (b, "id");
      json_builder_add_string_value (b, argv[1]);
      json_builder_end_object (b);
      root = json_builder_get_root (b);
      return dtctl_print_json (root);
    }
  g_print ("%s\n", path);
  return DTCTL_EXIT_OK;
}

/* KEY=VALUE, typed like the setting's current value (GetSettings lists
 * every setting that has a value or a default; the others are strings). */
static GVariant *
typed_value (GVariant    *current,
             const char  *key,
             const char  *text,
             int         *status)
{
  if (current == NULL || g_variant_is_of_type (current, G_VARIANT_TYPE_STRING))
    return g_variant_new_string (text);
  if (g_variant_is_of_type (current, G_VARIANT_TYPE_BOOLEAN))
    {
      if (g_str_equal (text, "true") || g_str_equal (text, "yes") || g_str_equal (text, "1"))
        return g_variant_new_boolean (TRUE);
      if (g_str_equal (text, "false") || g_str_equal (text, "no") || g_str_equal (text, "0"))
        return g_variant_new_boolean (FALSE);
      *status = dtctl_fail_message (DTCTL_EXIT_USAGE, "%s: '%s' is not true or false", key, text);
      return NULL;
    }
  if (g_variant_is_of_type (current, G_VARIANT_TYPE_UINT32))
    {
      guint64 number;
      if (!g_ascii_string_to_unsigned (text, 10, 0, G_MAXUINT32, &number, NULL))
        {
          *status = dtctl_fail_message (DTCTL_EXIT_USAGE, "%s: '%s' is not a whole number", key, text);
          return NULL;
        }
      return g_variant_new_uint32 ((guint32) number);
    }
  if (g_variant_is_of_type (current, G_VARIANT_TYPE_STRING_ARRAY))
    {
      g_auto(GStrv) items = g_strsplit (text, ",", -1);
      return g_variant_new_strv ((const char * const *) items, -1);
    }
  return g_variant_new_string (text);
}

int
dtctl_cmd_account_set (DtCtl              *ctl,
                       const DtCtlCommand *command,
                       int                 argc,
                       char              **argv)
{
  g_autoptr(DtGenAccount) account = NULL;
  g_autoptr(GVariant) current = NULL;
  g_autoptr(GError) error = NULL;
  GVariantBuilder builder;
  int status;

  if (!dtctl_parse_options (ctl, command, NULL, &argc, &argv, 2, G_MAXINT, &status) ||
      (status = dtctl_connect (ctl)) != DTCTL_EXIT_OK ||
      (account = dtctl_resolve_account (ctl, argv[1], &status)) == NULL)
    return status;
  if (!dt_gen_account_call_get_settings_sync (account, &current, NULL, &error))
    return dtctl_fail (ctl, error);

  g_variant_builder_init (&builder, G_VARIANT_TYPE_VARDICT);
  for (int i = 2; i < argc; i++)
    {
      const char *eq = strchr (argv[i], '=');
      g_autofree char *key = NULL;
      g_autoptr(GVariant) now = NULL;
      GVariant *value;

      if (eq == NULL || eq == argv[i])
        {
          g_variant_builder_clear (&builder);
          return dtctl_fail_message (DTCTL_EXIT_USAGE, "'%s' is not KEY=VALUE", argv[i]);
        }
      key = g_strndup (argv[i], eq - argv[i]);
      now = g_variant_lookup_value (current, key, NULL);
      value = typed_value (now, key, eq + 1, &status);
      if (value == NULL)
        {
          g_variant_builder_clear (&builder);
          return status;
        }
      g_variant_builder_add (&builder, "{sv}", key, value);
    }
  if (!dt_gen_account_call_update_sync (account, g_variant_builder_end (&builder), NULL, &error))
    return dtctl_fail (ctl, error);
  return DTCTL_EXIT_OK;
}

/* The secret comes from standard input (first line) or, on a terminal,
 * from a prompt without echo: never from the command line, where other
 * users could read it in the process list. */
static char *
read_secret (const char *id,
             GError    **error)
{
  struct termios saved, quiet;
  gboolean tty = isatty (STDIN_FILENO);
  char buffer[1024];
  char *line;

  if (tty)
    {
      g_printerr ("Password for %s: ", id);
      tcgetattr (STDIN_FILENO, &saved);
      quiet = saved;
      quiet.c_lflag &= ~(tcflag_t) ECHO;
      tcsetattr (STDIN_FILENO, TCSAFLUSH, &quiet);
    }
  line = fgets (buffer, sizeof buffer, stdin);
  if (tty)
    {
      tcsetattr (STDIN_FILENO, TCSAFLUSH, &saved);
      g_printerr ("\n");
    }
  if (line == NULL)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_FAILED, "no password on standard input");
      return NULL;
    }
  buffer[strcspn (buffer, "\r\n")] = '\0';
  line = g_strdup (buffer);
  explicit_bzero (buffer, sizeof buffer);
  return line;
}

int
dtctl_cmd_account_password (DtCtl              *ctl,
                            const DtCtlCommand *command,
                            int                 argc,
                            char              **argv)
{
  g_autoptr(DtGenAccount) account = NULL;
  g_autoptr(GError) error = NULL;
  char *secret;
  gboolean ok;
  int status;

  if ((account = parse_one_account (ctl, command, argc, argv, &status)) == NULL)
    return status;
  secret = read_secret (dt_gen_account_get_id (account), &error);
  if (secret == NULL)
    return dtctl_fail_message (DTCTL_EXIT_USAGE, "account password: %s", error->message);
  ok = dt_gen_account_call_set_password_sync (account, secret, NULL, &error);
  explicit_bzero (secret, strlen (secret));
  g_free (secret);
  return ok ? DTCTL_EXIT_OK : dtctl_fail (ctl, error);
}

static int
set_enabled (DtCtl              *ctl,
             const DtCtlCommand *command,
             int                 argc,
             char              **argv,
             gboolean            enabled)
{
  g_autoptr(DtGenAccount) account = NULL;
  g_autoptr(GVariant) reply = NULL;
  g_autoptr(GError) error = NULL;
  int status;

  if ((account = parse_one_account (ctl, command, argc, argv, &status)) == NULL)
    return status;
  reply = g_dbus_proxy_call_sync (G_DBUS_PROXY (account), "org.freedesktop.DBus.Properties.Set",
                                  g_variant_new ("(ssv)", ACCOUNT_IFACE, "Enabled",
                                                 g_variant_new_boolean (enabled)),
                                  G_DBUS_CALL_FLAGS_NONE, -1, NULL, &error);
  return reply ? DTCTL_EXIT_OK : dtctl_fail (ctl, error);
}

int
dtctl_cmd_account_enable (DtCtl *ctl, const DtCtlCommand *command, int argc, char **argv)
{
  return set_enabled (ctl, command, argc, argv, TRUE);
}

int
dtctl_cmd_account_disable (DtCtl *ctl, const DtCtlCommand *command, int argc, char **argv)
{
  return set_enabled (ctl, command, argc, argv, FALSE);
}

int
dtctl_cmd_account_register (DtCtl              *ctl,
                            const DtCtlCommand *command,
                            int                 argc,
                            char              **argv)
{
  g_autoptr(DtGenAccount) account = NULL;
  g_autoptr(GError) error = NULL;
  int status;

  if ((account = parse_one_account (ctl, command, argc, argv, &status)) == NULL)
    return status;
  return dt_gen_account_call_register_sync (account, NULL, &error) ? DTCTL_EXIT_OK
                                                                    : dtctl_fail (ctl, error);
}

int
dtctl_cmd_account_unregister (DtCtl              *ctl,
                              const DtCtlCommand *command,
                              int                 argc,
                              char              **argv)
{
  g_autoptr(DtGenAccount) account = NULL;
  g_autoptr(GError) error = NULL;
  int status;

  if ((account = parse_one_account (ctl, command, argc, argv, &status)) == NULL)
    return status;
  return dt_gen_account_call_unregister_sync (account, NULL, &error) ? DTCTL_EXIT_OK
                                                                      : dtctl_fail (ctl, error);
}

int
dtctl_cmd_account_remove (DtCtl              *ctl,
                          const DtCtlCommand *command,
                          int                 argc,
                          char              **argv)
{
  g_autoptr(DtGenAccount) account = NULL;
  g_autoptr(GError) error = NULL;
  int status;

  if ((account = parse_one_account (ctl, command, argc, argv, &status)) == NULL)
    return status;
  return dt_gen_manager_call_remove_account_sync (ctl->manager,
                                                  g_dbus_proxy_get_object_path (G_DBUS_PROXY (account)),
                                                  NULL, &error)
         ? DTCTL_EXIT_OK : dtctl_fail (ctl, error);
}

int
dtctl_cmd_account_default (DtCtl              *ctl,
                           const DtCtlCommand *command,
                           int                 argc,
                           char              **argv)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) reply = NULL;
  const char *path;
  int status;

  if (!dtctl_parse_options (ctl, command, NULL, &argc, &argv, 0, 1, &status) ||
      (status = dtctl_connect (ctl)) != DTCTL_EXIT_OK)
    return status;

  if (argc == 2)
    {
      g_autoptr(DtGenAccount) account = NULL;

      if (g_str_equal (argv[1], "none"))
        path = "/";
      else if ((account = dtctl_resolve_account (ctl, argv[1], &status)) == NULL)
        return status;
      else
        path = g_dbus_proxy_get_object_path (G_DBUS_PROXY (account));
      reply = g_dbus_proxy_call_sync (G_DBUS_PROXY (ctl->manager), "org.freedesktop.DBus.Properties.Set",
                                      g_variant_new ("(ssv)", "org.dialtone.Phone1.Manager",
                                                     "DefaultAccount", g_variant_new_object_path (path)),
                                      G_DBUS_CALL_FLAGS_NONE, -1, NULL, &error);
      return reply ? DTCTL_EXIT_OK : dtctl_fail (ctl, error);
    }

  path = dt_gen_manager_get_default_account (ctl->manager);
  if (path == NULL || g_str_equal (path, "/"))
    {
      if (ctl->json)
        {
          g_autoptr(JsonNode) null = json_node_new (JSON_NODE_NULL);
          return dtctl_print_json (null);
        }
      g_print ("none\n");
      return DTCTL_EXIT_OK;
    }
  {
    g_autoptr(DtGenAccount) account = dtctl_resolve_account (ctl, path, &status);
    const char *id = account ? dt_gen_account_get_id (account) : path;

    if (ctl->json)
      {
        g_autoptr(JsonNode) node = json_node_init_string (json_node_alloc (), id);
        return dtctl_print_json (node);
      }
    g_print ("%s\n", id);
  }
  return DTCTL_EXIT_OK;
}

typedef struct {
  GMainLoop  *loop;
  const char *target;
  int         status;
  gboolean    timed_out;
} Wait;

static void
check_state (DtGenAccount *account,
             Wait         *w)
{
  const char *state = dt_gen_account_get_state (account);
  const char *reason = dt_gen_account_get_state_reason (account);

  if (g_strcmp0 (state, w->target) == 0)
    {
      w->status = DTCTL_EXIT_OK;
      g_main_loop_quit (w->loop);
    }
  else if (g_strcmp0 (state, "failed") == 0 && g_strv_contains (final_reasons, reason))
    {
      w->status = dtctl_fail_message (DTCTL_EXIT_FAILED, "account %s failed: %s (%u %s)",
                                      dt_gen_account_get_id (account), reason,
                                      dt_gen_account_get_last_sip_status (account),
                                      dt_gen_account_get_last_sip_reason (account));
      g_main_loop_quit (w->loop);
    }
}

static void
on_properties_changed (GDBusProxy *proxy,
                       GVariant   *changed,
                       GStrv       invalidated,
                       Wait       *w)
{
  check_state (DT_GEN_ACCOUNT (proxy), w);
}

static gboolean
on_wait_timeout (gpointer user_data)
{
  Wait *w = user_data;

  w->timed_out = TRUE;
  g_main_loop_quit (w->loop);
  return G_SOURCE_REMOVE;
}

int
dtctl_cmd_account_wait (DtCtl              *ctl,
                        const DtCtlCommand *command,
                        int                 argc,
                        char              **argv)
{
  g_autofree char *state = NULL;
  double timeout = 30;
  GOptionEntry entries[] = {
    { "state", 's', 0, G_OPTION_ARG_STRING, &state, "State to wait for (default: registered)", "STATE" },
    { "timeout", 't', 0, G_OPTION_ARG_DOUBLE, &timeout, "Give up after this long (default 30)", "SECONDS" },
    { NULL }
  };
  g_autoptr(DtGenAccount) account = NULL;
  g_autoptr(GMainLoop) loop = g_main_loop_new (NULL, FALSE);
  Wait w = { .loop = loop, .status = -1 };
  guint timer;
  int status;

  if (!dtctl_parse_options (ctl, command, entries, &argc, &argv, 1, 1, &status) ||
      (status = dtctl_check_timeout (timeout)) != DTCTL_EXIT_OK ||
      (status = dtctl_connect (ctl)) != DTCTL_EXIT_OK ||
      (account = dtctl_resolve_account (ctl, argv[1], &status)) == NULL)
    return status;
  w.target = state ? state : "registered";

  g_signal_connect (account, "g-properties-changed", G_CALLBACK (on_properties_changed), &w);
  check_state (account, &w);
  if (w.status >= 0)
    return w.status;
  timer = g_timeout_add ((guint) (timeout * 1000), on_wait_timeout, &w);
  g_main_loop_run (loop);
  if (w.timed_out)
    return dtctl_fail_message (DTCTL_EXIT_FAILED,
                               "timed out after %g s waiting for account %s to be %s "
                               "(it is %s: %s)", timeout, dt_gen_account_get_id (account),
                               w.target, dt_gen_account_get_state (account),
                               dt_gen_account_get_state_reason (account));
  g_source_remove (timer);
  return w.status;
}
