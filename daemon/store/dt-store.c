#include "dt-store.h"

#include <sqlite3.h>

#include "core/dt-call-history.h"
#include "core/dt-enum-types.h"
#include "core/dt-error.h"
#include "core/dt-state.h"

G_DEFINE_QUARK (dt-store-error-quark, dt_store_error)

/* Schema history: entry N moves a database from user_version N to N + 1.
 * Entries are never edited once released, only appended. */
static const char * const migrations[] = {
  /* 1: call history. A row is written when a call starts and completed when
   * it ends, so a crash never loses a call. */
  "CREATE TABLE calls ("
  "  id                  INTEGER PRIMARY KEY,"
  "  account_id          TEXT NOT NULL,"
  "  direction           TEXT NOT NULL CHECK (direction IN ('incoming', 'outgoing')),"
  "  remote_uri          TEXT NOT NULL,"
  "  remote_display_name TEXT,"
  "  local_uri           TEXT,"
  "  sip_call_id         TEXT,"
  "  state               TEXT NOT NULL,"
  "  state_reason        TEXT NOT NULL DEFAULT 'none',"
  "  sip_status          INTEGER NOT NULL DEFAULT 0,"
  "  sip_reason          TEXT,"
  "  created_usec        INTEGER NOT NULL,"
  "  answered_usec       INTEGER,"
  "  ended_usec          INTEGER,"
  "  seen                INTEGER NOT NULL DEFAULT 0"
  ");"
  "CREATE INDEX calls_by_created ON calls (created_usec DESC);",

  /* 2: daemon state that outlives a run but is not configuration. */
  "CREATE TABLE preferences ("
  "  key   TEXT PRIMARY KEY,"
  "  value TEXT NOT NULL"
  ");",

  /* 3: the codec a call used, "PCMU/8000". */
  "ALTER TABLE calls ADD COLUMN codec TEXT;",
};

/* An incoming call nobody answered and we did not turn down ourselves. */
#define MISSED_SQL "(direction = 'incoming' AND answered_usec IS NULL AND ended_usec IS NOT NULL " \
                   "AND state_reason <> 'rejected')"

struct _DtStore {
  GObject  parent_instance;
  char    *path;
  sqlite3 *db;
  int      schema_version;

  /* Run at every state change of every call: prepared once. */
  sqlite3_stmt *record_call;
  sqlite3_stmt *update_call;
};

