#pragma once

#include <glib-object.h>

G_BEGIN_DECLS

/* Which files a D-Bus client may have the daemon read (PlayFile, a file:
 * audio source) or write (StartRecording, a file: audio sink).
 *
 * Unrestricted (the session bus): the daemon runs as the user who talks to
 * it, so any absolute path is taken as given and opened with the user's
 * own rights. Restricted (the system bus, or restrict-paths=true): the
 * path, with ".." and every symbolic link resolved, must lie inside one of
 * the configured folders; anything else is AccessDenied, whether or not it
 * exists, so a client cannot probe the file system either. */

typedef enum {
  DT_PATH_ACCESS_READ,
  DT_PATH_ACCESS_WRITE,
} DtPathAccess;

#define DT_TYPE_PATH_POLICY (dt_path_policy_get_type ())
G_DECLARE_FINAL_TYPE (DtPathPolicy, dt_path_policy, DT, PATH_POLICY, GObject)

DtPathPolicy       *dt_path_policy_new            (void);
DtPathPolicy       *dt_path_policy_new_restricted (const char * const *read_dirs,
                                                   const char * const *write_dirs);
gboolean            dt_path_policy_is_restricted  (DtPathPolicy        *self);
const char * const *dt_path_policy_get_dirs       (DtPathPolicy        *self,
                                                   DtPathAccess         access);

/* The path to open, or NULL with a DT_ERROR whose message starts with
 * @key: InvalidArguments (not an absolute path, not a file name, bad
 * text), AccessDenied (outside the folders), NotFound (inside them, but
 * missing: the file to read, or the folder to write in). Restricted, the
 * path returned is the resolved one, so that what is opened is what was
 * checked. */
char               *dt_path_policy_check          (DtPathPolicy        *self,
                                                   const char          *key,
                                                   const char          *path,
                                                   DtPathAccess         access,
                                                   GError             **error);

G_END_DECLS
