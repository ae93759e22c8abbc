#include <locale.h>
#include <stdio.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sysexits.h>

#include <gio/gio.h>

#include "dt-build-config.h"
#include "dt-daemon.h"
#include "sip/dt-sip-backend.h"

static char *
default_dir (const char *env_name,
             const char *user_base,
             const char *system_base,
             GBusType    bus_type)
{
  const char *from_env = g_getenv (env_name);

  if (from_env != NULL && *from_env != '\0')
    return g_strdup (from_env);
  if (bus_type == G_BUS_TYPE_SYSTEM)
    return g_build_filename (system_base, "dialtone", NULL);
  return g_build_filename (user_base, "dialtone", NULL);
}

/* Each call holds about a dozen descriptors (its RTP and RTCP sockets,
 * GStreamer's wakeup fds): the usual soft limit of 1024 would turn calls
 * away well before the CPU runs out. The hard limit is ours to take, as
 * systemd intends (its soft limit is kept low only for select() users;
 * Sofia-SIP and GLib poll). */
static void
raise_fd_limit (void)
{
  struct rlimit limit;

  if (getrlimit (RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur >= limit.rlim_max)
    return;
  limit.rlim_cur = limit.rlim_max;
  if (setrlimit (RLIMIT_NOFILE, &limit) != 0)
    g_debug ("Cannot raise the open file limit to %llu", (unsigned long long) limit.rlim_max);
}

int
main (int   argc,
      char *argv[])
{
  /* Owned here, for the whole process: GLib's log writer is installed once
   * and may be called until exit. */
  DtLogFilter log_filter = { .level = DT_LOG_LEVEL_MESSAGE };
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(DtDaemon) daemon = NULL;
  g_autofree char *config_dir = NULL;
  g_autofree char *data_dir = NULL;
  g_autofree char *log_level = NULL;
  gboolean version = FALSE, use_session = FALSE, use_system = FALSE, replace = FALSE;
  DtDaemonOptions options = { 0 };
  const GOptionEntry entries[] = {
    { "version", 'V', 0, G_OPTION_ARG_NONE, &version, "Print the version and exit", NULL },
    { "session", 0, 0, G_OPTION_ARG_NONE, &use_session, "Use the session bus (the default)", NULL },
    { "system", 0, 0, G_OPTION_ARG_NONE, &use_system, "Use the system bus (appliance mode)", NULL },
    { "config-dir", 'c', 0, G_OPTION_ARG_FILENAME, &config_dir,
      "Configuration folder (default: $DIALTONE_CONFIG_DIR, else $XDG_CONFIG_HOME/dialtone)", "DIR" },
    { "data-dir", 'd', 0, G_OPTION_ARG_FILENAME, &data_dir,
      "Data folder (default: $DIALTONE_DATA_DIR, else $XDG_DATA_HOME/dialtone)", "DIR" },
    { "log-level", 'l', 0, G_OPTION_ARG_STRING, &log_level,
      "error, critical, warning, message, info or debug (default: from dialtoned.conf, else message)",
      "LEVEL" },
    { "replace", 'r', 0, G_OPTION_ARG_NONE, &replace,
      "Take over the bus name from a running dialtoned", NULL },
    { NULL }
  };

  dt_sip_backend_prepare_process ();
  raise_fd_limit ();
  setlocale (LC_ALL, "");
  /* Account files, the database and recordings hold private data. */
  umask (0077);
  g_log_writer_default_set_use_stderr (TRUE);
  g_log_set_writer_func (dt_log_filter_write, &log_filter, NULL);
  g_set_prgname ("dialtoned");

  context = g_option_context_new (NULL);
  g_option_context_set_summary (context, "Dialtone: a headless SIP phone on D-Bus.");
  g_option_context_set_description (context,
    "dialtoned owns org.dialtone.Phone1 on the chosen bus and is driven with\n"
    "dialtonectl(1) or any D-Bus client. It exits 0 on SIGTERM or SIGINT.\n\n"
    "Exit status: 0 clean exit, 1 runtime failure (bus name taken),\n"
    "64 bad option, 65 damaged or too-new database, 69 bus unavailable,\n"
    "73 cannot create a folder, 74 cannot open the database, 78 bad configuration.\n\n"
    "See dialtoned(8) and dialtoned.conf(5).");
  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      g_printerr ("dialtoned: %s\nTry 'dialtoned --help'.\n", error->message);
      return EX_USAGE;
    }
  if (argc > 1)
    {
      g_printerr ("dialtoned: unexpected argument '%s'\nTry 'dialtoned --help'.\n", argv[1]);
      return EX_USAGE;
    }
  if (version)
    {
      g_print ("dialtoned %s\n", DT_VERSION);
      return EXIT_SUCCESS;
    }
  if (use_session && use_system)
    {
      g_printerr ("dialtoned: --session and --system are mutually exclusive\n");
      return EX_USAGE;
    }

  options.bus_type = use_system ? G_BUS_TYPE_SYSTEM : G_BUS_TYPE_SESSION;
  options.config_dir = config_dir ? g_steal_pointer (&config_dir)
                                  : default_dir ("DIALTONE_CONFIG_DIR", g_get_user_config_dir (),
                                                 DT_SYSCONFDIR, options.bus_type);
  options.data_dir = data_dir ? g_steal_pointer (&data_dir)
                              : default_dir ("DIALTONE_DATA_DIR", g_get_user_data_dir (),
                                             DT_LOCALSTATEDIR "/lib", options.bus_type);
  options.replace = replace;
  options.log_level = log_level;

  daemon = dt_daemon_new (&options, &log_filter);
  g_free (options.config_dir);
  g_free (options.data_dir);
  return dt_daemon_run (daemon);
}