static void dt_store_history_init (DtCallHistoryInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (DtStore, dt_store, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (DT_TYPE_CALL_HISTORY, dt_store_history_init))

static void
dt_store_finalize (GObject *object)
{
  DtStore *self = DT_STORE (object);

  dt_store_close (self);
  g_free (self->path);
  G_OBJECT_CLASS (dt_store_parent_class)->finalize (object);
}

static void
dt_store_class_init (DtStoreClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = dt_store_finalize;
}

static void
dt_store_init (DtStore *self)
{
}

static gboolean
is_corruption (int code)
{
  code &= 0xff;
  return code == SQLITE_CORRUPT || code == SQLITE_NOTADB;
}

static gboolean
set_sqlite_error (DtStore    *self,
                  int         code,
                  const char *doing,
                  GError    **error)
{
  g_set_error (error, DT_STORE_ERROR,
               is_corruption (code) ? DT_STORE_ERROR_CORRUPT : DT_STORE_ERROR_FAILED,
               "%s: %s: %s", self->path, doing,
               self->db ? sqlite3_errmsg (self->db) : sqlite3_errstr (code));
  return FALSE;
}

static gboolean
exec (DtStore    *self,
      const char *sql,
      const char *doing,
      GError    **error)
{
  int rc = sqlite3_exec (self->db, sql, NULL, NULL, NULL);

  if (rc != SQLITE_OK)
    return set_sqlite_error (self, rc, doing, error);
  return TRUE;
}

/* One-row, one-column queries: PRAGMAs. Returns a new string or NULL. */
static char *
query_text (DtStore    *self,
            const char *sql,
            const char *doing,
            GError    **error)
{
  sqlite3_stmt *stmt = NULL;
  char *result = NULL;
  int rc;

  rc = sqlite3_prepare_v2 (self->db, sql, -1, &stmt, NULL);
  if (rc == SQLITE_OK)
    {
      rc = sqlite3_step (stmt);
      if (rc == SQLITE_ROW)
        {
          result = g_strdup ((const char *) sqlite3_column_text (stmt, 0));
          rc = SQLITE_OK;
        }
    }
  if (rc != SQLITE_OK)
    set_sqlite_error (self, rc, doing, error);
  sqlite3_finalize (stmt);
  return result;
}

/* quick_check reads every page, so a damaged file is found at start-up
 * rather than halfway through writing a call. It never modifies the file. */
static gboolean
check_integrity (DtStore *self,
                 GError **error)
{
  g_autofree char *verdict = query_text (self, "PRAGMA quick_check", "integrity check", error);

  if (verdict == NULL)
    return FALSE;
  if (!g_str_equal (verdict, "ok"))
    {
      g_set_error (error, DT_STORE_ERROR, DT_STORE_ERROR_CORRUPT,
                   "%s: integrity check failed: %s", self->path, verdict);
      return FALSE;
    }
  return TRUE;
}

/* A database from a newer release is refused before anything writes to it:
 * its schema may mean something this build would damage. */
static gboolean
check_schema_version (DtStore *self,
                      GError **error)
{
  g_autofree char *version = query_text (self, "PRAGMA user_version", "reading schema version", error);
  int latest = G_N_ELEMENTS (migrations);

  if (version == NULL)
    return FALSE;
  self->schema_version = (int) g_ascii_strtoll (version, NULL, 10);

  if (self->schema_version > latest || self->schema_version < 0)
    {
      g_set_error (error, DT_STORE_ERROR, DT_STORE_ERROR_TOO_NEW,
                   "%s: schema version %d is newer than this dialtoned understands (%d); "
                   "it was written by a newer release", self->path, self->schema_version, latest);
      return FALSE;
    }
  return TRUE;
}

static gboolean
migrate (DtStore *self,
         GError **error)
{
  int latest = G_N_ELEMENTS (migrations);

  while (self->schema_version < latest)
    {
      int next = self->schema_version + 1;
      g_autofree char *doing = g_strdup_printf ("migrating schema to version %d", next);
      g_autofree char *bump = g_strdup_printf ("PRAGMA user_version = %d", next);

      /* Each step commits with its version number or not at all. */
      if (!exec (self, "BEGIN IMMEDIATE", doing, error))
        return FALSE;
      if (!exec (self, migrations[self->schema_version], doing, error) ||
          !exec (self, bump, doing, error))
        {
          sqlite3_exec (self->db, "ROLLBACK", NULL, NULL, NULL);
          return FALSE;
        }
      if (!exec (self, "COMMIT", doing, error))
        return FALSE;
      g_info ("Database %s migrated to schema version %d", self->path, next);
      self->schema_version = next;
    }
  return TRUE;
}

DtStore *
dt_store_open (const char *path,
               GError    **error)
{
  g_autoptr(DtStore) self = g_object_new (DT_TYPE_STORE, NULL);
  g_autofree char *mode = NULL;
  int rc;

  self->path = g_strdup (path);
  rc = sqlite3_open_v2 (path, &self->db,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                        NULL);
  if (rc == SQLITE_OK && sqlite3_db_readonly (self->db, "main") == 1)
    rc = SQLITE_READONLY;
  if (rc != SQLITE_OK)
    {
      g_set_error (error, DT_STORE_ERROR, DT_STORE_ERROR_OPEN, "%s: cannot open for writing: %s",
                   path, self->db ? sqlite3_errmsg (self->db) : sqlite3_errstr (rc));
      return NULL;
    }
  sqlite3_extended_result_codes (self->db, 1);
  sqlite3_busy_timeout (self->db, 5000);

  /* Check before anything writes: switching to WAL writes the header. */
  if (!check_integrity (self, error) || !check_schema_version (self, error))
    return NULL;

  mode = query_text (self, "PRAGMA journal_mode = WAL", "enabling write-ahead logging", error);
  if (mode == NULL)
    return NULL;
  if (g_ascii_strcasecmp (mode, "wal") != 0)
    {
      g_set_error (error, DT_STORE_ERROR, DT_STORE_ERROR_OPEN,
                   "%s: cannot use write-ahead logging (journal mode is %s)", path, mode);
      return NULL;
    }

  /* FULL: a call that ended is on disk even after a power cut. */
  if (!exec (self, "PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;", "configuring", error) ||
      !migrate (self, error))
    return NULL;

  return g_steal_pointer (&self);
}

void
dt_store_close (DtStore *self)
{
  if (self->db == NULL)
    return;
  g_clear_pointer (&self->record_call, sqlite3_finalize);
  g_clear_pointer (&self->update_call, sqlite3_finalize);
  /* Statements are finalised by their owners before this point; if one
   * leaked, close_v2 defers the close instead of failing. */
  if (sqlite3_close_v2 (self->db) != SQLITE_OK)
    g_warning ("Closing %s: %s", self->path, sqlite3_errmsg (self->db));
  self->db = NULL;
}

const char *
dt_store_get_path (DtStore *self)
{
  return self->path;
}

int
dt_store_get_schema_version (DtStore *self)
{
  return self->schema_version;
}

int
dt_store_get_latest_schema_version (void)
{
  return G_N_ELEMENTS (migrations);
}

char *
dt_store_get_preference (DtStore    *self,
                         const char *key)
{
  sqlite3_stmt *stmt = NULL;
  char *value = NULL;

  if (sqlite3_prepare_v2 (self->db, "SELECT value FROM preferences WHERE key = ?", -1, &stmt, NULL) == SQLITE_OK &&
      sqlite3_bind_text (stmt, 1, key, -1, SQLITE_STATIC) == SQLITE_OK &&
      sqlite3_step (stmt) == SQLITE_ROW)
    value = g_strdup ((const char *) sqlite3_column_text (stmt, 0));
  sqlite3_finalize (stmt);
  return value;
}

/* A NULL value deletes the key. */
gboolean
dt_store_set_preference (DtStore     *self,
                         const char  *key,
                         const char  *value,
                         GError     **error)
{
  sqlite3_stmt *stmt = NULL;
  int rc;

  rc = sqlite3_prepare_v2 (self->db,
                           value ? "INSERT INTO preferences (key, value) VALUES (?1, ?2) "
                                   "ON CONFLICT (key) DO UPDATE SET value = ?2"
                                 : "DELETE FROM preferences WHERE key = ?1",
                           -1, &stmt, NULL);
  if (rc == SQLITE_OK)
    rc = sqlite3_bind_text (stmt, 1, key, -1, SQLITE_STATIC);
  if (rc == SQLITE_OK && value)
    rc = sqlite3_bind_text (stmt, 2, value, -1, SQLITE_STATIC);
  if (rc == SQLITE_OK)
    rc = sqlite3_step (stmt) == SQLITE_DONE ? SQLITE_OK : sqlite3_errcode (self->db);
  sqlite3_finalize (stmt);
  if (rc != SQLITE_OK)
    return set_sqlite_error (self, rc, "saving a preference", error);
  return TRUE;
}

guint
dt_store_close_interrupted_calls (DtStore  *self,
                                  GError  **error)
{
  sqlite3_stmt *stmt = NULL;
  int rc;

  rc = sqlite3_prepare_v2 (self->db,
                           "UPDATE calls SET state = 'terminated', state_reason = 'daemon-restart', "
                           "ended_usec = ?1 WHERE ended_usec IS NULL", -1, &stmt, NULL);
  if (rc == SQLITE_OK)
    rc = sqlite3_bind_int64 (stmt, 1, g_get_real_time ());
  if (rc == SQLITE_OK)
    rc = sqlite3_step (stmt) == SQLITE_DONE ? SQLITE_OK : sqlite3_errcode (self->db);
  sqlite3_finalize (stmt);
  if (rc != SQLITE_OK)
    {
      set_sqlite_error (self, rc, "closing interrupted calls", error);
      return 0;
    }
  return (guint) sqlite3_changes (self->db);
}

/* Call history */

static void
bind_call (sqlite3_stmt *stmt,
           DtCall       *call)
{
  DtAccount *account = dt_call_get_account (call);

  sqlite3_bind_text (stmt, 1, dt_account_get_id (account), -1, SQLITE_TRANSIENT);
  sqlite3_bind_text (stmt, 2, dt_enum_to_nick (DT_TYPE_CALL_DIRECTION, dt_call_get_direction (call)), -1, SQLITE_STATIC);
  sqlite3_bind_text (stmt, 3, dt_call_get_remote_uri (call), -1, SQLITE_TRANSIENT);
  sqlite3_bind_text (stmt, 4, dt_call_get_remote_display_name (call), -1, SQLITE_TRANSIENT);
  sqlite3_bind_text (stmt, 5, dt_call_get_local_uri (call), -1, SQLITE_TRANSIENT);
  sqlite3_bind_text (stmt, 6, dt_enum_to_nick (DT_TYPE_CALL_STATE, dt_call_get_state (call)), -1, SQLITE_STATIC);
  sqlite3_bind_text (stmt, 7, dt_enum_to_nick (DT_TYPE_CALL_STATE_REASON, dt_call_get_state_reason (call)), -1, SQLITE_STATIC);
  sqlite3_bind_int (stmt, 8, (int) dt_call_get_sip_status (call));
  sqlite3_bind_text (stmt, 9, dt_call_get_sip_reason (call), -1, SQLITE_TRANSIENT);
  sqlite3_bind_int64 (stmt, 10, dt_call_get_created_usec (call));
  if (dt_call_get_answered_usec (call) > 0)
    sqlite3_bind_int64 (stmt, 11, dt_call_get_answered_usec (call));
  else
    sqlite3_bind_null (stmt, 11);
  if (dt_call_get_ended_usec (call) > 0)
    sqlite3_bind_int64 (stmt, 12, dt_call_get_ended_usec (call));
  else
    sqlite3_bind_null (stmt, 12);
  sqlite3_bind_text (stmt, 13, dt_call_get_codec (call), -1, SQLITE_TRANSIENT);
}

static int
prepare_once (DtStore       *self,
              sqlite3_stmt **stmt,
              const char    *sql)
{
  if (*stmt != NULL)
    return SQLITE_OK;
  return sqlite3_prepare_v3 (self->db, sql, -1, SQLITE_PREPARE_PERSISTENT, stmt, NULL);
}

/* Steps a statement prepared once to its end and makes it ready for the
 * next use. On failure, the error is set before the reset. */
static gboolean
step_once (DtStore       *self,
           sqlite3_stmt  *stmt,
           const char    *doing,
           GError       **error)
{
  int rc = sqlite3_step (stmt) == SQLITE_DONE ? SQLITE_OK : sqlite3_errcode (self->db);

  if (rc != SQLITE_OK)
    set_sqlite_error (self, rc, doing, error);
  sqlite3_reset (stmt);
  sqlite3_clear_bindings (stmt);
  return rc == SQLITE_OK;
}

/* The store runs with synchronous = FULL. A call in progress is written
 * with NORMAL: in WAL mode its commit is in the log (in the system's cache)
 * at once, so a crash of the daemon loses nothing, but the log is not
 * flushed to the disk, which cost milliseconds for every call being set
 * up.
 * The write that ends a call stays FULL and flushes the log with the
 * earlier commits: an ended call survives a power cut, as before. */
/* Not a statement prepared once: a PRAGMA takes effect when it is
 * compiled, not when a compiled one runs again. */
static gboolean
set_synchronous (DtStore   *self,
                 gboolean   full,
                 GError   **error)
{
  return exec (self, full ? "PRAGMA synchronous = FULL" : "PRAGMA synchronous = NORMAL",
               "configuring", error);
}

/* Writes a call's row (its statement bound) with the durability its state
 * needs (see above). */
static gboolean
write_call (DtStore       *self,
            sqlite3_stmt  *stmt,
            DtCall        *call,
            const char    *doing,
            GError       **error)
{
  gboolean ended = dt_call_get_ended_usec (call) > 0;
  gboolean ok;

  if (ended)
    return step_once (self, stmt, doing, error);
  if (!set_synchronous (self, FALSE, error))
    {
      sqlite3_clear_bindings (stmt);
      return FALSE;
    }
  ok = step_once (self, stmt, doing, error);
  /* Back to FULL even when the write failed: every other write needs it. */
  if (!set_synchronous (self, TRUE, ok ? error : NULL))
    ok = FALSE;
  return ok;
}

static gint64
history_record_call (DtCallHistory  *history,
                     DtCall         *call,
                     GError        **error)
{
  DtStore *self = DT_STORE (history);
  int rc;

  rc = prepare_once (self, &self->record_call,
                     "INSERT INTO calls (account_id, direction, remote_uri, remote_display_name, "
                     "local_uri, state, state_reason, sip_status, sip_reason, created_usec, "
                     "answered_usec, ended_usec, codec) "
                     "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)");
  if (rc != SQLITE_OK)
    {
      set_sqlite_error (self, rc, "recording a call", error);
      return 0;
    }
  bind_call (self->record_call, call);
  if (!write_call (self, self->record_call, call, "recording a call", error))
    return 0;
  /* A PRAGMA run since does not change it. */
  return sqlite3_last_insert_rowid (self->db);
}

static gboolean
history_update_call (DtCallHistory  *history,
                     gint64          id,
                     DtCall         *call,
                     GError        **error)
{
  DtStore *self = DT_STORE (history);
  int rc;

  rc = prepare_once (self, &self->update_call,
                     "UPDATE calls SET account_id = ?1, direction = ?2, remote_uri = ?3, "
                     "remote_display_name = ?4, local_uri = ?5, state = ?6, state_reason = ?7, "
                     "sip_status = ?8, sip_reason = ?9, created_usec = ?10, answered_usec = ?11, "
                     "ended_usec = ?12, codec = ?13 WHERE id = ?14");
  if (rc != SQLITE_OK)
    return set_sqlite_error (self, rc, "updating a call", error);
  bind_call (self->update_call, call);
  sqlite3_bind_int64 (self->update_call, 14, id);
  return write_call (self, self->update_call, call, "updating a call", error);
}

/* Filters are small, validated a{sv}s turned into a WHERE clause with bound
 * values: nothing from the caller is ever pasted into SQL. */
typedef struct {
  GString   *where;
  GPtrArray *texts;   /* per parameter: its text, or NULL for an integer */
  GArray    *kinds;   /* 's' or 'x' per parameter */
  GArray    *ints;
} Filter;

static void
filter_clear (Filter *f)
{
  g_string_free (f->where, TRUE);
  g_ptr_array_unref (f->texts);
  g_array_unref (f->kinds);
  g_array_unref (f->ints);
}

static void
filter_add_text (Filter *f, const char *clause, const char *value)
{
  gint64 unused = 0;
  char kind = 's';

  g_string_append_printf (f->where, " AND %s", clause);
  g_ptr_array_add (f->texts, g_strdup (value));
  g_array_append_val (f->ints, unused);
  g_array_append_val (f->kinds, kind);
}

static void
filter_add_int (Filter *f, const char *clause, gint64 value)
{
  char kind = 'x';

  g_string_append_printf (f->where, " AND %s", clause);
  g_ptr_array_add (f->texts, NULL);
  g_array_append_val (f->ints, value);
  g_array_append_val (f->kinds, kind);
}

static gboolean
variant_to_usec (GVariant *v, gint64 *out)
{
  if (g_variant_is_of_type (v, G_VARIANT_TYPE_UINT64))
    *out = (gint64) MIN (g_variant_get_uint64 (v), (guint64) G_MAXINT64);
  else if (g_variant_is_of_type (v, G_VARIANT_TYPE_INT64))
    *out = g_variant_get_int64 (v);
  else if (g_variant_is_of_type (v, G_VARIANT_TYPE_INT32))
    *out = g_variant_get_int32 (v);
  else if (g_variant_is_of_type (v, G_VARIANT_TYPE_UINT32))
    *out = g_variant_get_uint32 (v);
  else
    return FALSE;
  return TRUE;
}

static gboolean
parse_filter (GVariant  *filter,
              Filter    *f,
              GError   **error)
{
  GVariantIter iter;
  const char *key;
  GVariant *value;

  f->where = g_string_new ("1");
  f->texts = g_ptr_array_new_with_free_func (g_free);
  f->kinds = g_array_new (FALSE, FALSE, sizeof (char));
  f->ints = g_array_new (FALSE, FALSE, sizeof (gint64));
  if (filter == NULL)
    return TRUE;

  g_variant_iter_init (&iter, filter);
  while (g_variant_iter_next (&iter, "{&sv}", &key, &value))
    {
      g_autoptr(GVariant) v = value;
      gint64 usec;

      if (g_str_equal (key, "account") && g_variant_is_of_type (v, G_VARIANT_TYPE_STRING))
        filter_add_text (f, "account_id = ?", g_variant_get_string (v, NULL));
      else if (g_str_equal (key, "direction") && g_variant_is_of_type (v, G_VARIANT_TYPE_STRING))
        {
          const char *d = g_variant_get_string (v, NULL);
          if (!g_str_equal (d, "incoming") && !g_str_equal (d, "outgoing"))
            {
              g_set_error (error, DT_ERROR, DT_ERROR_INVALID_ARGUMENTS,
                           "direction: '%s' is not incoming or outgoing", d);
              return FALSE;
            }
          filter_add_text (f, "direction = ?", d);
        }
      else if (g_str_equal (key, "missed") && g_variant_is_of_type (v, G_VARIANT_TYPE_BOOLEAN))
        g_string_append (f->where, g_variant_get_boolean (v) ? " AND " MISSED_SQL : " AND NOT " MISSED_SQL);
      else if (g_str_equal (key, "unseen") && g_variant_is_of_type (v, G_VARIANT_TYPE_BOOLEAN))
        g_string_append (f->where, g_variant_get_boolean (v) ? " AND seen = 0" : " AND seen = 1");
      else if (g_str_equal (key, "since-usec") && variant_to_usec (v, &usec))
        filter_add_int (f, "created_usec >= ?", usec);
      else if (g_str_equal (key, "until-usec") && variant_to_usec (v, &usec))
        filter_add_int (f, "created_usec < ?", usec);
      else
        {
          gboolean known = g_strv_contains ((const char * const[]) { "account", "direction", "missed",
                                                                    "unseen", "since-usec", "until-usec", NULL }, key);
          g_set_error (error, DT_ERROR, DT_ERROR_INVALID_ARGUMENTS,
                       known ? "%s: wrong type '%s'" : "%s: unknown filter key", key,
                       g_variant_get_type_string (v));
          return FALSE;
        }
    }
  return TRUE;
}

static void
bind_filter (sqlite3_stmt *stmt,
             Filter       *f,
             int           first)
{
  for (guint i = 0; i < f->kinds->len; i++)
    {
      if (g_array_index (f->kinds, char, i) == 's')
        sqlite3_bind_text (stmt, first + (int) i, f->texts->pdata[i], -1, SQLITE_STATIC);
      else
        sqlite3_bind_int64 (stmt, first + (int) i, g_array_index (f->ints, gint64, i));
    }
}

static GVariant *
row_to_entry (sqlite3_stmt *stmt)
{
  GVariantBuilder b;
  static const char * const text_keys[] = {
    NULL, "account", "direction", "remote-uri", "remote-display-name", "local-uri", "state",
    "state-reason", NULL, "sip-reason",
  };

  g_variant_builder_init (&b, G_VARIANT_TYPE_VARDICT);
  g_variant_builder_add (&b, "{sv}", "id", g_variant_new_uint64 ((guint64) sqlite3_column_int64 (stmt, 0)));
  for (int col = 1; col <= 9; col++)
    if (text_keys[col] != NULL)
      g_variant_builder_add (&b, "{sv}", text_keys[col],
                             g_variant_new_string (sqlite3_column_text (stmt, col)
                                                   ? (const char *) sqlite3_column_text (stmt, col) : ""));
  g_variant_builder_add (&b, "{sv}", "sip-status", g_variant_new_uint32 ((guint32) sqlite3_column_int (stmt, 8)));
  g_variant_builder_add (&b, "{sv}", "created-usec", g_variant_new_uint64 ((guint64) sqlite3_column_int64 (stmt, 10)));
  g_variant_builder_add (&b, "{sv}", "answered-usec", g_variant_new_uint64 ((guint64) sqlite3_column_int64 (stmt, 11)));
  g_variant_builder_add (&b, "{sv}", "ended-usec", g_variant_new_uint64 ((guint64) sqlite3_column_int64 (stmt, 12)));
  g_variant_builder_add (&b, "{sv}", "codec", g_variant_new_string (sqlite3_column_text (stmt, 13)
                                                                      ? (const char *) sqlite3_column_text (stmt, 13) : ""));
  g_variant_builder_add (&b, "{sv}", "seen", g_variant_new_boolean (sqlite3_column_int (stmt, 14) != 0));
  g_variant_builder_add (&b, "{sv}", "missed", g_variant_new_boolean (sqlite3_column_int (stmt, 15) != 0));
  if (sqlite3_column_type (stmt, 11) != SQLITE_NULL && sqlite3_column_type (stmt, 12) != SQLITE_NULL)
    g_variant_builder_add (&b, "{sv}", "duration-usec",
                           g_variant_new_uint64 ((guint64) (sqlite3_column_int64 (stmt, 12) -
                                                            sqlite3_column_int64 (stmt, 11))));
  return g_variant_builder_end (&b);
}

#define ENTRY_COLUMNS "id, account_id, direction, remote_uri, remote_display_name, local_uri, state, " \
                      "state_reason, sip_status, sip_reason, created_usec, answered_usec, ended_usec, " \
                      "codec, seen, " MISSED_SQL

static GVariant *
history_list_calls (DtCallHistory  *history,
                    GVariant       *filter,
                    guint           offset,
                    guint           limit,
                    GError        **error)
{
  DtStore *self = DT_STORE (history);
  g_autofree char *sql = NULL;
  sqlite3_stmt *stmt = NULL;
  GVariantBuilder list;
  Filter f;
  int rc;

  if (!parse_filter (filter, &f, error))
    {
      filter_clear (&f);
      return NULL;
    }
  sql = g_strdup_printf ("SELECT " ENTRY_COLUMNS " FROM calls WHERE %s "
                         "ORDER BY created_usec DESC, id DESC LIMIT ? OFFSET ?", f.where->str);
  rc = sqlite3_prepare_v2 (self->db, sql, -1, &stmt, NULL);
  if (rc == SQLITE_OK)
    {
      bind_filter (stmt, &f, 1);
      sqlite3_bind_int64 (stmt, (int) f.kinds->len + 1, limit == 0 ? -1 : (gint64) limit);
      sqlite3_bind_int64 (stmt, (int) f.kinds->len + 2, offset);
    }
  g_variant_builder_init (&list, G_VARIANT_TYPE ("aa{sv}"));
  while (rc == SQLITE_OK && (rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      g_variant_builder_add_value (&list, row_to_entry (stmt));
      rc = SQLITE_OK;
    }
  if (rc == SQLITE_DONE)
    rc = SQLITE_OK;
  sqlite3_finalize (stmt);
  filter_clear (&f);
  if (rc != SQLITE_OK)
    {
      g_variant_builder_clear (&list);
      set_sqlite_error (self, rc, "listing calls", error);
      return NULL;
    }
  return g_variant_builder_end (&list);
}

static GVariant *
history_get_call (DtCallHistory  *history,
                  gint64          id,
                  GError        **error)
{
  DtStore *self = DT_STORE (history);
  sqlite3_stmt *stmt = NULL;
  GVariant *entry = NULL;
  int rc;

  rc = sqlite3_prepare_v2 (self->db, "SELECT " ENTRY_COLUMNS " FROM calls WHERE id = ?", -1, &stmt, NULL);
  if (rc == SQLITE_OK)
    {
      sqlite3_bind_int64 (stmt, 1, id);
      rc = sqlite3_step (stmt);
      if (rc == SQLITE_ROW)
        entry = g_variant_ref_sink (row_to_entry (stmt));
    }
  sqlite3_finalize (stmt);
  if (entry == NULL)
    g_set_error (error, DT_ERROR, DT_ERROR_NOT_FOUND, "no call %" G_GINT64_FORMAT " in the history", id);
  return entry;
}

static guint
run_on_ids (DtStore       *self,
            const char    *sql,
            const gint64  *ids,
            gsize          n_ids,
            GError       **error)
{
  sqlite3_stmt *stmt = NULL;
  guint changed = 0;
  int rc;

  rc = sqlite3_exec (self->db, "BEGIN", NULL, NULL, NULL);
  if (rc == SQLITE_OK)
    rc = sqlite3_prepare_v2 (self->db, sql, -1, &stmt, NULL);
  for (gsize i = 0; rc == SQLITE_OK && i < n_ids; i++)
    {
      sqlite3_reset (stmt);
      sqlite3_bind_int64 (stmt, 1, ids[i]);
      rc = sqlite3_step (stmt) == SQLITE_DONE ? SQLITE_OK : sqlite3_errcode (self->db);
      changed += (guint) sqlite3_changes (self->db);
    }
  sqlite3_finalize (stmt);
  if (rc == SQLITE_OK)
    rc = sqlite3_exec (self->db, "COMMIT", NULL, NULL, NULL);
  if (rc != SQLITE_OK)
    {
      sqlite3_exec (self->db, "ROLLBACK", NULL, NULL, NULL);
      set_sqlite_error (self, rc, "changing the history", error);
      return 0;
    }
  return changed;
}

static guint
history_delete_calls (DtCallHistory *history, const gint64 *ids, gsize n_ids, GError **error)
{
  return run_on_ids (DT_STORE (history), "DELETE FROM calls WHERE id = ? AND ended_usec IS NOT NULL",
                     ids, n_ids, error);
}

static guint
history_mark_seen (DtCallHistory *history, const gint64 *ids, gsize n_ids, GError **error)
{
  return run_on_ids (DT_STORE (history), "UPDATE calls SET seen = 1 WHERE id = ?", ids, n_ids, error);
}

/* Calls still going on are never cleared: their rows are being written. */
static guint
history_clear_calls (DtCallHistory  *history,
                     GVariant       *filter,
                     GError        **error)
{
  DtStore *self = DT_STORE (history);
  g_autofree char *sql = NULL;
  sqlite3_stmt *stmt = NULL;
  guint changed = 0;
  Filter f;
  int rc;

  if (!parse_filter (filter, &f, error))
    {
      filter_clear (&f);
      return 0;
    }
  sql = g_strdup_printf ("DELETE FROM calls WHERE ended_usec IS NOT NULL AND %s", f.where->str);
  rc = sqlite3_prepare_v2 (self->db, sql, -1, &stmt, NULL);
  if (rc == SQLITE_OK)
    {
      bind_filter (stmt, &f, 1);
      rc = sqlite3_step (stmt) == SQLITE_DONE ? SQLITE_OK : sqlite3_errcode (self->db);
      changed = (guint) sqlite3_changes (self->db);
    }
  sqlite3_finalize (stmt);
  filter_clear (&f);
  if (rc != SQLITE_OK)
    {
      set_sqlite_error (self, rc, "clearing the history", error);
      return 0;
    }
  return changed;
}

static void
dt_store_history_init (DtCallHistoryInterface *iface)
{
  iface->record_call = history_record_call;
  iface->update_call = history_update_call;
  iface->list_calls = history_list_calls;
  iface->get_call = history_get_call;
  iface->delete_calls = history_delete_calls;
  iface->clear_calls = history_clear_calls;
  iface->mark_seen = history_mark_seen;
}
