#include "dtctl.h"

#include <stdio.h>
#include <string.h>

/* Verbs that act on an answered call: hold, mute, DTMF, files. With no
 * CALL they act on the only answered call. */

static const char * const answered[] = { "active", "held", "remote-held", NULL };

/* "VERB [CALL] ARG": the last argument is the verb's own, the one before
 * it (if any) names the call. */
static DtGenCall *
call_and_argument (DtCtl       *ctl,
                   int          argc,
                   char       **argv,
                   const char **argument,
                   int         *status)
{
  *argument = argv[argc - 1];
  return dtctl_resolve_call (ctl, argc > 2 ? argv[1] : NULL, answered, status);
}

/* @error is read only after @ok has been computed (argument order is
 * unspecified in C, so callers pass its address). */
static int
finish (DtCtl    *ctl,
        gboolean  ok,
        GError  **error)
{
  return ok ? DTCTL_EXIT_OK : dtctl_fail (ctl, *error);
}

typedef gboolean (*CallMethod) (DtGenCall     *call,
                                GCancellable  *cancellable,
                                GError       **error);

/* "VERB [CALL]" for a method without arguments. */
static int
call_verb (DtCtl              *ctl,
           const DtCtlCommand *command,
           int                 argc,
           char              **argv,
           CallMethod          method)
{
  g_autoptr(DtGenCall) call = NULL;
  g_autoptr(GError) error = NULL;
  int status;

  if (!dtctl_parse_options (ctl, command, NULL, &argc, &argv, 0, 1, &status) ||
      (status = dtctl_connect (ctl)) != DTCTL_EXIT_OK ||
      (call = dtctl_resolve_call (ctl, argc > 1 ? argv[1] : NULL, answered, &status)) == NULL)
    return status;
  return finish (ctl, method (call, NULL, &error), &error);
}

int
dtctl_cmd_hold (DtCtl *ctl, const DtCtlCommand *command, int argc, char **argv)
{
  return call_verb (ctl, command, argc, argv, dt_gen_call_call_hold_sync);
}

int
dtctl_cmd_resume (DtCtl *ctl, const DtCtlCommand *command, int argc, char **argv)
{
  return call_verb (ctl, command, argc, argv, dt_gen_call_call_resume_sync);
}

static int
set_muted (DtCtl *ctl, const DtCtlCommand *command, int argc, char **argv, gboolean muted)
{
  g_autoptr(DtGenCall) call = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) reply = NULL;
  int status;

  if (!dtctl_parse_options (ctl, command, NULL, &argc, &argv, 0, 1, &status) ||
      (status = dtctl_connect (ctl)) != DTCTL_EXIT_OK ||
      (call = dtctl_resolve_call (ctl, argc > 1 ? argv[1] : NULL, answered, &status)) == NULL)
    return status;
  /* Through Properties.Set, so the daemon's refusal comes back as an error. */
  reply = g_dbus_connection_call_sync (ctl->connection, g_dbus_proxy_get_name (G_DBUS_PROXY (call)),
                                       g_dbus_proxy_get_object_path (G_DBUS_PROXY (call)),
                                       "org.freedesktop.DBus.Properties", "Set",
                                       g_variant_new ("(ssv)", "org.dialtone.Phone1.Call", "Muted",
                                                      g_variant_new_boolean (muted)),
                                       NULL, G_DBUS_CALL_FLAGS_NONE, -1, NULL, &error);
  return finish (ctl, reply != NULL, &error);
}

int
dtctl_cmd_mute (DtCtl *ctl, const DtCtlCommand *command, int argc, char **argv)
{
  return set_muted (ctl, command, argc, argv, TRUE);
}

int
dtctl_cmd_unmute (DtCtl *ctl, const DtCtlCommand *command, int argc, char **argv)
{
  return set_muted (ctl, command, argc, argv, FALSE);
}

