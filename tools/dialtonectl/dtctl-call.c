#include "dtctl.h"

#include <stdio.h>
#include <string.h>

#include <glib-unix.h>

static const char * const ringing[] = { "incoming", NULL };
static const char * const going_on[] = {
  "dialing", "ringing-out", "early-media", "incoming", "active", "held", "remote-held", NULL
};

static void
add_endpoint_options (GVariantBuilder *builder,
                      const char      *source,
                      const char      *sink)
{
  if (source)
    g_variant_builder_add (builder, "{sv}", "audio-source", g_variant_new_string (source));
  if (sink)
    g_variant_builder_add (builder, "{sv}", "audio-sink", g_variant_new_string (sink));
}

typedef struct {
  GMainLoop         *loop;
  const char        *target;
  gboolean           timed_out;
  gboolean           reached;
} Waiter;

static void
check_call (DtGenCall *call,
            Waiter    *w)
{
  const char *state = dt_gen_call_get_state (call);

  if (g_strcmp0 (state, w->target) == 0)
    w->reached = TRUE;
  if (w->reached || g_strcmp0 (state, "terminated") == 0)
    g_main_loop_quit (w->loop);
}

static void
on_call_changed (GDBusProxy *proxy,
                 GVariant   *changed,
                 GStrv       invalidated,
                 Waiter     *w)
{
  check_call (DT_GEN_CALL (proxy), w);
}

static gboolean
on_timeout (gpointer user_data)
{
  Waiter *w = user_data;

  w->timed_out = TRUE;
  g_main_loop_quit (w->loop);
  return G_SOURCE_REMOVE;
}

/* Waits for @target; 0 when reached, 1 (with one line saying why) when the
 * call ended first or the time ran out. */
static int
wait_for_state (DtGenCall  *call,
                const char *target,
                double      timeout)
{
  g_autoptr(GMainLoop) loop = g_main_loop_new (NULL, FALSE);
  Waiter w = { .loop = loop, .target = target };
  guint timer;
  gulong handler;

  handler = g_signal_connect (call, "g-properties-changed", G_CALLBACK (on_call_changed), &w);
  check_call (call, &w);
  if (!w.reached && g_strcmp0 (dt_gen_call_get_state (call), "terminated") != 0)
    {
      timer = g_timeout_add ((guint) (timeout * 1000), on_timeout, &w);
      g_main_loop_run (loop);
      if (!w.timed_out)
        g_source_remove (timer);
    }
  g_signal_handler_disconnect (call, handler);
  if (w.reached)
    return DTCTL_EXIT_OK;
  if (w.timed_out)
    return dtctl_fail_message (DTCTL_EXIT_FAILED, "timed out after %g s waiting for call %u to be %s (it is %s)",
                               timeout, dtctl_path_index (g_dbus_proxy_get_object_path (G_DBUS_PROXY (call))),
                               target, dt_gen_call_get_state (call));
  return dtctl_fail_message (DTCTL_EXIT_FAILED, "call %u ended: %s (%u %s)",
                             dtctl_path_index (g_dbus_proxy_get_object_path (G_DBUS_PROXY (call))),
                             dt_gen_call_get_state_reason (call), dt_gen_call_get_sip_status (call),
                             dt_gen_call_get_sip_reason (call));
}

static DtGenCall *
call_proxy (DtCtl      *ctl,
            const char *path,
            int        *status)
{
  g_autoptr(GError) error = NULL;
  DtGenCall *call = dt_gen_call_proxy_new_sync (ctl->connection, G_DBUS_PROXY_FLAGS_NONE,
                                                "org.dialtone.Phone1", path, NULL, &error);

  if (call == NULL)
    *status = dtctl_fail (ctl, error);
  return call;
}

