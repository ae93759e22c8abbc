#pragma once

#include <glib-object.h>

#include "dt-account.h"
#include "dt-backend.h"
#include "dt-call.h"
#include "dt-call-history.h"
#include "dt-log.h"
#include "dt-media.h"

G_BEGIN_DECLS

/* The root of the domain model: what the daemon is, independent of how it
 * is exported. Owns the accounts (and their files) and the calls, and
 * keeps the call history written.
 * Signals: account-added, account-removed (DtAccount); call-added,
 * call-removed (DtCall); history-added (gint64 id, GVariant a{sv} entry). */
#define DT_TYPE_MANAGER (dt_manager_get_type ())
G_DECLARE_FINAL_TYPE (DtManager, dt_manager, DT, MANAGER, GObject)

DtManager  *dt_manager_new           (DtBackend   *backend,
                                      DtLogLevel   log_level,
                                      const char  *accounts_dir);
DtBackend  *dt_manager_get_backend   (DtManager   *self);
const char *dt_manager_get_version   (DtManager   *self);
DtLogLevel  dt_manager_get_log_level (DtManager   *self);
void        dt_manager_set_log_level (DtManager   *self,
                                      DtLogLevel   level);

guint       dt_manager_load_accounts (DtManager   *self);
void        dt_manager_start         (DtManager   *self);
void        dt_manager_stop          (DtManager   *self);

GPtrArray  *dt_manager_get_accounts        (DtManager  *self);
DtAccount  *dt_manager_find_account        (DtManager  *self,
                                            const char *id);
DtAccount  *dt_manager_create_account      (DtManager  *self,
                                            GVariant   *settings,
                                            GError    **error);
gboolean    dt_manager_remove_account      (DtManager  *self,
                                            DtAccount  *account,
                                            GError    **error);
gboolean    dt_manager_update_account      (DtManager  *self,
                                            DtAccount  *account,
                                            GVariant   *settings,
                                            GError    **error);
gboolean    dt_manager_set_account_password (DtManager *self,
                                             DtAccount *account,
                                             const char *password,
                                             GError   **error);
gboolean    dt_manager_set_account_enabled (DtManager  *self,
                                            DtAccount  *account,
                                            gboolean    enabled,
                                            GError    **error);
DtAccount  *dt_manager_get_default_account (DtManager  *self);
void        dt_manager_set_default_account (DtManager  *self,
                                            DtAccount  *account);

/* Calls need a media engine and a profile (codecs, endpoints, timers);
 * the history is optional (tests run without one). */
void        dt_manager_set_media           (DtManager           *self,
                                            DtMediaEngine       *engine,
                                            const DtCallProfile *profile);
void        dt_manager_set_history         (DtManager           *self,
                                            DtCallHistory       *history);
DtCallHistory *dt_manager_get_history      (DtManager           *self);
const DtCallProfile *dt_manager_get_call_profile (DtManager     *self);
gboolean    dt_manager_set_audio_endpoint  (DtManager           *self,
                                            gboolean             is_source,
                                            const char          *endpoint,
                                            GError             **error);

GPtrArray  *dt_manager_get_calls           (DtManager  *self);
DtCall     *dt_manager_dial                (DtManager  *self,
                                            DtAccount  *account,
                                            const char *uri,
                                            GVariant   *options,
                                            GError    **error);
gboolean    dt_manager_answer_call         (DtManager  *self,
                                            DtCall     *call,
                                            GVariant   *options,
                                            GError    **error);
guint       dt_manager_hangup_all          (DtManager  *self);
/* A local conference of the calls (DtCall); returns its id, 0 on error. */
guint       dt_manager_create_conference   (DtManager  *self,
                                            GPtrArray  *calls,
                                            GError    **error);
gboolean    dt_manager_leave_conference    (DtManager  *self,
                                            DtCall     *call,
                                            GError    **error);

G_END_DECLS
