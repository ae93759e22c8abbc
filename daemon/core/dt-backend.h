#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* The seam between the core and a signalling stack. The core calls these
 * functions; the backend reports back by calling the core objects' notify
 * functions (dt_account_notify_*, dt_call_notify_*) on the main thread.
 * Nothing of the stack's own types crosses this header. */

#define DT_TYPE_BACKEND (dt_backend_get_type ())
G_DECLARE_INTERFACE (DtBackend, dt_backend, DT, BACKEND, GObject)

struct _DtBackendInterface {
  GTypeInterface parent_iface;

  const char *(*get_name)        (DtBackend           *self);

  /* Ends every network activity (unregister, end calls) and completes when
   * it is done or a bound the backend chooses has passed. */
  void        (*shutdown_async)  (DtBackend           *self,
                                  GCancellable        *cancellable,
                                  GAsyncReadyCallback  callback,
                                  gpointer             user_data);
  gboolean    (*shutdown_finish) (DtBackend           *self,
                                  GAsyncResult        *result,
                                  GError             **error);
};

const char *dt_backend_get_name        (DtBackend           *self);
void        dt_backend_shutdown_async  (DtBackend           *self,
                                        GCancellable        *cancellable,
                                        GAsyncReadyCallback  callback,
                                        gpointer             user_data);
gboolean    dt_backend_shutdown_finish (DtBackend           *self,
                                        GAsyncResult        *result,
                                        GError             **error);

G_END_DECLS