int
dtctl_cmd_call (DtCtl              *ctl,
                const DtCtlCommand *command,
                int                 argc,
                char              **argv)
{
  g_autofree char *account = NULL, *source = NULL, *sink = NULL;
  gboolean wait = FALSE;
  double timeout = 60;
  GOptionEntry entries[] = {
    { "account", 'a', 0, G_OPTION_ARG_STRING, &account, "Call from this account (default: the default account)", "ACCOUNT" },
    { "audio-source", 0, 0, G_OPTION_ARG_STRING, &source, "Audio source for this call", "ENDPOINT" },
    { "audio-sink", 0, 0, G_OPTION_ARG_STRING, &sink, "Audio sink for this call", "ENDPOINT" },
    { "wait", 'w', 0, G_OPTION_ARG_NONE, &wait, "Wait until the call is answered (exit 1 if it ends first)", NULL },
    { "timeout", 't', 0, G_OPTION_ARG_DOUBLE, &timeout, "With --wait: give up after this long (default 60)", "SECONDS" },
    { NULL }
  };
  g_autoptr(GError) error = NULL;
  g_autofree char *path = NULL;
  GVariantBuilder options;
  int status;

  if (!dtctl_parse_options (ctl, command, entries, &argc, &argv, 1, 1, &status) ||
      (status = dtctl_check_timeout (timeout)) != DTCTL_EXIT_OK ||
      (status = dtctl_connect (ctl)) != DTCTL_EXIT_OK)
    return status;

  g_variant_builder_init (&options, G_VARIANT_TYPE_VARDICT);
  if (account != NULL)
    {
      g_autoptr(DtGenAccount) a = dtctl_resolve_account (ctl, account, &status);
      if (a == NULL)
        {
          g_variant_builder_clear (&options);
          return status;
        }
      g_variant_builder_add (&options, "{sv}", "account",
                             g_variant_new_object_path (g_dbus_proxy_get_object_path (G_DBUS_PROXY (a))));
    }
  add_endpoint_options (&options, source, sink);
  if (!dt_gen_manager_call_dial_sync (ctl->manager, argv[1], g_variant_builder_end (&options), &path,
                                      NULL, &error))
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
      json_builder_end_object (b);
      root = json_builder_get_root (b);
      dtctl_print_json (root);
    }
  else
    g_print ("%s\n", path);

  if (wait)
    {
      g_autoptr(DtGenCall) call = call_proxy (ctl, path, &status);
      return call ? wait_for_state (call, "active", timeout) : status;
    }
  return DTCTL_EXIT_OK;
}

int
dtctl_cmd_answer (DtCtl              *ctl,
                  const DtCtlCommand *command,
                  int                 argc,
                  char              **argv)
{
  g_autofree char *source = NULL, *sink = NULL;
  gboolean hold_others = FALSE;
  GOptionEntry entries[] = {
    { "audio-source", 0, 0, G_OPTION_ARG_STRING, &source, "Audio source for this call", "ENDPOINT" },
    { "audio-sink", 0, 0, G_OPTION_ARG_STRING, &sink, "Audio sink for this call", "ENDPOINT" },
    { "hold-others", 'H', 0, G_OPTION_ARG_NONE, &hold_others, "Put the other calls on hold first", NULL },
    { NULL }
  };
  g_autoptr(DtGenCall) call = NULL;
  g_autoptr(GError) error = NULL;
  GVariantBuilder options;
  int status;

  if (!dtctl_parse_options (ctl, command, entries, &argc, &argv, 0, 1, &status) ||
      (status = dtctl_connect (ctl)) != DTCTL_EXIT_OK ||
      (call = dtctl_resolve_call (ctl, argc > 1 ? argv[1] : NULL, ringing, &status)) == NULL)
    return status;
  g_variant_builder_init (&options, G_VARIANT_TYPE_VARDICT);
  add_endpoint_options (&options, source, sink);
  if (hold_others)
    g_variant_builder_add (&options, "{sv}", "hold-others", g_variant_new_boolean (TRUE));
  return dt_gen_call_call_answer_sync (call, g_variant_builder_end (&options), NULL, &error)
         ? DTCTL_EXIT_OK : dtctl_fail (ctl, error);
}

int
dtctl_cmd_reject (DtCtl              *ctl,
                  const DtCtlCommand *command,
                  int                 argc,
                  char              **argv)
{
  int sip_status = 486;
  GOptionEntry entries[] = {
    { "status", 's', 0, G_OPTION_ARG_INT, &sip_status, "SIP status to refuse with (default 486 Busy Here; 603 Decline)", "CODE" },
    { NULL }
  };
  g_autoptr(DtGenCall) call = NULL;
  g_autoptr(GError) error = NULL;
  int status;

  if (!dtctl_parse_options (ctl, command, entries, &argc, &argv, 0, 1, &status) ||
      (status = dtctl_connect (ctl)) != DTCTL_EXIT_OK ||
      (call = dtctl_resolve_call (ctl, argc > 1 ? argv[1] : NULL, ringing, &status)) == NULL)
    return status;
  if (sip_status < 0)
    return dtctl_fail_message (DTCTL_EXIT_USAGE, "--status: %d is not a SIP status", sip_status);
  return dt_gen_call_call_reject_sync (call, (guint) sip_status, NULL, &error)
         ? DTCTL_EXIT_OK : dtctl_fail (ctl, error);
}

