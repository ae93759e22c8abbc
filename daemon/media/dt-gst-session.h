#pragma once

#include "core/dt-media.h"
#include "dt-gst-engine.h"

G_BEGIN_DECLS

/* One call's audio: a GStreamer pipeline around rtpbin, fed by sockets
 * bound when the session is created. */
#define DT_TYPE_GST_SESSION (dt_gst_session_get_type ())
G_DECLARE_FINAL_TYPE (DtGstSession, dt_gst_session, DT, GST_SESSION, GObject)

DtGstSession *dt_gst_session_new (DtGstEngine                *engine,
                                  const DtMediaSessionConfig *config,
                                  GError                    **error);

G_END_DECLS
