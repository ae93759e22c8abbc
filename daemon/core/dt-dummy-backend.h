#pragma once

#include "dt-backend.h"

G_BEGIN_DECLS

/* A backend with no network: it accepts every request and answers on the
 * next main-loop iteration. Core tests use it, and the daemon falls back to
 * it nowhere: it exists so the core can be exercised alone. */
#define DT_TYPE_DUMMY_BACKEND (dt_dummy_backend_get_type ())
G_DECLARE_FINAL_TYPE (DtDummyBackend, dt_dummy_backend, DT, DUMMY_BACKEND, GObject)

DtDummyBackend *dt_dummy_backend_new (void);
guint           dt_dummy_backend_get_shutdown_count (DtDummyBackend *self);

G_END_DECLS
