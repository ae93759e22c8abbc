#pragma once

#include <gio/gio.h>
#include <json-glib/json-glib.h>

#include "dt-generated.h"

G_BEGIN_DECLS

/* Exit status of every command, documented in dialtonectl(1). */
enum {
  DTCTL_EXIT_OK        = 0,
  DTCTL_EXIT_FAILED    = 1,  /* the daemon refused or failed (named D-Bus error) */
  DTCTL_EXIT_USAGE     = 2,  /* bad command line */
  DTCTL_EXIT_NOT_FOUND = 3,  /* no such account, call or other object */
  DTCTL_EXIT_NO_DAEMON = 4,  /* no bus, or no dialtoned on it */
};

typedef struct {
  GBusType          bus_type;
  gboolean          json;
  GDBusConnection  *connection;
  DtGenManager     *manager;
  GDBusObjectManager *objects;
} DtCtl;

typedef struct _DtCtlCommand DtCtlCommand;

struct _DtCtlCommand {
  const char *group;    /* "account", "call"; NULL for a top-level verb */
  const char *verb;
  const char *params;   /* shown after the command in help */
  const char *summary;
  int       (*run)     (DtCtl              *ctl,
                        const DtCtlCommand *command,
                        int                 argc,
                        char              **argv);
};

/* Per-command option parsing: adds --json and --help, prints usage errors
 * and returns FALSE with *status set when the command should stop. */
gboolean      dtctl_parse_options (DtCtl              *ctl,
                                   const DtCtlCommand *command,
                                   GOptionEntry       *entries,
                                   int                *argc,
                                   char             ***argv,
                                   int                 min_args,
                                   int                 max_args,
                                   int                *status);

int           dtctl_connect       (DtCtl              *ctl);
int           dtctl_fail          (DtCtl              *ctl,
                                   const GError       *error);
int           dtctl_fail_message  (int                 status,
                                   const char         *format,
                                   ...) G_GNUC_PRINTF (2, 3);
int           dtctl_check_timeout (double              seconds);
const char   *dtctl_bus_name      (DtCtl              *ctl);
int           dtctl_print_json    (JsonNode           *node);

/* Objects: "0" (index), "work" (an account's Id) or a full D-Bus path.
 * Prints "no account 'x'" and returns NULL (status DTCTL_EXIT_NOT_FOUND)
 * when nothing matches. */
DtGenAccount *dtctl_resolve_account (DtCtl      *ctl,
                                     const char *spec,
                                     int        *status);
GList        *dtctl_list_accounts   (DtCtl      *ctl);  /* DtGenAccount, sorted by path index */
GList        *dtctl_list_calls      (DtCtl      *ctl);  /* DtGenCall, sorted by path index */
/* A call by index or path; with no spec, the only call matching @states
 * (NULL-terminated), so "answer" needs no argument while one call rings. */
DtGenCall    *dtctl_resolve_call    (DtCtl              *ctl,
                                     const char         *spec,
                                     const char * const *states,
                                     int                *status);
guint         dtctl_path_index      (const char *path);
char         *dtctl_kebab_case      (const char *camel);
JsonNode     *dtctl_proxy_to_json   (GDBusProxy *proxy);
void          dtctl_print_properties (GDBusProxy *proxy);
char         *dtctl_variant_to_text (GVariant   *value);