int
dtctl_cmd_dtmf (DtCtl *ctl, const DtCtlCommand *command, int argc, char **argv)
{
  g_autoptr(DtGenCall) call = NULL;
  g_autoptr(GError) error = NULL;
  const char *digits;
  int status;

  if (!dtctl_parse_options (ctl, command, NULL, &argc, &argv, 1, 2, &status) ||
      (status = dtctl_connect (ctl)) != DTCTL_EXIT_OK ||
      (call = call_and_argument (ctl, argc, argv, &digits, &status)) == NULL)
    return status;
  return finish (ctl, dt_gen_call_call_send_dtmf_sync (call, digits, NULL, &error), &error);
}

/* A relative path means the caller's folder, not the daemon's. */
static char *
absolute (const char *path)
{
  g_autofree char *cwd = g_get_current_dir ();

  return g_path_is_absolute (path) ? g_strdup (path) : g_build_filename (cwd, path, NULL);
}

int
dtctl_cmd_play (DtCtl *ctl, const DtCtlCommand *command, int argc, char **argv)
{
  gboolean loop = FALSE, mix = FALSE, wait = FALSE;
  GOptionEntry entries[] = {
    { "loop", 'l', 0, G_OPTION_ARG_NONE, &loop, "Play it again and again until stopped", NULL },
    { "mix", 'm', 0, G_OPTION_ARG_NONE, &mix, "Mix it with the audio source instead of replacing it", NULL },
    { "wait", 'w', 0, G_OPTION_ARG_NONE, &wait, "Return when it has finished playing", NULL },
    { NULL }
  };
  g_autoptr(DtGenCall) call = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *path = NULL;
  const char *file;
  GVariantBuilder options;
  int status;

  if (!dtctl_parse_options (ctl, command, entries, &argc, &argv, 1, 2, &status) ||
      (status = dtctl_connect (ctl)) != DTCTL_EXIT_OK ||
      (call = call_and_argument (ctl, argc, argv, &file, &status)) == NULL)
    return status;
  if (wait && loop)
    return dtctl_fail_message (DTCTL_EXIT_USAGE, "play: --wait and --loop exclude each other");
  path = absolute (file);
  g_variant_builder_init (&options, G_VARIANT_TYPE_VARDICT);
  if (loop)
    g_variant_builder_add (&options, "{sv}", "loop", g_variant_new_boolean (TRUE));
  if (mix)
    g_variant_builder_add (&options, "{sv}", "mix", g_variant_new_boolean (TRUE));
  if (!wait)
    return finish (ctl, dt_gen_call_call_play_file_sync (call, path, g_variant_builder_end (&options), NULL,
                                                         &error), &error);
  return dtctl_play_and_wait (ctl, call, path, g_variant_builder_end (&options));
}

int
dtctl_cmd_stop_playback (DtCtl *ctl, const DtCtlCommand *command, int argc, char **argv)
{
  return call_verb (ctl, command, argc, argv, dt_gen_call_call_stop_playback_sync);
}

int
dtctl_cmd_record (DtCtl *ctl, const DtCtlCommand *command, int argc, char **argv)
{
  g_autofree char *format = NULL;
  gboolean split = FALSE;
  GOptionEntry entries[] = {
    { "format", 'f', 0, G_OPTION_ARG_STRING, &format, "wav or ogg (default: from the file name)", "FORMAT" },
    { "split", 's', 0, G_OPTION_ARG_NONE, &split, "Two channels: ours left, theirs right", NULL },
    { NULL }
  };
  g_autoptr(DtGenCall) call = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *path = NULL;
  const char *file;
  GVariantBuilder options;
  int status;

  if (!dtctl_parse_options (ctl, command, entries, &argc, &argv, 1, 2, &status) ||
      (status = dtctl_connect (ctl)) != DTCTL_EXIT_OK ||
      (call = call_and_argument (ctl, argc, argv, &file, &status)) == NULL)
    return status;
  path = absolute (file);
  g_variant_builder_init (&options, G_VARIANT_TYPE_VARDICT);
  if (format)
    g_variant_builder_add (&options, "{sv}", "format", g_variant_new_string (format));
  if (split)
    g_variant_builder_add (&options, "{sv}", "channels", g_variant_new_string ("split"));
  return finish (ctl, dt_gen_call_call_start_recording_sync (call, path, g_variant_builder_end (&options), NULL,
                                                             &error), &error);
}

