#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* The seam between the core and a signalling stack. The core calls these
 * functions; the backend reports back by calling the core objects' notify
 * functions (dt_account_notify_*, dt_call_notify_*) on the main thread.
 * Nothing of the stack's own types crosses this header. */

#include "dt-media-types.h"

typedef struct _DtAccount DtAccount;
typedef struct _DtCall DtCall;

#define DT_TYPE_BACKEND (dt_backend_get_type ())
G_DECLARE_INTERFACE (DtBackend, dt_backend, DT, BACKEND, GObject)

struct _DtBackendInterface {
  GTypeInterface parent_iface;

  const char *(*get_name)        (DtBackend           *self);

  /* Syntax of an address the stack will be given (a SIP URI): settings are
   * checked with it before anything is stored. */
  gboolean    (*check_uri)       (DtBackend           *self,
                                  const char          *uri,
                                  GError             **error);

  /* Accounts. add binds the account's transports from its current settings
   * (it can fail: a busy port); remove unregisters within a bound and then
   * releases everything, without reporting back to the account. Register
   * and unregister report their outcome through
   * dt_account_notify_registration(). */
  gboolean    (*account_add)        (DtBackend        *self,
                                     DtAccount        *account,
                                     GError          **error);
  void        (*account_remove)     (DtBackend        *self,
                                     DtAccount        *account);
  void        (*account_register)   (DtBackend        *self,
                                     DtAccount        *account);
  void        (*account_unregister) (DtBackend        *self,
                                     DtAccount        *account);

  /* Calls. The backend keeps its own state per DtCall and reports through
   * dt_call_notify_*(). Incoming calls arrive as the "incoming-call"
   * signal (DtAccount, remote URI, remote display name, local URI) whose
   * handler returns a new DtCall, or NULL to refuse it (486). */
  gboolean    (*call_dial)          (DtBackend                 *self,
                                     DtCall                    *call,
                                     const DtMediaDescription  *capabilities,
                                     GError                   **error);
  gboolean    (*call_answer)        (DtBackend                 *self,
                                     DtCall                    *call,
                                     const DtMediaDescription  *capabilities,
                                     GError                   **error);
  void        (*call_reject)        (DtBackend                 *self,
                                     DtCall                    *call,
                                     guint                      status);
  void        (*call_hangup)        (DtBackend                 *self,
                                     DtCall                    *call);

  /* Call control. reoffer sends a new offer in the dialog (re-INVITE)
   * with our media @direction: the answer comes through
   * dt_call_notify_media(), a refusal through
   * dt_call_notify_reoffer_failed(). send_dtmf_info sends one digit as
   * SIP INFO (application/dtmf-relay). */
  gboolean    (*call_reoffer)       (DtBackend                 *self,
                                     DtCall                    *call,
                                     DtMediaDirection           direction,
                                     GError                   **error);
  gboolean    (*call_send_dtmf_info) (DtBackend                *self,
                                      DtCall                   *call,
                                      char                      digit,
                                      guint                     duration_ms,
                                      GError                  **error);
  /* Transfer. Sends REFER in @call's dialog naming @target_uri; with
   * @replaces, the Refer-To also carries a Replaces header for that call's
   * dialog (attended transfer). Progress comes back through
   * dt_call_notify_transfer(). Fails only when no REFER can be sent. */
  gboolean    (*call_transfer)      (DtBackend                 *self,
                                     DtCall                    *call,
                                     const char                *target_uri,
                                     DtCall                    *replaces,
                                     GError                   **error);

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
gboolean    dt_backend_check_uri       (DtBackend           *self,
                                        const char          *uri,
                                        GError             **error);
gboolean    dt_backend_account_add     (DtBackend           *self,
                                        DtAccount           *account,
                                        GError             **error);
void        dt_backend_account_remove  (DtBackend           *self,
                                        DtAccount           *account);
void        dt_backend_account_register   (DtBackend        *self,
                                           DtAccount        *account);
void        dt_backend_account_unregister (DtBackend        *self,
                                           DtAccount        *account);
gboolean    dt_backend_call_dial       (DtBackend                 *self,
                                        DtCall                    *call,
                                        const DtMediaDescription  *capabilities,
                                        GError                   **error);
gboolean    dt_backend_call_answer     (DtBackend                 *self,
                                        DtCall                    *call,
                                        const DtMediaDescription  *capabilities,
                                        GError                   **error);
void        dt_backend_call_reject     (DtBackend                 *self,
                                        DtCall                    *call,
                                        guint                      status);
void        dt_backend_call_hangup     (DtBackend                 *self,
                                        DtCall                    *call);
gboolean    dt_backend_call_reoffer    (DtBackend                 *self,
                                        DtCall                    *call,
                                        DtMediaDirection           direction,
                                        GError                   **error);
gboolean    dt_backend_call_send_dtmf_info (DtBackend             *self,
                                            DtCall                *call,
                                            char                   digit,
                                            guint                  duration_ms,
                                            GError               **error);
gboolean    dt_backend_call_transfer   (DtBackend                 *self,
                                        DtCall                    *call,
                                        const char                *target_uri,
                                        DtCall                    *replaces,
                                        GError                   **error);
DtCall     *dt_backend_emit_incoming_call (DtBackend              *self,
                                           DtAccount              *account,
                                           const char             *remote_uri,
                                           const char             *remote_display_name,
                                           const char             *local_uri);
void        dt_backend_shutdown_async  (DtBackend           *self,
                                        GCancellable        *cancellable,
                                        GAsyncReadyCallback  callback,
                                        gpointer             user_data);
gboolean    dt_backend_shutdown_finish (DtBackend           *self,
                                        GAsyncResult        *result,
                                        GError             **error);

G_END_DECLS
