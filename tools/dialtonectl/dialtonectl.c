#include <locale.h>
#include <stdio.h>

#include "dt-build-config.h"
#include "dtctl.h"

/* Every command, in the order --help lists them. A command is a group (the
 * kind of object it acts on) and a verb, as in nmcli and wpctl. */
static const DtCtlCommand commands[] = {
  { NULL, "status", "", "Show the daemon's version, log level, accounts and calls",
    dtctl_cmd_status },
  { NULL, "log-level", " [LEVEL]",
    "Show the daemon's log level, or set it to error, critical, warning, message, info or debug",
    dtctl_cmd_log_level },
  { NULL, "monitor", "", "Print every change (objects added and removed, properties, signals)",
    dtctl_cmd_monitor },
  { NULL, "call", " URI [--account ACCOUNT] [--wait]", "Call a SIP URI, user or number; print the call's path",
    dtctl_cmd_call },
  { NULL, "answer", " [CALL] [--hold-others]", "Answer an incoming call (the ringing one if there is one)",
    dtctl_cmd_answer },
  { NULL, "reject", " [CALL] [--status CODE]", "Refuse an incoming call (486 Busy Here by default)",
    dtctl_cmd_reject },
  { NULL, "transfer", " CALL (URI|--to-call OTHER) [--wait] [--timeout SECONDS]",
    "Transfer a call to a URI (blind) or to another call's party (attended)", dtctl_cmd_transfer },
  { NULL, "hangup", " [CALL|--all]", "End a call (the only one going on), or every call", dtctl_cmd_hangup },
  { NULL, "calls", "", "List the calls", dtctl_cmd_calls },
  { NULL, "wait", " [CALL] [--state STATE] [--timeout SECONDS]",
    "Wait until a call reaches a state (default: active); exit 1 if it ends first", dtctl_cmd_wait },
  { NULL, "stats", " [CALL]", "Show a call's RTP counters: packets sent, received, lost, late; jitter, RTT",
    dtctl_cmd_stats },
  { NULL, "hold", " [CALL]", "Put a call on hold", dtctl_cmd_hold },
  { NULL, "resume", " [CALL]", "Take a call off hold", dtctl_cmd_resume },
  { NULL, "mute", " [CALL]", "Stop sending our audio (silence is sent)", dtctl_cmd_mute },
  { NULL, "unmute", " [CALL]", "Send our audio again", dtctl_cmd_unmute },
  { NULL, "dtmf", " [CALL] DIGITS", "Send DTMF digits (0-9 * # A-D, ',' pauses 0.5 s)", dtctl_cmd_dtmf },
  { NULL, "wait-dtmf", " [CALL] [--count N] [--terminator D] [--timeout S]",
    "Wait for DTMF digits from the far end and print them", dtctl_cmd_wait_dtmf },
  { NULL, "play", " [CALL] FILE [--loop] [--mix] [--wait]", "Play a WAV file into a call",
    dtctl_cmd_play },
  { NULL, "stop-playback", " [CALL]", "Stop the file being played", dtctl_cmd_stop_playback },
  { NULL, "record", " [CALL] FILE [--format wav|ogg] [--split]", "Record both sides of a call to a file",
    dtctl_cmd_record },
  { NULL, "stop-recording", " [CALL]", "Stop recording a call", dtctl_cmd_stop_recording },
  { NULL, "conference", " CALL CALL…", "Join answered calls in a local conference; print its id",
    dtctl_cmd_conference },
  { NULL, "leave-conference", " [CALL]", "Take a call out of its conference", dtctl_cmd_leave_conference },
  { NULL, "history", " [--limit N] [--missed] [--unseen] [--account ID]", "Show the call history, newest first",
    dtctl_cmd_history },
  { "history", "clear", " [--missed] [--account ID]", "Delete history entries (calls going on are kept)",
    dtctl_cmd_history_clear },
  { "history", "delete", " ID…", "Delete history entries by id", dtctl_cmd_history_delete },
  { "history", "seen", " ID…", "Mark history entries as seen", dtctl_cmd_history_seen },
  { "account", "list", "", "List the accounts (* marks the default)", dtctl_cmd_account_list },
  { "account", "show", " ACCOUNT", "Show an account's state and settings", dtctl_cmd_account_show },
  { "account", "add", " ID --address URI [OPTION…]", "Add an account and start registering it",
    dtctl_cmd_account_add },
  { "account", "set", " ACCOUNT KEY=VALUE…", "Change settings (an empty VALUE unsets)",
    dtctl_cmd_account_set },
  { "account", "password", " ACCOUNT", "Set the password, read from standard input or a prompt",
    dtctl_cmd_account_password },
  { "account", "enable", " ACCOUNT", "Enable the account (it registers)", dtctl_cmd_account_enable },
  { "account", "disable", " ACCOUNT", "Disable the account (it unregisters)",
    dtctl_cmd_account_disable },
  { "account", "register", " ACCOUNT", "Register now, resetting any retry backoff",
    dtctl_cmd_account_register },
  { "account", "unregister", " ACCOUNT", "Unregister and stay unregistered",
    dtctl_cmd_account_unregister },
  { "account", "remove", " ACCOUNT", "Unregister and delete the account", dtctl_cmd_account_remove },
  { "account", "default", " [ACCOUNT|none]", "Show or set the default account",
    dtctl_cmd_account_default },
  { "account", "wait", " ACCOUNT [--state STATE] [--timeout SECONDS]",
    "Wait until the account reaches a state (default: registered)", dtctl_cmd_account_wait },
};

