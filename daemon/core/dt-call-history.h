#pragma once

#include <glib-object.h>

#include "dt-call.h"

G_BEGIN_DECLS

/* Where calls are kept once they have happened. The manager writes a row
 * when a call starts and updates it as the call goes on, so a crash never
 * loses a call; the D-Bus History interface reads through it. The store
 * implements it; the core never sees SQL. */

#define DT_TYPE_CALL_HISTORY (dt_call_history_get_type ())
G_DECLARE_INTERFACE (DtCallHistory, dt_call_history, DT, CALL_HISTORY, GObject)

struct _DtCallHistoryInterface {
  GTypeInterface parent_iface;

  gint64    (*record_call)  (DtCallHistory  *self,
                             DtCall         *call,
                             GError        **error);
  gboolean  (*update_call)  (DtCallHistory  *self,
                             gint64          id,
                             DtCall         *call,
                             GError        **error);
  /* filter keys: account (s), direction (s), missed (b), unseen (b),
   * since-usec (t), until-usec (t); newest first. → aa{sv} */
  GVariant *(*list_calls)   (DtCallHistory  *self,
                             GVariant       *filter,
                             guint           offset,
                             guint           limit,
                             GError        **error);
  GVariant *(*get_call)     (DtCallHistory  *self,
                             gint64          id,
                             GError        **error);
  guint     (*delete_calls) (DtCallHistory  *self,
                             const gint64   *ids,
                             gsize           n_ids,
                             GError        **error);
  guint     (*clear_calls)  (DtCallHistory  *self,
                             GVariant       *filter,
                             GError        **error);
  guint     (*mark_seen)    (DtCallHistory  *self,
                             const gint64   *ids,
                             gsize           n_ids,
                             GError        **error);
};

gint64    dt_call_history_record_call  (DtCallHistory *self, DtCall *call, GError **error);
gboolean  dt_call_history_update_call  (DtCallHistory *self, gint64 id, DtCall *call, GError **error);
GVariant *dt_call_history_list_calls   (DtCallHistory *self, GVariant *filter, guint offset,
                                        guint limit, GError **error);
GVariant *dt_call_history_get_call     (DtCallHistory *self, gint64 id, GError **error);
guint     dt_call_history_delete_calls (DtCallHistory *self, const gint64 *ids, gsize n_ids,
                                        GError **error);
guint     dt_call_history_clear_calls  (DtCallHistory *self, GVariant *filter, GError **error);
guint     dt_call_history_mark_seen    (DtCallHistory *self, const gint64 *ids, gsize n_ids,
                                        GError **error);

G_END_DECLS