/* Transfer */

static gboolean
transfer_over (DtGenCall *call)
{
  const char *state = dt_gen_call_get_transfer_state (call);

  return g_strcmp0 (state, "succeeded") == 0 || g_strcmp0 (state, "failed") == 0;
}

static void
on_transfer_changed (GDBusProxy *proxy,
                     GVariant   *changed,
                     GStrv       invalidated,
                     GMainLoop  *loop)
{
  if (transfer_over (DT_GEN_CALL (proxy)))
    g_main_loop_quit (loop);
}

static gboolean
on_transfer_timeout (gpointer loop)
{
  g_main_loop_quit (loop);
  return G_SOURCE_REMOVE;
}

int
dtctl_cmd_transfer (DtCtl              *ctl,
                    const DtCtlCommand *command,
                    int                 argc,
                    char              **argv)
{
  g_autofree char *to_call = NULL;
  gboolean wait = FALSE;
  double timeout = 30;
  GOptionEntry entries[] = {
    { "to-call", 0, 0, G_OPTION_ARG_STRING, &to_call, "Attended: connect the party to this call's party", "OTHER" },
    { "wait", 'w', 0, G_OPTION_ARG_NONE, &wait, "Wait until the transfer succeeds (exit 1 if it fails)", NULL },
    { "timeout", 't', 0, G_OPTION_ARG_DOUBLE, &timeout, "Seconds to wait (default 30)", "SECONDS" },
    { NULL }
  };
  g_autoptr(DtGenCall) call = NULL;
  g_autoptr(DtGenCall) other = NULL;
  g_autoptr(GError) error = NULL;
  const char *state;
  int status;

  if (!dtctl_parse_options (ctl, command, entries, &argc, &argv, 1, 2, &status))
    return status;
  if ((to_call == NULL) == (argc < 3))
    return dtctl_fail_message (DTCTL_EXIT_USAGE, "transfer: give either a URI or --to-call OTHER");
  if ((status = dtctl_connect (ctl)) != DTCTL_EXIT_OK ||
      (call = dtctl_resolve_call (ctl, argv[1], going_on, &status)) == NULL)
    return status;
  if (to_call != NULL)
    {
      if ((other = dtctl_resolve_call (ctl, to_call, going_on, &status)) == NULL)
        return status;
      if (!dt_gen_call_call_transfer_to_call_sync (call, g_dbus_proxy_get_object_path (G_DBUS_PROXY (other)),
                                                   NULL, &error))
        return dtctl_fail (ctl, error);
    }
  else if (!dt_gen_call_call_transfer_sync (call, argv[2], NULL, &error))
    return dtctl_fail (ctl, error);

  if (wait && !transfer_over (call))
    {
      g_autoptr(GMainLoop) loop = g_main_loop_new (NULL, FALSE);
      gulong handler = g_signal_connect (call, "g-properties-changed", G_CALLBACK (on_transfer_changed), loop);
      guint timer = g_timeout_add ((guint) (timeout * 1000), on_transfer_timeout, loop);

      g_main_loop_run (loop);
      g_signal_handler_disconnect (call, handler);
      if (transfer_over (call))
        g_source_remove (timer);
    }
  state = dt_gen_call_get_transfer_state (call);
  if (ctl->json)
    {
      g_autoptr(JsonBuilder) b = json_builder_new ();
      g_autoptr(JsonNode) root = NULL;

      json_builder_begin_object (b);
      json_builder_set_member_name (b, "path");
      json_builder_add_string_value (b, g_dbus_proxy_get_object_path (G_DBUS_PROXY (call)));
      json_builder_set_member_name (b, "transfer-state");
      json_builder_add_string_value (b, state ? state : "");
      json_builder_set_member_name (b, "transfer-status");
      json_builder_add_int_value (b, dt_gen_call_get_transfer_status (call));
      json_builder_end_object (b);
      root = json_builder_get_root (b);
      dtctl_print_json (root);
    }
  else if (wait)
    g_print ("%s (%u)\n", state ? state : "", dt_gen_call_get_transfer_status (call));
  if (wait && g_strcmp0 (state, "succeeded") != 0)
    return dtctl_fail_message (DTCTL_EXIT_FAILED, "call %u: transfer %s",
                               dtctl_path_index (g_dbus_proxy_get_object_path (G_DBUS_PROXY (call))),
                               transfer_over (call) ? state : "timed out");
  return DTCTL_EXIT_OK;
}

