#pragma once

#include <glib-object.h>

#include "dt-backend.h"
#include "dt-media-types.h"
#include "dt-settings.h"
#include "dt-state.h"

G_BEGIN_DECLS

/* A SIP identity: its settings, its registration state, and the policy that
 * keeps it registered (retry with backoff, stop on credential errors). The
 * backend does the signalling and reports back through
 * dt_account_notify_registration(). */
#define DT_TYPE_ACCOUNT (dt_account_get_type ())
G_DECLARE_FINAL_TYPE (DtAccount, dt_account, DT, ACCOUNT, GObject)

const DtSettingSpec *dt_account_setting_specs (void);
gboolean    dt_account_validate_settings (const DtSettings  *settings,
                                          DtBackend         *backend,
                                          GError           **error);
gboolean    dt_account_id_is_valid       (const char        *id);

DtAccount  *dt_account_new               (DtBackend         *backend,
                                          guint              index,
                                          DtSettings        *settings);

guint       dt_account_get_index         (DtAccount         *self);
const char *dt_account_get_id            (DtAccount         *self);
const char *dt_account_get_address       (DtAccount         *self);
const char *dt_account_get_display_name  (DtAccount         *self);
const char *dt_account_get_transport     (DtAccount         *self);
gboolean    dt_account_get_enabled       (DtAccount         *self);
gboolean    dt_account_has_registrar     (DtAccount         *self);
DtAccountState       dt_account_get_state        (DtAccount *self);
DtAccountStateReason dt_account_get_state_reason (DtAccount *self);
guint       dt_account_get_last_sip_status (DtAccount       *self);
const char *dt_account_get_last_sip_reason (DtAccount       *self);
gint64      dt_account_get_registration_expires_usec (DtAccount *self);
const DtSettings *dt_account_get_settings (DtAccount        *self);
DtMediaEncryption dt_account_get_media_encryption (DtAccount *self);
guint       dt_account_get_srtp_suites   (DtAccount         *self,
                                          DtCryptoSuite      suites[DT_CRYPTO_SUITE_COUNT]);
void        dt_account_describe_encryption (DtAccount       *self,
                                            DtMediaDescription *desc);

/* Policy, driven by the manager and D-Bus. */
void        dt_account_start             (DtAccount         *self);
void        dt_account_stop              (DtAccount         *self);
gboolean    dt_account_set_enabled       (DtAccount         *self,
                                          gboolean           enabled);
gboolean    dt_account_register          (DtAccount         *self,
                                          GError           **error);
gboolean    dt_account_unregister        (DtAccount         *self,
                                          GError           **error);
gboolean    dt_account_replace_settings  (DtAccount         *self,
                                          DtSettings        *settings);
void        dt_account_set_password      (DtAccount         *self,
                                          const char        *password);

/* From the backend, on the main thread. expires_usec is the absolute time
 * (g_get_real_time() clock) the registration lapses, 0 when not registered. */
void        dt_account_notify_registration (DtAccount            *self,
                                            DtAccountState        state,
                                            DtAccountStateReason  reason,
                                            guint                 sip_status,
                                            const char           *sip_reason,
                                            gint64                expires_usec);

G_END_DECLS
