#include <stdlib.h>
#include <string.h>

#include <glib.h>
#include <glib/gstdio.h>
#include <sqlite3.h>

#include "store/dt-store.h"

typedef struct {
  char *dir;
  char *path;
} Fixture;

static void
fixture_set_up (Fixture *f, gconstpointer data)
{
  f->dir = g_dir_make_tmp ("dt-store-XXXXXX", NULL);
  f->path = g_build_filename (f->dir, "dialtone.db", NULL);
}

static void
remove_tree (const char *dir)
{
  g_autoptr(GDir) d = g_dir_open (dir, 0, NULL);
  const char *name;

  while (d && (name = g_dir_read_name (d)) != NULL)
    {
      g_autofree char *p = g_build_filename (dir, name, NULL);
      if (g_file_test (p, G_FILE_TEST_IS_DIR))
        remove_tree (p);
      else
        g_unlink (p);
    }
  g_rmdir (dir);
}

static void
fixture_tear_down (Fixture *f, gconstpointer data)
{
  remove_tree (f->dir);
  g_free (f->path);
  g_free (f->dir);
}

/* The tests look at the file with SQLite directly, not through DtStore. */
static void
raw_exec (const char *path, const char *sql)
{
  sqlite3 *db = NULL;

  g_assert_cmpint (sqlite3_open (path, &db), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_exec (db, sql, NULL, NULL, NULL), ==, SQLITE_OK);
  sqlite3_close (db);
}

static char *
raw_query (const char *path, const char *sql)
{
  sqlite3 *db = NULL;
  sqlite3_stmt *stmt = NULL;
  char *result = NULL;

  g_assert_cmpint (sqlite3_open (path, &db), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_prepare_v2 (db, sql, -1, &stmt, NULL), ==, SQLITE_OK);
  if (sqlite3_step (stmt) == SQLITE_ROW)
    result = g_strdup ((const char *) sqlite3_column_text (stmt, 0));
  sqlite3_finalize (stmt);
  sqlite3_close (db);
  return result;
}

static GBytes *
read_bytes (const char *path)
{
  char *contents = NULL;
  gsize len = 0;

  g_assert_true (g_file_get_contents (path, &contents, &len, NULL));
  return g_bytes_new_take (contents, len);
}

static void
test_create (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(DtStore) store = dt_store_open (f->path, &error);
  g_autofree char *mode = NULL;
  g_autofree char *version = NULL;
  g_autofree char *table = NULL;

  g_assert_no_error (error);
  g_assert_nonnull (store);
  g_assert_cmpint (dt_store_get_schema_version (store), ==, dt_store_get_latest_schema_version ());
  g_assert_cmpint (dt_store_get_latest_schema_version (), >=, 1);
  dt_store_close (store);

  mode = raw_query (f->path, "PRAGMA journal_mode");
  g_assert_cmpstr (mode, ==, "wal");
  version = raw_query (f->path, "PRAGMA user_version");
  g_assert_cmpint (atoi (version), ==, dt_store_get_latest_schema_version ());
  table = raw_query (f->path, "SELECT name FROM sqlite_schema WHERE type = 'table' AND name = 'calls'");
  g_assert_cmpstr (table, ==, "calls");
}

static void
test_reopen_keeps_data (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(DtStore) first = dt_store_open (f->path, &error);
  g_autoptr(DtStore) second = NULL;
  g_autofree char *remote = NULL;

  g_assert_no_error (error);
  dt_store_close (first);
  raw_exec (f->path, "INSERT INTO calls (account_id, direction, remote_uri, state, created_usec) "
                     "VALUES ('work', 'outgoing', 'sip:bob@example.org', 'terminated', 1)");

  second = dt_store_open (f->path, &error);
  g_assert_no_error (error);
  g_assert_cmpint (dt_store_get_schema_version (second), ==, dt_store_get_latest_schema_version ());
  dt_store_close (second);
  remote = raw_query (f->path, "SELECT remote_uri FROM calls");
  g_assert_cmpstr (remote, ==, "sip:bob@example.org");
}

static void
assert_refused_and_untouched (Fixture      *f,
                              DtStoreError  code)
{
  g_autoptr(GBytes) before = read_bytes (f->path);
  g_autoptr(GBytes) after = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(DtStore) store = dt_store_open (f->path, &error);
  g_autofree char *wal = g_strconcat (f->path, "-wal", NULL);

  g_assert_null (store);
  g_assert_error (error, DT_STORE_ERROR, (int) code);
  g_assert_true (g_str_has_prefix (error->message, f->path));
  after = read_bytes (f->path);
  g_assert_true (g_bytes_equal (before, after));
  g_assert_false (g_file_test (wal, G_FILE_TEST_EXISTS));
}

static void
test_not_a_database (Fixture *f, gconstpointer data)
{
  g_autofree char *noise = g_malloc (8192);

  for (guint i = 0; i < 8192; i++)
    noise[i] = (char) g_test_rand_int_range (0, 256);
  g_assert_true (g_file_set_contents (f->path, noise, 8192, NULL));
  assert_refused_and_untouched (f, DT_STORE_ERROR_CORRUPT);
}

static void
test_damaged_page (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(DtStore) store = dt_store_open (f->path, &error);
  g_autofree char *contents = NULL;
  gsize len;

  g_assert_no_error (error);
  dt_store_close (store);
  /* Enough rows for several pages, then checkpoint into the main file. */
  raw_exec (f->path,
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 500) "
            "INSERT INTO calls (account_id, direction, remote_uri, state, created_usec) "
            "SELECT 'work', 'incoming', 'sip:caller' || i || '@example.org', 'terminated', i FROM n;"
            "PRAGMA wal_checkpoint(TRUNCATE); PRAGMA journal_mode = DELETE;");

  g_assert_true (g_file_get_contents (f->path, &contents, &len, NULL));
  g_assert_cmpuint (len, >, 4 * 4096);
  memset (contents + 2 * 4096, 0xA5, 64);
  g_assert_true (g_file_set_contents (f->path, contents, len, NULL));

  assert_refused_and_untouched (f, DT_STORE_ERROR_CORRUPT);
}

static void
test_newer_schema (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(DtStore) store = dt_store_open (f->path, &error);

  g_assert_no_error (error);
  dt_store_close (store);
  raw_exec (f->path, "PRAGMA journal_mode = DELETE; PRAGMA user_version = 999");
  assert_refused_and_untouched (f, DT_STORE_ERROR_TOO_NEW);
}

static void
test_unopenable (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(DtStore) store = NULL;

  /* A folder in place of the file fails whatever our uid (tests run as root). */
  g_assert_cmpint (g_mkdir (f->path, 0700), ==, 0);
  store = dt_store_open (f->path, &error);
  g_assert_null (store);
  g_assert_error (error, DT_STORE_ERROR, DT_STORE_ERROR_OPEN);
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  g_test_add ("/store/create", Fixture, NULL, fixture_set_up, test_create, fixture_tear_down);
  g_test_add ("/store/reopen-keeps-data", Fixture, NULL, fixture_set_up, test_reopen_keeps_data, fixture_tear_down);
  g_test_add ("/store/not-a-database", Fixture, NULL, fixture_set_up, test_not_a_database, fixture_tear_down);
  g_test_add ("/store/damaged-page", Fixture, NULL, fixture_set_up, test_damaged_page, fixture_tear_down);
  g_test_add ("/store/newer-schema", Fixture, NULL, fixture_set_up, test_newer_schema, fixture_tear_down);
  g_test_add ("/store/unopenable", Fixture, NULL, fixture_set_up, test_unopenable, fixture_tear_down);
  return g_test_run ();
}
