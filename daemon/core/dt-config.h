#pragma once

#include <glib-object.h>

#include "dt-settings.h"

G_BEGIN_DECLS

#define DT_TYPE_CONFIG (dt_config_get_type ())
G_DECLARE_FINAL_TYPE (DtConfig, dt_config, DT, CONFIG, GObject)

DtConfig   *dt_config_new        (void);
gboolean    dt_config_load_file  (DtConfig    *self,
                                  const char  *path,
                                  GError     **error);
/* The same from the file's text; @path only names it in messages. */
gboolean    dt_config_load_data  (DtConfig    *self,
                                  const char  *data,
                                  gsize        length,
                                  const char  *path,
                                  GError     **error);
DtSettings *dt_config_get_group  (DtConfig    *self,
                                  const char  *group);

G_END_DECLS
