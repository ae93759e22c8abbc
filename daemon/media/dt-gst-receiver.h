#pragma once

#include <gio/gio.h>

#include "dt-gst-push-src.h"

G_BEGIN_DECLS

/* One thread that reads every call's RTP and RTCP sockets (epoll) and
 * pushes what arrives into the calls' pipelines, in place of a udpsrc
 * thread per socket: a packet that finds the thread awake costs no
 * wake-up, and with many calls most do. */
#define DT_TYPE_GST_RECEIVER (dt_gst_receiver_get_type ())
G_DECLARE_FINAL_TYPE (DtGstReceiver, dt_gst_receiver, DT, GST_RECEIVER, GObject)

typedef struct _DtGstReceiverEntry DtGstReceiverEntry;

DtGstReceiver      *dt_gst_receiver_new    (GError        **error);

/* Datagrams arriving on @socket go to @source (started) from now on;
 * @packets, if given, is incremented (atomically) for each. */
DtGstReceiverEntry *dt_gst_receiver_add    (DtGstReceiver  *self,
                                            GSocket        *socket,
                                            DtGstPushSrc   *source,
                                            gint           *packets,
                                            GError        **error);

/* Main thread; returns once nothing more is pushed to the entry's
 * source. Takes the entry. */
void                dt_gst_receiver_remove (DtGstReceiver      *self,
                                            DtGstReceiverEntry *entry);

G_END_DECLS
