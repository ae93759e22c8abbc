#pragma once

#include <glib-object.h>

G_BEGIN_DECLS

#define DT_STORE_ERROR (dt_store_error_quark ())

typedef enum {
  DT_STORE_ERROR_FAILED,   /* SQLite failed on a query */
  DT_STORE_ERROR_OPEN,     /* the file cannot be opened or written */
  DT_STORE_ERROR_CORRUPT,  /* not a database, or it fails its integrity check */
  DT_STORE_ERROR_TOO_NEW,  /* written by a newer dialtoned: its schema is unknown here */
} DtStoreError;

GQuark dt_store_error_quark (void);

#define DT_TYPE_STORE (dt_store_get_type ())
G_DECLARE_FINAL_TYPE (DtStore, dt_store, DT, STORE, GObject)

DtStore    *dt_store_open               (const char  *path,
                                         GError     **error);
void        dt_store_close              (DtStore     *self);
const char *dt_store_get_path           (DtStore     *self);
int         dt_store_get_schema_version (DtStore     *self);
int         dt_store_get_latest_schema_version (void);

/* Calls a crash or SIGKILL left without an end: they ended when the daemon
 * died; mark them so (reason daemon-restart). Returns how many. */
guint       dt_store_close_interrupted_calls (DtStore   *self,
                                              GError   **error);

/* Small daemon state that is not configuration (the default account). */
char       *dt_store_get_preference     (DtStore     *self,
                                         const char  *key);
gboolean    dt_store_set_preference     (DtStore     *self,
                                         const char  *key,
                                         const char  *value,
                                         GError     **error);

G_END_DECLS
