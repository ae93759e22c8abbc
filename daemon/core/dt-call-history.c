#include "dt-call-history.h"

G_DEFINE_INTERFACE (DtCallHistory, dt_call_history, G_TYPE_OBJECT)

static void
dt_call_history_default_init (DtCallHistoryInterface *iface)
{
}

gint64
dt_call_history_record_call (DtCallHistory *self, DtCall *call, GError **error)
{
  return DT_CALL_HISTORY_GET_IFACE (self)->record_call (self, call, error);
}

gboolean
dt_call_history_update_call (DtCallHistory *self, gint64 id, DtCall *call, GError **error)
{
  return DT_CALL_HISTORY_GET_IFACE (self)->update_call (self, id, call, error);
}

GVariant *
dt_call_history_list_calls (DtCallHistory *self, GVariant *filter, guint offset, guint limit,
                            GError **error)
{
  return DT_CALL_HISTORY_GET_IFACE (self)->list_calls (self, filter, offset, limit, error);
}

GVariant *
dt_call_history_get_call (DtCallHistory *self, gint64 id, GError **error)
{
  return DT_CALL_HISTORY_GET_IFACE (self)->get_call (self, id, error);
}

guint
dt_call_history_delete_calls (DtCallHistory *self, const gint64 *ids, gsize n_ids, GError **error)
{
  return DT_CALL_HISTORY_GET_IFACE (self)->delete_calls (self, ids, n_ids, error);
}

guint
dt_call_history_clear_calls (DtCallHistory *self, GVariant *filter, GError **error)
{
  return DT_CALL_HISTORY_GET_IFACE (self)->clear_calls (self, filter, error);
}

guint
dt_call_history_mark_seen (DtCallHistory *self, const gint64 *ids, gsize n_ids, GError **error)
{
  return DT_CALL_HISTORY_GET_IFACE (self)->mark_seen (self, ids, n_ids, error);
}
