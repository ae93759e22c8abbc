#pragma once

#include "core/dt-backend.h"

G_BEGIN_DECLS

/* The Sofia-SIP backend: one nua per account, all on the GLib main loop
 * through su_glib. */
#define DT_TYPE_SIP_BACKEND (dt_sip_backend_get_type ())
G_DECLARE_FINAL_TYPE (DtSipBackend, dt_sip_backend, DT, SIP_BACKEND, GObject)

typedef struct {
  /* SIP transaction timeout (timer B/F = 64 × T1), in milliseconds: how
   * long an unanswered request waits before it fails with 408. */
  guint transaction_timeout_ms;
  /* What incoming offers are checked against before the phone rings. */
  GPtrArray *codecs;
  /* Each source's budget of requests outside any dialog: request_burst at
   * once, then request_rate a second; a rate of 0 means no limit. */
  guint request_rate;
  guint request_burst;
} DtSipBackendOptions;

DtSipBackend *dt_sip_backend_new (const DtSipBackendOptions  *options,
                                  GError                    **error);

/* Call once at start, before any thread: makes the process's exit safe
 * from a Sofia-SIP library destructor (see the definition). */
void dt_sip_backend_prepare_process (void);

G_END_DECLS