int
dtctl_cmd_hangup (DtCtl              *ctl,
                  const DtCtlCommand *command,
                  int                 argc,
                  char              **argv)
{
  gboolean all = FALSE;
  GOptionEntry entries[] = {
    { "all", 'a', 0, G_OPTION_ARG_NONE, &all, "Hang up every call", NULL },
    { NULL }
  };
  g_autoptr(DtGenCall) call = NULL;
  g_autoptr(GError) error = NULL;
  int status;

  if (!dtctl_parse_options (ctl, command, entries, &argc, &argv, 0, 1, &status) ||
      (status = dtctl_connect (ctl)) != DTCTL_EXIT_OK)
    return status;
  if (all)
    {
      guint count = 0;

      if (argc > 1)
        return dtctl_fail_message (DTCTL_EXIT_USAGE, "hangup: --all takes no CALL");
      if (!dt_gen_manager_call_hangup_all_sync (ctl->manager, &count, NULL, &error))
        return dtctl_fail (ctl, error);
      if (!ctl->json)
        g_print ("%u call(s) hung up\n", count);
      return DTCTL_EXIT_OK;
    }
  if ((call = dtctl_resolve_call (ctl, argc > 1 ? argv[1] : NULL, going_on, &status)) == NULL)
    return status;
  return dt_gen_call_call_hangup_sync (call, NULL, &error) ? DTCTL_EXIT_OK : dtctl_fail (ctl, error);
}

int
dtctl_cmd_calls (DtCtl              *ctl,
                 const DtCtlCommand *command,
                 int                 argc,
                 char              **argv)
{
  g_autolist(DtGenCall) calls = NULL;
  int status;

  if (!dtctl_parse_options (ctl, command, NULL, &argc, &argv, 0, 0, &status) ||
      (status = dtctl_connect (ctl)) != DTCTL_EXIT_OK)
    return status;
  calls = dtctl_list_calls (ctl);

  if (ctl->json)
    {
      g_autoptr(JsonArray) array = json_array_new ();   /* the node takes its own reference */
      g_autoptr(JsonNode) root = json_node_init_array (json_node_alloc (), array);

      for (GList *l = calls; l; l = l->next)
        json_array_add_element (array, dtctl_proxy_to_json (G_DBUS_PROXY (l->data)));
      return dtctl_print_json (root);
    }
  if (calls == NULL)
    {
      g_print ("No calls.\n");
      return DTCTL_EXIT_OK;
    }
  g_print ("%-3s %-12s %-9s %-14s %-5s %s\n", "#", "STATE", "DIRECTION", "REASON", "MEDIA", "REMOTE");
  for (GList *l = calls; l; l = l->next)
    {
      DtGenCall *c = l->data;
      g_print ("%-3u %-12s %-9s %-14s %-5s %s\n", dtctl_path_index (g_dbus_proxy_get_object_path (G_DBUS_PROXY (c))),
               dt_gen_call_get_state (c), dt_gen_call_get_direction (c), dt_gen_call_get_state_reason (c),
               dt_gen_call_get_encrypted (c) ? "srtp" : "rtp", dt_gen_call_get_remote_uri (c));
    }
  return DTCTL_EXIT_OK;
}

int
dtctl_cmd_wait (DtCtl              *ctl,
                const DtCtlCommand *command,
                int                 argc,
                char              **argv)
{
  g_autofree char *state = NULL;
  double timeout = 30;
  GOptionEntry entries[] = {
    { "state", 's', 0, G_OPTION_ARG_STRING, &state, "State to wait for (default: active)", "STATE" },
    { "timeout", 't', 0, G_OPTION_ARG_DOUBLE, &timeout, "Give up after this long (default 30)", "SECONDS" },
    { NULL }
  };
  g_autoptr(DtGenCall) call = NULL;
  int status;

  if (!dtctl_parse_options (ctl, command, entries, &argc, &argv, 0, 1, &status) ||
      (status = dtctl_check_timeout (timeout)) != DTCTL_EXIT_OK ||
      (status = dtctl_connect (ctl)) != DTCTL_EXIT_OK ||
      (call = dtctl_resolve_call (ctl, argc > 1 ? argv[1] : NULL, going_on, &status)) == NULL)
    return status;
  return wait_for_state (call, state ? state : "active", timeout);
}

