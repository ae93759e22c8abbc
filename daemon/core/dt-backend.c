#include "dt-backend.h"

#include "dt-error.h"

G_DEFINE_INTERFACE (DtBackend, dt_backend, G_TYPE_OBJECT)

static void
dt_backend_default_init (DtBackendInterface *iface)
{
  /* (account, remote-uri, remote-display-name, local-uri) → DtCall, or
   * NULL to refuse the call; the first handler that returns one wins. */
  g_signal_new ("incoming-call", G_TYPE_FROM_INTERFACE (iface), G_SIGNAL_RUN_LAST, 0,
                g_signal_accumulator_first_wins, NULL, NULL, G_TYPE_OBJECT, 4,
                G_TYPE_OBJECT, G_TYPE_STRING, G_TYPE_STRING, G_TYPE_STRING);
}

DtCall *
dt_backend_emit_incoming_call (DtBackend  *self,
                               DtAccount  *account,
                               const char *remote_uri,
                               const char *remote_display_name,
                               const char *local_uri)
{
  GObject *call = NULL;

  g_signal_emit_by_name (self, "incoming-call", account, remote_uri, remote_display_name,
                         local_uri, &call);
  /* The handler returns a new reference; the caller owns it. */
  return (DtCall *) call;
}

gboolean
dt_backend_call_dial (DtBackend                 *self,
                      DtCall                    *call,
                      const DtMediaDescription  *capabilities,
                      GError                   **error)
{
  return DT_BACKEND_GET_IFACE (self)->call_dial (self, call, capabilities, error);
}

gboolean
dt_backend_call_answer (DtBackend                 *self,
                        DtCall                    *call,
                        const DtMediaDescription  *capabilities,
                        GError                   **error)
{
  return DT_BACKEND_GET_IFACE (self)->call_answer (self, call, capabilities, error);
}

void
dt_backend_call_reject (DtBackend *self,
                        DtCall    *call,
                        guint      status)
{
  DT_BACKEND_GET_IFACE (self)->call_reject (self, call, status);
}

void
dt_backend_call_hangup (DtBackend *self,
                        DtCall    *call)
{
  DT_BACKEND_GET_IFACE (self)->call_hangup (self, call);
}

gboolean
dt_backend_call_reoffer (DtBackend         *self,
                         DtCall            *call,
                         DtMediaDirection   direction,
                         GError           **error)
{
  if (DT_BACKEND_GET_IFACE (self)->call_reoffer == NULL)
    {
      g_set_error_literal (error, DT_ERROR, DT_ERROR_NOT_SUPPORTED, "the backend cannot change a call's media");
      return FALSE;
    }
  return DT_BACKEND_GET_IFACE (self)->call_reoffer (self, call, direction, error);
}

gboolean
dt_backend_call_send_dtmf_info (DtBackend  *self,
                                DtCall     *call,
                                char        digit,
                                guint       duration_ms,
                                GError    **error)
{
  if (DT_BACKEND_GET_IFACE (self)->call_send_dtmf_info == NULL)
    {
      g_set_error_literal (error, DT_ERROR, DT_ERROR_NOT_SUPPORTED, "the backend cannot send SIP INFO");
      return FALSE;
    }
  return DT_BACKEND_GET_IFACE (self)->call_send_dtmf_info (self, call, digit, duration_ms, error);
}

/* Transfer */

gboolean
dt_backend_call_transfer (DtBackend   *self,
                          DtCall      *call,
                          const char  *target_uri,
                          DtCall      *replaces,
                          GError     **error)
{
  return DT_BACKEND_GET_IFACE (self)->call_transfer (self, call, target_uri, replaces, error);
}

const char *
dt_backend_get_name (DtBackend *self)
{
  g_return_val_if_fail (DT_IS_BACKEND (self), NULL);
  return DT_BACKEND_GET_IFACE (self)->get_name (self);
}

gboolean
dt_backend_check_uri (DtBackend   *self,
                      const char  *uri,
                      GError     **error)
{
  g_return_val_if_fail (DT_IS_BACKEND (self), FALSE);
  return DT_BACKEND_GET_IFACE (self)->check_uri (self, uri, error);
}

gboolean
dt_backend_account_add (DtBackend  *self,
                        DtAccount  *account,
                        GError    **error)
{
  g_return_val_if_fail (DT_IS_BACKEND (self), FALSE);
  return DT_BACKEND_GET_IFACE (self)->account_add (self, account, error);
}

void
dt_backend_account_remove (DtBackend *self,
                           DtAccount *account)
{
  g_return_if_fail (DT_IS_BACKEND (self));
  DT_BACKEND_GET_IFACE (self)->account_remove (self, account);
}

void
dt_backend_account_register (DtBackend *self,
                             DtAccount *account)
{
  g_return_if_fail (DT_IS_BACKEND (self));
  DT_BACKEND_GET_IFACE (self)->account_register (self, account);
}

void
dt_backend_account_unregister (DtBackend *self,
                               DtAccount *account)
{
  g_return_if_fail (DT_IS_BACKEND (self));
  DT_BACKEND_GET_IFACE (self)->account_unregister (self, account);
}

void
dt_backend_shutdown_async (DtBackend           *self,
                           GCancellable        *cancellable,
                           GAsyncReadyCallback  callback,
                           gpointer             user_data)
{
  g_return_if_fail (DT_IS_BACKEND (self));
  DT_BACKEND_GET_IFACE (self)->shutdown_async (self, cancellable, callback, user_data);
}

gboolean
dt_backend_shutdown_finish (DtBackend     *self,
                            GAsyncResult  *result,
                            GError       **error)
{
  g_return_val_if_fail (DT_IS_BACKEND (self), FALSE);
  return DT_BACKEND_GET_IFACE (self)->shutdown_finish (self, result, error);
}
