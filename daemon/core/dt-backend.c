#include "dt-backend.h"

G_DEFINE_INTERFACE (DtBackend, dt_backend, G_TYPE_OBJECT)

static void
dt_backend_default_init (DtBackendInterface *iface)
{
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
