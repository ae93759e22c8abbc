#pragma once

#include "core/dt-media.h"
#include "dt-gst-receiver.h"

G_BEGIN_DECLS

/* The GStreamer media engine. GStreamer is initialised on first use (the
 * first call), not at start: an idle phone does not pay for it. */
#define DT_TYPE_GST_ENGINE (dt_gst_engine_get_type ())
G_DECLARE_FINAL_TYPE (DtGstEngine, dt_gst_engine, DT, GST_ENGINE, GObject)

DtGstEngine *dt_gst_engine_new (void);

/* For sessions: GStreamer is ready, and what "auto" means on this machine. */
gboolean     dt_gst_engine_ensure_init     (DtGstEngine  *self,
                                            GError      **error);
char        *dt_gst_engine_resolve_auto    (DtGstEngine  *self,
                                            gboolean      is_source);
/* The thread that receives every call's RTP; made at the first call. */
DtGstReceiver *dt_gst_engine_get_receiver  (DtGstEngine  *self,
                                            GError      **error);

G_END_DECLS
