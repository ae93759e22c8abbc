#include "dt-dummy-backend.h"

#include <string.h>

#include "dt-account.h"
#include "dt-call.h"
#include "dt-error.h"

struct _DtDummyBackend {
  GObject parent_instance;
  guint   shutdown_count;
};

static void dt_dummy_backend_iface_init (DtBackendInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (DtDummyBackend, dt_dummy_backend, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (DT_TYPE_BACKEND,
                                                      dt_dummy_backend_iface_init))

static const char *
dummy_get_name (DtBackend *backend)
{
  return "dummy";
}

static gboolean
dummy_check_uri (DtBackend   *backend,
                 const char  *uri,
                 GError     **error)
{
  if ((g_str_has_prefix (uri, "sip:") || g_str_has_prefix (uri, "sips:")) &&
      strchr (uri, ' ') == NULL && strchr (uri, ':')[1] != '\0')
    return TRUE;
  g_set_error (error, DT_ERROR, DT_ERROR_INVALID_ARGUMENTS, "'%s' is not a SIP URI", uri);
  return FALSE;
}

static gboolean
dummy_account_add (DtBackend  *backend,
                   DtAccount  *account,
                   GError    **error)
{
  return TRUE;
}

static void
dummy_account_remove (DtBackend *backend,
                      DtAccount *account)
{
}

typedef struct {
  DtAccount     *account;
  DtAccountState state;
} Report;

static gboolean
report_later (gpointer user_data)
{
  Report *r = user_data;

  dt_account_notify_registration (r->account, r->state,
                                  r->state == DT_ACCOUNT_STATE_REGISTERED
                                    ? DT_ACCOUNT_STATE_REASON_NONE
                                    : DT_ACCOUNT_STATE_REASON_USER_REQUEST,
                                  200, "OK",
                                  r->state == DT_ACCOUNT_STATE_REGISTERED
                                    ? g_get_real_time () + 600 * G_USEC_PER_SEC : 0);
  g_object_unref (r->account);
  g_free (r);
  return G_SOURCE_REMOVE;
}

static void
report (DtAccount      *account,
        DtAccountState  state)
{
  Report *r = g_new0 (Report, 1);

  r->account = g_object_ref (account);
  r->state = state;
  g_idle_add (report_later, r);
}

static void
dummy_account_register (DtBackend *backend,
                        DtAccount *account)
{
  report (account, DT_ACCOUNT_STATE_REGISTERED);
}

static void
dummy_account_unregister (DtBackend *backend,
                          DtAccount *account)
{
  report (account, DT_ACCOUNT_STATE_UNREGISTERED);
}

/* Calls: every remote answers at once, with the same audio we offered. */
typedef struct {
  DtCall             *call;
  DtMediaDescription *caps;
  gboolean            ring;
} CallStep;

static gboolean
answer_later (gpointer user_data)
{
  CallStep *step = user_data;

  if (!dt_call_is_ended (step->call))
    {
      if (step->ring)
        dt_call_notify_progress (step->call, 180, "Ringing");
      dt_call_notify_media (step->call, step->caps, step->caps);
      dt_call_notify_answered (step->call);
    }
  g_object_unref (step->call);
  dt_media_description_free (step->caps);
  g_free (step);
  return G_SOURCE_REMOVE;
}

static gboolean
schedule_answer (DtCall                   *call,
                 const DtMediaDescription *caps,
                 gboolean                  ring)
{
  CallStep *step = g_new0 (CallStep, 1);

  step->call = g_object_ref (call);
  step->caps = dt_media_description_copy (caps);
  step->ring = ring;
  g_idle_add (answer_later, step);
  return TRUE;
}

static gboolean
dummy_call_dial (DtBackend *backend, DtCall *call, const DtMediaDescription *caps, GError **error)
{
  return schedule_answer (call, caps, TRUE);
}

static gboolean
dummy_call_answer (DtBackend *backend, DtCall *call, const DtMediaDescription *caps, GError **error)
{
  return schedule_answer (call, caps, FALSE);
}

static void
dummy_call_reject (DtBackend *backend, DtCall *call, guint status)
{
  dt_call_notify_ended (call, DT_CALL_STATE_REASON_REJECTED, status, NULL);
}

static void
dummy_call_hangup (DtBackend *backend, DtCall *call)
{
  dt_call_notify_ended (call, DT_CALL_STATE_REASON_LOCAL_HANGUP, 0, NULL);
}

/* Transfer: the other party accepts, then reports the target's answer; a
 * target whose user part is "busy" answers 486. */
typedef struct {
  DtCall  *call;
  gboolean busy;
} TransferStep;

static gboolean
transfer_later (gpointer user_data)
{
  TransferStep *step = user_data;

  dt_call_notify_transfer (step->call, DT_CALL_TRANSFER_STATE_ACCEPTED, 202);
  if (step->busy)
    dt_call_notify_transfer (step->call, DT_CALL_TRANSFER_STATE_FAILED, 486);
  else
    dt_call_notify_transfer (step->call, DT_CALL_TRANSFER_STATE_SUCCEEDED, 200);
  g_object_unref (step->call);
  g_free (step);
  return G_SOURCE_REMOVE;
}

static gboolean
dummy_call_transfer (DtBackend *backend, DtCall *call, const char *target_uri, DtCall *replaces,
                     GError **error)
{
  TransferStep *step = g_new0 (TransferStep, 1);

  step->call = g_object_ref (call);
  step->busy = strstr (target_uri, ":busy@") != NULL;
  g_idle_add (transfer_later, step);
  return TRUE;
}

static void
dummy_shutdown_async (DtBackend           *backend,
                      GCancellable        *cancellable,
                      GAsyncReadyCallback  callback,
                      gpointer             user_data)
{
  DtDummyBackend *self = DT_DUMMY_BACKEND (backend);
  g_autoptr(GTask) task = g_task_new (self, cancellable, callback, user_data);

  g_task_set_source_tag (task, dummy_shutdown_async);
  self->shutdown_count++;
  /* GTask completes from an idle when returned now: asynchronous, as a
   * real stack would be. */
  g_task_return_boolean (task, TRUE);
}

static gboolean
dummy_shutdown_finish (DtBackend     *backend,
                       GAsyncResult  *result,
                       GError       **error)
{
  return g_task_propagate_boolean (G_TASK (result), error);
}

static void
dt_dummy_backend_iface_init (DtBackendInterface *iface)
{
  iface->get_name = dummy_get_name;
  iface->check_uri = dummy_check_uri;
  iface->account_add = dummy_account_add;
  iface->account_remove = dummy_account_remove;
  iface->account_register = dummy_account_register;
  iface->account_unregister = dummy_account_unregister;
  iface->call_dial = dummy_call_dial;
  iface->call_answer = dummy_call_answer;
  iface->call_reject = dummy_call_reject;
  iface->call_hangup = dummy_call_hangup;
  iface->call_transfer = dummy_call_transfer;
  iface->shutdown_async = dummy_shutdown_async;
  iface->shutdown_finish = dummy_shutdown_finish;
}

static void
dt_dummy_backend_class_init (DtDummyBackendClass *klass)
{
}

static void
dt_dummy_backend_init (DtDummyBackend *self)
{
}

DtDummyBackend *
dt_dummy_backend_new (void)
{
  return g_object_new (DT_TYPE_DUMMY_BACKEND, NULL);
}

guint
dt_dummy_backend_get_shutdown_count (DtDummyBackend *self)
{
  return self->shutdown_count;
}
