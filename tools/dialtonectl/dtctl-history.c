#include "dtctl.h"

#include <stdio.h>

static GVariant *
make_filter (DtCtl      *ctl,
             gboolean    missed,
             gboolean    unseen,
             const char *account)
{
  GVariantBuilder b;

  g_variant_builder_init (&b, G_VARIANT_TYPE_VARDICT);
  if (missed)
    g_variant_builder_add (&b, "{sv}", "missed", g_variant_new_boolean (TRUE));
  if (unseen)
    g_variant_builder_add (&b, "{sv}", "unseen", g_variant_new_boolean (TRUE));
  if (account)
    g_variant_builder_add (&b, "{sv}", "account", g_variant_new_string (account));
  return g_variant_builder_end (&b);
}

static GVariant *
call_history (DtCtl       *ctl,
              const char  *method,
              GVariant    *args,
              const char  *reply,
              GError     **error)
{
  return g_dbus_connection_call_sync (ctl->connection, "org.dialtone.Phone1", "/org/dialtone/Phone1",
                                      "org.dialtone.Phone1.History", method, args,
                                      G_VARIANT_TYPE (reply), G_DBUS_CALL_FLAGS_NONE, -1, NULL, error);
}

static char *
format_time (guint64 usec)
{
  g_autoptr(GDateTime) t = usec ? g_date_time_new_from_unix_local ((gint64) (usec / G_USEC_PER_SEC)) : NULL;

  return t ? g_date_time_format (t, "%Y-%m-%d %H:%M:%S") : g_strdup ("-");
}

int
dtctl_cmd_history (DtCtl              *ctl,
                   const DtCtlCommand *command,
                   int                 argc,
                   char              **argv)
{
  int limit = 20;
  gboolean missed = FALSE, unseen = FALSE;
  g_autofree char *account = NULL;
  GOptionEntry entries[] = {
    { "limit", 'n', 0, G_OPTION_ARG_INT, &limit, "Show at most this many calls (default 20, 0 for all)", "N" },
    { "missed", 'm', 0, G_OPTION_ARG_NONE, &missed, "Only missed calls", NULL },
    { "unseen", 'u', 0, G_OPTION_ARG_NONE, &unseen, "Only calls not marked seen", NULL },
    { "account", 'a', 0, G_OPTION_ARG_STRING, &account, "Only this account's calls (its id)", "ID" },
    { NULL }
  };
  g_autoptr(GVariant) reply = NULL;
  g_autoptr(GVariant) calls = NULL;
  g_autoptr(GError) error = NULL;
  GVariantIter iter;
  GVariant *entry;
  int status;

  if (!dtctl_parse_options (ctl, command, entries, &argc, &argv, 0, 0, &status) ||
      (status = dtctl_connect (ctl)) != DTCTL_EXIT_OK)
    return status;
  if (limit < 0)
    return dtctl_fail_message (DTCTL_EXIT_USAGE, "--limit: %d is negative", limit);

  reply = call_history (ctl, "ListCalls",
                        g_variant_new ("(@a{sv}uu)", make_filter (ctl, missed, unseen, account), 0, (guint) limit),
                        "(aa{sv})", &error);
  if (reply == NULL)
    return dtctl_fail (ctl, error);
  calls = g_variant_get_child_value (reply, 0);

  if (ctl->json)
    {
      g_autoptr(JsonNode) node = json_gvariant_serialize (calls);
      return dtctl_print_json (node);
    }
  if (g_variant_n_children (calls) == 0)
    {
      g_print ("No calls.\n");
      return DTCTL_EXIT_OK;
    }
  g_print ("%-6s %-19s %-3s %-8s %-14s %-8s %s\n", "ID", "STARTED", "DIR", "DURATION", "END", "ACCOUNT", "REMOTE");
  g_variant_iter_init (&iter, calls);
  while ((entry = g_variant_iter_next_value (&iter)) != NULL)
    {
      guint64 id = 0, created = 0, duration = 0;
      const char *direction = "", *reason = "", *remote = "", *acct = "";
      gboolean is_missed = FALSE;
      g_autofree char *when = NULL;
      g_autofree char *length = NULL;

      g_variant_lookup (entry, "id", "t", &id);
      g_variant_lookup (entry, "created-usec", "t", &created);
      g_variant_lookup (entry, "duration-usec", "t", &duration);
      g_variant_lookup (entry, "direction", "&s", &direction);
      g_variant_lookup (entry, "state-reason", "&s", &reason);
      g_variant_lookup (entry, "remote-uri", "&s", &remote);
      g_variant_lookup (entry, "account", "&s", &acct);
      g_variant_lookup (entry, "missed", "b", &is_missed);
      when = format_time (created);
      length = duration ? g_strdup_printf ("%" G_GUINT64_FORMAT ":%02" G_GUINT64_FORMAT,
                                           duration / G_USEC_PER_SEC / 60, duration / G_USEC_PER_SEC % 60)
                        : g_strdup ("-");
      g_print ("%-6" G_GUINT64_FORMAT " %-19s %-3s %-8s %-14s %-8s %s\n", id, when,
               g_str_equal (direction, "incoming") ? (is_missed ? "in!" : "in") : "out",
               length, reason, acct, remote);
      g_variant_unref (entry);
    }
  return DTCTL_EXIT_OK;
}

