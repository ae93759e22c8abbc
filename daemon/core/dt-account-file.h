#pragma once

#include "dt-settings.h"

G_BEGIN_DECLS

/* accounts/<id>.account: one [account] group with the account's settings
 * (the id is the file name). Written atomically with mode 0600: they may
 * hold a password. */

DtSettings *dt_account_file_load   (const char        *path,
                                    GError           **error);
/* The same from the file's text, for the account @id; @path only names
 * the file in messages. */
DtSettings *dt_account_file_parse  (const char        *id,
                                    const char        *data,
                                    gsize              length,
                                    const char        *path,
                                    GError           **error);
gboolean    dt_account_file_save   (const char        *dir,
                                    const DtSettings  *settings,
                                    GError           **error);
gboolean    dt_account_file_delete (const char        *dir,
                                    const char        *id,
                                    GError           **error);

G_END_DECLS