int
dtctl_cmd_stop_recording (DtCtl *ctl, const DtCtlCommand *command, int argc, char **argv)
{
  return call_verb (ctl, command, argc, argv, dt_gen_call_call_stop_recording_sync);
}

/* Waiting for signals: PlaybackFinished (play --wait) and DtmfReceived
 * (wait-dtmf). */

typedef struct {
  GMainLoop *loop;
  GString   *digits;
  guint      count;
  char      *terminator;
  char      *finished_reason;
  gboolean   timed_out;
  gboolean   ended;
} SignalWait;

static gboolean
on_wait_timeout (gpointer user_data)
{
  SignalWait *w = user_data;

  w->timed_out = TRUE;
  g_main_loop_quit (w->loop);
  return G_SOURCE_REMOVE;
}

static void
on_dtmf (DtGenCall  *call,
         const char *digit,
         SignalWait *w)
{
  if (w->terminator && g_str_equal (digit, w->terminator))
    {
      g_main_loop_quit (w->loop);
      return;
    }
  g_string_append (w->digits, digit);
  if (w->count > 0 && w->digits->len >= w->count)
    g_main_loop_quit (w->loop);
}

static void
on_playback_finished (DtGenCall  *call,
                      const char *path,
                      const char *reason,
                      SignalWait *w)
{
  w->finished_reason = g_strdup (reason);
  g_main_loop_quit (w->loop);
}

static void
on_state (GDBusProxy *proxy,
          GVariant   *changed,
          GStrv       invalidated,
          SignalWait *w)
{
  if (g_strcmp0 (dt_gen_call_get_state (DT_GEN_CALL (proxy)), "terminated") == 0)
    {
      w->ended = TRUE;
      g_main_loop_quit (w->loop);
    }
}

int
dtctl_play_and_wait (DtCtl      *ctl,
                     DtGenCall  *call,
                     const char *path,
                     GVariant   *options)
{
  g_autoptr(GError) error = NULL;
  SignalWait w = { 0 };
  int status;

  w.loop = g_main_loop_new (NULL, FALSE);
  g_signal_connect (call, "playback-finished", G_CALLBACK (on_playback_finished), &w);
  g_signal_connect (call, "g-properties-changed", G_CALLBACK (on_state), &w);
  if (!dt_gen_call_call_play_file_sync (call, path, options, NULL, &error))
    status = dtctl_fail (ctl, error);
  else
    {
      g_main_loop_run (w.loop);
      if (w.finished_reason == NULL)
        status = dtctl_fail_message (DTCTL_EXIT_FAILED, "play: the call ended first");
      else if (!g_str_equal (w.finished_reason, "finished"))
        status = dtctl_fail_message (DTCTL_EXIT_FAILED, "play: playback %s", w.finished_reason);
      else
        status = DTCTL_EXIT_OK;
    }
  g_signal_handlers_disconnect_by_data (call, &w);
  g_main_loop_unref (w.loop);
  g_free (w.finished_reason);
  return status;
}