int
dtctl_cmd_history_clear (DtCtl              *ctl,
                         const DtCtlCommand *command,
                         int                 argc,
                         char              **argv)
{
  gboolean missed = FALSE;
  g_autofree char *account = NULL;
  GOptionEntry entries[] = {
    { "missed", 'm', 0, G_OPTION_ARG_NONE, &missed, "Only missed calls", NULL },
    { "account", 'a', 0, G_OPTION_ARG_STRING, &account, "Only this account's calls (its id)", "ID" },
    { NULL }
  };
  g_autoptr(GVariant) reply = NULL;
  g_autoptr(GError) error = NULL;
  guint deleted = 0;
  int status;

  if (!dtctl_parse_options (ctl, command, entries, &argc, &argv, 0, 0, &status) ||
      (status = dtctl_connect (ctl)) != DTCTL_EXIT_OK)
    return status;
  reply = call_history (ctl, "Clear", g_variant_new ("(@a{sv})", make_filter (ctl, missed, FALSE, account)),
                        "(u)", &error);
  if (reply == NULL)
    return dtctl_fail (ctl, error);
  g_variant_get (reply, "(u)", &deleted);
  if (!ctl->json)
    g_print ("%u call(s) deleted\n", deleted);
  return DTCTL_EXIT_OK;
}

static int
on_ids (DtCtl              *ctl,
        const DtCtlCommand *command,
        int                 argc,
        char              **argv,
        const char         *method,
        const char         *done)
{
  g_autoptr(GVariant) reply = NULL;
  g_autoptr(GError) error = NULL;
  GVariantBuilder ids;
  guint changed = 0;
  int status;

  if (!dtctl_parse_options (ctl, command, NULL, &argc, &argv, 1, G_MAXINT, &status) ||
      (status = dtctl_connect (ctl)) != DTCTL_EXIT_OK)
    return status;
  g_variant_builder_init (&ids, G_VARIANT_TYPE ("at"));
  for (int i = 1; i < argc; i++)
    {
      guint64 id;
      if (!g_ascii_string_to_unsigned (argv[i], 10, 1, G_MAXINT64, &id, NULL))
        {
          g_variant_builder_clear (&ids);
          return dtctl_fail_message (DTCTL_EXIT_USAGE, "'%s' is not a history id", argv[i]);
        }
      g_variant_builder_add (&ids, "t", id);
    }
  reply = call_history (ctl, method, g_variant_new ("(@at)", g_variant_builder_end (&ids)), "(u)", &error);
  if (reply == NULL)
    return dtctl_fail (ctl, error);
  g_variant_get (reply, "(u)", &changed);
  if (!ctl->json)
    g_print ("%u call(s) %s\n", changed, done);
  return DTCTL_EXIT_OK;
}

int
dtctl_cmd_history_delete (DtCtl *ctl, const DtCtlCommand *command, int argc, char **argv)
{
  return on_ids (ctl, command, argc, argv, "Delete", "deleted");
}

int
dtctl_cmd_history_seen (DtCtl *ctl, const DtCtlCommand *command, int argc, char **argv)
{
  return on_ids (ctl, command, argc, argv, "MarkSeen", "marked seen");
}