/* Commands, one function each; the table in dialtonectl.c names them. */
int dtctl_cmd_status    (DtCtl *ctl, const DtCtlCommand *command, int argc, char **argv);
int dtctl_cmd_log_level (DtCtl *ctl, const DtCtlCommand *command, int argc, char **argv);
int dtctl_cmd_monitor   (DtCtl *ctl, const DtCtlCommand *command, int argc, char **argv);
int dtctl_cmd_account_list       (DtCtl *ctl, const DtCtlCommand *command, int argc, char **argv);
int dtctl_cmd_account_show       (DtCtl *ctl, const DtCtlCommand *command, int argc, char **argv);
int dtctl_cmd_account_add        (DtCtl *ctl, const DtCtlCommand *command, int argc, char **argv);
int dtctl_cmd_account_set        (DtCtl *ctl, const DtCtlCommand *command, int argc, char **argv);
int dtctl_cmd_account_password   (DtCtl *ctl, const DtCtlCommand *command, int argc, char **argv);
int dtctl_cmd_account_enable     (DtCtl *ctl, const DtCtlCommand *command, int argc, char **argv);
int dtctl_cmd_account_disable    (DtCtl *ctl, const DtCtlCommand *command, int argc, char **argv);
int dtctl_cmd_account_register   (DtCtl *ctl, const DtCtlCommand *command, int argc, char **argv);
int dtctl_cmd_account_unregister (DtCtl *ctl, const DtCtlCommand *command, int argc, char **argv);
int dtctl_cmd_account_remove     (DtCtl *ctl, const DtCtlCommand *command, int argc, char **argv);
int dtctl_cmd_account_default    (DtCtl *ctl, const DtCtlCommand *command, int argc, char **argv);
int dtctl_cmd_account_wait       (DtCtl *ctl, const DtCtlCommand *command, int argc, char **argv);
int dtctl_cmd_call       (DtCtl *ctl, const DtCtlCommand *command, int argc, char **argv);
int dtctl_cmd_answer     (DtCtl *ctl, const DtCtlCommand *command, int argc, char **argv);
int dtctl_cmd_reject     (DtCtl *ctl, const DtCtlCommand *command, int argc, char **argv);
int dtctl_cmd_hangup     (DtCtl *ctl, const DtCtlCommand *command, int argc, char **argv);
int dtctl_cmd_transfer   (DtCtl *ctl, const DtCtlCommand *command, int argc, char **argv);
int dtctl_cmd_calls      (DtCtl *ctl, const DtCtlCommand *command, int argc, char **argv);
int dtctl_cmd_wait       (DtCtl *ctl, const DtCtlCommand *command, int argc, char **argv);
int dtctl_cmd_stats      (DtCtl *ctl, const DtCtlCommand *command, int argc, char **argv);
int dtctl_cmd_hold            (DtCtl *ctl, const DtCtlCommand *command, int argc, char **argv);
int dtctl_cmd_resume          (DtCtl *ctl, const DtCtlCommand *command, int argc, char **argv);
int dtctl_cmd_mute            (DtCtl *ctl, const DtCtlCommand *command, int argc, char **argv);
int dtctl_cmd_unmute          (DtCtl *ctl, const DtCtlCommand *command, int argc, char **argv);
int dtctl_cmd_dtmf            (DtCtl *ctl, const DtCtlCommand *command, int argc, char **argv);
int dtctl_cmd_wait_dtmf       (DtCtl *ctl, const DtCtlCommand *command, int argc, char **argv);
int dtctl_cmd_play            (DtCtl *ctl, const DtCtlCommand *command, int argc, char **argv);
int dtctl_cmd_stop_playback   (DtCtl *ctl, const DtCtlCommand *command, int argc, char **argv);
int dtctl_cmd_record          (DtCtl *ctl, const DtCtlCommand *command, int argc, char **argv);
int dtctl_cmd_stop_recording  (DtCtl *ctl, const DtCtlCommand *command, int argc, char **argv);
int dtctl_cmd_conference      (DtCtl *ctl, const DtCtlCommand *command, int argc, char **argv);
int dtctl_cmd_leave_conference (DtCtl *ctl, const DtCtlCommand *command, int argc, char **argv);
int dtctl_play_and_wait       (DtCtl *ctl, DtGenCall *call, const char *path, GVariant *options);
int dtctl_cmd_history        (DtCtl *ctl, const DtCtlCommand *command, int argc, char **argv);
int dtctl_cmd_history_clear  (DtCtl *ctl, const DtCtlCommand *command, int argc, char **argv);
int dtctl_cmd_history_delete (DtCtl *ctl, const DtCtlCommand *command, int argc, char **argv);
int dtctl_cmd_history_seen   (DtCtl *ctl, const DtCtlCommand *command, int argc, char **argv);

G_END_DECLS
