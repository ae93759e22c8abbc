#pragma once

#include <gmodule.h>

#include "core/dt-media.h"

G_BEGIN_DECLS

/* The media engine dialtoned links: it stands for the GStreamer engine,
 * which lives in a module (dt-media-gst.so) loaded when a call first needs
 * media, so that an idle daemon maps neither GStreamer nor what it links.
 * Endpoint checks need no module. A module that cannot be loaded fails
 * every session with an error naming the file (the call then ends with
 * media-failed). */
#define DT_TYPE_MEDIA_MODULE (dt_media_module_get_type ())
G_DECLARE_FINAL_TYPE (DtMediaModule, dt_media_module, DT, MEDIA_MODULE, GObject)

/* The file name of the module in @directory. */
#define DT_MEDIA_MODULE_NAME "dt-media-gst." G_MODULE_SUFFIX

DtMediaModule *dt_media_module_new (const char *directory);

G_END_DECLS
