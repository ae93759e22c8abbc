#include "dt-store.h"

#include <sqlite3.h>

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
};

struct _DtStore {
  GObject  parent_instance;
  char    *path;
  sqlite3 *db;
  int      schema_version;
};

G_DEFINE_FINAL_TYPE (DtStore, dt_store, G_TYPE_OBJECT)

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