static void
print_entry (FILE       *out,
             const char *name,
             const char *summary)
{
  /* Long synopses get the summary on a line of its own. */
  if (g_utf8_strlen (name, -1) > 28)
    fprintf (out, "  %s\n  %-28s %s\n", name, "", summary);
  else
    fprintf (out, "  %s%*s %s\n", name, 28 - (int) g_utf8_strlen (name, -1), "", summary);
}

static void
print_help (FILE *out)
{
  fprintf (out,
           "Usage: dialtonectl [--session|--system] [--json] COMMAND [ARGS…]\n"
           "\n"
           "Control dialtoned, the Dialtone SIP phone daemon, over D-Bus.\n"
           "\n"
           "Options:\n"
           "  -h, --help       Show this help (COMMAND --help shows a command's own)\n"
           "  -V, --version    Print the version\n"
           "      --session    Talk to the daemon on the session bus (the default)\n"
           "      --system     Talk to the daemon on the system bus\n"
           "  -j, --json       Print JSON instead of text\n"
           "\n"
           "Commands:\n");
  for (guint i = 0; i < G_N_ELEMENTS (commands); i++)
    {
      g_autofree char *name = commands[i].group
        ? g_strdup_printf ("%s %s%s", commands[i].group, commands[i].verb, commands[i].params)
        : g_strdup_printf ("%s%s", commands[i].verb, commands[i].params);
      print_entry (out, name, commands[i].summary);
    }
  fprintf (out,
           "\n"
           "Objects are named by index (0), by id (work) or by D-Bus path.\n"
           "Exit status: 0 success, 1 the daemon refused or failed, 2 bad usage,\n"
           "3 no such object, 4 no bus or no daemon. See dialtonectl(1).\n");
}

static const DtCtlCommand *
find_command (int    argc,
              char **argv,
              int   *consumed)
{
  /* "history clear" before "history": a group's verbs win over a
   * top-level command of the same name. */
  for (guint i = 0; i < G_N_ELEMENTS (commands); i++)
    {
      const DtCtlCommand *c = &commands[i];

      if (c->group != NULL && argc >= 2 && g_str_equal (argv[0], c->group) &&
          g_str_equal (argv[1], c->verb))
        {
          *consumed = 2;
          return c;
        }
    }
  for (guint i = 0; i < G_N_ELEMENTS (commands); i++)
    if (commands[i].group == NULL && g_str_equal (argv[0], commands[i].verb))
      {
        *consumed = 1;
        return &commands[i];
      }
  return NULL;
}

static gboolean
is_group (const char *word)
{
  for (guint i = 0; i < G_N_ELEMENTS (commands); i++)
    if (commands[i].group != NULL && g_str_equal (commands[i].group, word))
      return TRUE;
  return FALSE;
}

