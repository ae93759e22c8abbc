#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Whether @endpoint names an audio source (@is_source) or sink that the
 * media engine knows, and, for files, what can be checked before a call:
 * a source must be readable, a sink's folder must exist. Needs no
 * GStreamer, so that start-up checks the configuration without loading
 * the media module. */
gboolean dt_media_check_endpoint (const char  *endpoint,
                                  gboolean     is_source,
                                  GError     **error);

G_END_DECLS