/* Statistics has no change signal: the proxy's cached value is whatever
 * the object manager's snapshot held, so it is read afresh. */
static GVariant *
read_statistics (DtCtl      *ctl,
                 DtGenCall  *call,
                 GError    **error)
{
  g_autoptr(GVariant) reply = NULL;
  GVariant *value = NULL;

  reply = g_dbus_connection_call_sync (ctl->connection, g_dbus_proxy_get_name (G_DBUS_PROXY (call)),
                                       g_dbus_proxy_get_object_path (G_DBUS_PROXY (call)),
                                       "org.freedesktop.DBus.Properties", "Get",
                                       g_variant_new ("(ss)", "org.dialtone.Phone1.Call", "Statistics"),
                                       G_VARIANT_TYPE ("(v)"), G_DBUS_CALL_FLAGS_NONE, -1, NULL, error);
  if (reply == NULL)
    return NULL;
  g_variant_get (reply, "(v)", &value);
  return value;
}

int
dtctl_cmd_stats (DtCtl              *ctl,
                 const DtCtlCommand *command,
                 int                 argc,
                 char              **argv)
{
  static const char * const order[] = {
    "packets-sent", "packets-received", "packets-lost", "packets-late", "jitter-ms", "rtt-ms", NULL
  };
  g_autoptr(DtGenCall) call = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) stats = NULL;
  const char *path;
  guint64 received = 0, lost = 0;
  int status;

  if (!dtctl_parse_options (ctl, command, NULL, &argc, &argv, 0, 1, &status) ||
      (status = dtctl_connect (ctl)) != DTCTL_EXIT_OK ||
      (call = dtctl_resolve_call (ctl, argc > 1 ? argv[1] : NULL, going_on, &status)) == NULL)
    return status;
  if ((stats = read_statistics (ctl, call, &error)) == NULL)
    return dtctl_fail (ctl, error);
  path = g_dbus_proxy_get_object_path (G_DBUS_PROXY (call));

  if (ctl->json)
    {
      g_autoptr(JsonBuilder) b = json_builder_new ();
      g_autoptr(JsonNode) root = NULL;
      GVariantIter iter;
      const char *key;
      GVariant *value;

      json_builder_begin_object (b);
      json_builder_set_member_name (b, "path");
      json_builder_add_string_value (b, path);
      json_builder_set_member_name (b, "index");
      json_builder_add_int_value (b, dtctl_path_index (path));
      g_variant_iter_init (&iter, stats);
      while (g_variant_iter_next (&iter, "{&sv}", &key, &value))
        {
          json_builder_set_member_name (b, key);
          json_builder_add_value (b, json_gvariant_serialize (value));
          g_variant_unref (value);
        }
      json_builder_end_object (b);
      root = json_builder_get_root (b);
      return dtctl_print_json (root);
    }

  if (g_variant_n_children (stats) == 0)
    {
      g_print ("No audio is running in call %u.\n", dtctl_path_index (path));
      return DTCTL_EXIT_OK;
    }
  g_variant_lookup (stats, "packets-received", "t", &received);
  g_variant_lookup (stats, "packets-lost", "t", &lost);
  for (guint i = 0; order[i] != NULL; i++)
    {
      g_autoptr(GVariant) value = g_variant_lookup_value (stats, order[i], NULL);

      if (value == NULL)
        continue;
      if (g_variant_is_of_type (value, G_VARIANT_TYPE_DOUBLE))
        g_print ("%-18s %.2f\n", order[i], g_variant_get_double (value));
      else if (g_str_equal (order[i], "packets-lost") && received + lost > 0)
        g_print ("%-18s %" G_GUINT64_FORMAT " (%.2f %% of the received audio)\n", order[i], lost,
                 100.0 * (double) lost / (double) (received + lost));
      else
        {
          g_autofree char *text = dtctl_variant_to_text (value);
          g_print ("%-18s %s\n", order[i], text);
        }
    }
  return DTCTL_EXIT_OK;
}
