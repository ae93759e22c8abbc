#pragma once

#include <gst/gst.h>

G_BEGIN_DECLS

/* A live source with no thread of its own: another thread (the daemon's
 * RTP receiver, which reads every call's sockets) pushes each datagram
 * through it, stamped with its arrival on the pipeline's clock, as
 * udpsrc's own thread would. Factory "dtpushsrc", property "caps". */
#define DT_TYPE_GST_PUSH_SRC (dt_gst_push_src_get_type ())
G_DECLARE_FINAL_TYPE (DtGstPushSrc, dt_gst_push_src, DT, GST_PUSH_SRC, GstElement)

/* Registers the factory; after gst_init. */
gboolean      dt_gst_push_src_register (void);

/* Once the pipeline plays on its final clock and base time: sends
 * stream-start, caps and segment downstream. */
gboolean      dt_gst_push_src_start    (DtGstPushSrc *self);

/* Any thread, one at a time, after start: pushes @data as one buffer. A
 * flow error is posted on the bus as udpsrc would (the call fails). */
GstFlowReturn dt_gst_push_src_push     (DtGstPushSrc *self,
                                        const void   *data,
                                        gsize         size);

G_END_DECLS