int
dtctl_cmd_wait_dtmf (DtCtl *ctl, const DtCtlCommand *command, int argc, char **argv)
{
  int count = 1;
  double timeout = 0;
  g_autofree char *terminator = NULL;
  GOptionEntry entries[] = {
    { "count", 'n', 0, G_OPTION_ARG_INT, &count, "Digits to collect (default 1; 0: until the terminator)", "N" },
    { "terminator", 'T', 0, G_OPTION_ARG_STRING, &terminator, "A digit that ends the input early (not printed)", "DIGIT" },
    { "timeout", 't', 0, G_OPTION_ARG_DOUBLE, &timeout, "Give up after this long (exit 1; 0: never)", "SECONDS" },
    { NULL }
  };
  g_autoptr(DtGenCall) call = NULL;
  SignalWait w = { 0 };
  guint timer = 0;
  int status;

  if (!dtctl_parse_options (ctl, command, entries, &argc, &argv, 0, 1, &status))
    return status;
  if (count < 0 || (count == 0 && terminator == NULL))
    return dtctl_fail_message (DTCTL_EXIT_USAGE, "wait-dtmf: --count must be 1 or more (0 needs --terminator)");
  if (terminator && (strlen (terminator) != 1 || !strchr ("0123456789*#ABCD", terminator[0])))
    return dtctl_fail_message (DTCTL_EXIT_USAGE, "wait-dtmf: --terminator must be one of 0-9 * # A-D");
  if ((status = dtctl_check_timeout (timeout)) != DTCTL_EXIT_OK ||
      (status = dtctl_connect (ctl)) != DTCTL_EXIT_OK ||
      (call = dtctl_resolve_call (ctl, argc > 1 ? argv[1] : NULL, answered, &status)) == NULL)
    return status;
  w.loop = g_main_loop_new (NULL, FALSE);
  w.digits = g_string_new (NULL);
  w.count = (guint) count;
  w.terminator = terminator;
  g_signal_connect (call, "dtmf-received", G_CALLBACK (on_dtmf), &w);
  g_signal_connect (call, "g-properties-changed", G_CALLBACK (on_state), &w);
  if (timeout > 0)
    timer = g_timeout_add ((guint) (timeout * 1000), on_wait_timeout, &w);
  g_main_loop_run (w.loop);
  if (!w.timed_out)
    g_clear_handle_id (&timer, g_source_remove);
  g_signal_handlers_disconnect_by_data (call, &w);
  /* What arrived is printed even when the wait fell short. */
  if (ctl->json)
    {
      g_autoptr(JsonNode) node = json_node_new (JSON_NODE_VALUE);

      json_node_set_string (node, w.digits->str);
      dtctl_print_json (node);
    }
  else
    g_print ("%s\n", w.digits->str);
  status = w.timed_out ? dtctl_fail_message (DTCTL_EXIT_FAILED, "wait-dtmf: timed out")
         : w.ended ? dtctl_fail_message (DTCTL_EXIT_FAILED, "wait-dtmf: the call ended")
         : DTCTL_EXIT_OK;
  g_main_loop_unref (w.loop);
  g_string_free (w.digits, TRUE);
  return status;
}

int
dtctl_cmd_conference (DtCtl *ctl, const DtCtlCommand *command, int argc, char **argv)
{
  g_autoptr(GPtrArray) paths = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GError) error = NULL;
  guint conference = 0;
  int status;

  if (!dtctl_parse_options (ctl, command, NULL, &argc, &argv, 2, G_MAXINT, &status) ||
      (status = dtctl_connect (ctl)) != DTCTL_EXIT_OK)
    return status;
  for (int i = 1; i < argc; i++)
    {
      g_autoptr(DtGenCall) call = dtctl_resolve_call (ctl, argv[i], answered, &status);

      if (call == NULL)
        return status;
      g_ptr_array_add (paths, g_strdup (g_dbus_proxy_get_object_path (G_DBUS_PROXY (call))));
    }
  g_ptr_array_add (paths, NULL);
  if (!dt_gen_manager_call_create_conference_sync (ctl->manager, (const char * const *) paths->pdata,
                                                   &conference, NULL, &error))
    return dtctl_fail (ctl, error);
  if (ctl->json)
    {
      g_autoptr(JsonNode) node = json_node_new (JSON_NODE_VALUE);

      json_node_set_int (node, conference);
      return dtctl_print_json (node);
    }
  g_print ("%u\n", conference);
  return DTCTL_EXIT_OK;
}

int
dtctl_cmd_leave_conference (DtCtl *ctl, const DtCtlCommand *command, int argc, char **argv)
{
  return call_verb (ctl, command, argc, argv, dt_gen_call_call_leave_conference_sync);
}