static int
print_group_help (const char *group,
                  FILE       *out)
{
  fprintf (out, "Usage: dialtonectl %s VERB [ARGS…]\n\nVerbs:\n", group);
  for (guint i = 0; i < G_N_ELEMENTS (commands); i++)
    if (commands[i].group != NULL && g_str_equal (commands[i].group, group))
      {
        g_autofree char *name = g_strdup_printf ("%s%s", commands[i].verb, commands[i].params);
        print_entry (out, name, commands[i].summary);
      }
  fprintf (out, "\n'dialtonectl %s VERB --help' shows a verb's options.\n", group);
  return DTCTL_EXIT_OK;
}

int
main (int   argc,
      char *argv[])
{
  DtCtl ctl = { .bus_type = G_BUS_TYPE_SESSION };
  gboolean use_system = FALSE, use_session = FALSE, version = FALSE, help = FALSE;
  const GOptionEntry entries[] = {
    { "session", 0, 0, G_OPTION_ARG_NONE, &use_session, NULL, NULL },
    { "system", 0, 0, G_OPTION_ARG_NONE, &use_system, NULL, NULL },
    { "json", 'j', 0, G_OPTION_ARG_NONE, &ctl.json, NULL, NULL },
    { "version", 'V', 0, G_OPTION_ARG_NONE, &version, NULL, NULL },
    { "help", 'h', 0, G_OPTION_ARG_NONE, &help, NULL, NULL },
    { NULL }
  };
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(GError) error = NULL;
  const DtCtlCommand *command;
  int consumed = 0, status;
  char **cmd_argv;
  g_autofree char *cmd_name = NULL;

  setlocale (LC_ALL, "");
  g_set_prgname ("dialtonectl");

  /* Global options stop at the first word: what follows belongs to the
   * command, which parses its own options (and its own --help). */
  context = g_option_context_new (NULL);
  g_option_context_set_help_enabled (context, FALSE);
  g_option_context_set_strict_posix (context, TRUE);
  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    return dtctl_fail_message (DTCTL_EXIT_USAGE, "%s\nTry 'dialtonectl --help'.", error->message);

  if (version)
    {
      g_print ("dialtonectl %s\n", DT_VERSION);
      return DTCTL_EXIT_OK;
    }
  if (help || (argc >= 2 && g_str_equal (argv[1], "help") && argc == 2))
    {
      print_help (stdout);
      return DTCTL_EXIT_OK;
    }
  if (argc < 2)
    {
      print_help (stderr);
      return DTCTL_EXIT_USAGE;
    }
  if (use_session && use_system)
    return dtctl_fail_message (DTCTL_EXIT_USAGE, "--session and --system are mutually exclusive");
  if (use_system)
    ctl.bus_type = G_BUS_TYPE_SYSTEM;

  /* "dialtonectl help account" is "dialtonectl account --help". */
  if (g_str_equal (argv[1], "help"))
    {
      argv++;
      argc--;
    }

  command = find_command (argc - 1, argv + 1, &consumed);
  if (command == NULL)
    {
      if (is_group (argv[1]) && (argc == 2 || g_str_equal (argv[2], "--help") ||
                                 g_str_equal (argv[2], "-h")))
        return print_group_help (argv[1], stdout);
      if (is_group (argv[1]))
        return dtctl_fail_message (DTCTL_EXIT_USAGE, "unknown verb '%s %s'\nTry 'dialtonectl %s --help'.",
                                   argv[1], argv[2], argv[1]);
      return dtctl_fail_message (DTCTL_EXIT_USAGE, "unknown command '%s'\nTry 'dialtonectl --help'.",
                                 argv[1]);
    }

  /* Hand the command an argv whose [0] is its full name, so GOptionContext
   * prints "dialtonectl account add" in usage lines. */
  cmd_name = command->group ? g_strdup_printf ("dialtonectl %s %s", command->group, command->verb)
                            : g_strdup_printf ("dialtonectl %s", command->verb);
  cmd_argv = argv + consumed;
  cmd_argv[0] = cmd_name;
  status = command->run (&ctl, command, argc - consumed, cmd_argv);

  g_clear_object (&ctl.objects);
  g_clear_object (&ctl.manager);
  g_clear_object (&ctl.connection);
  return status;
}
