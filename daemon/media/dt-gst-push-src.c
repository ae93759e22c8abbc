#include "dt-gst-push-src.h"

struct _DtGstPushSrc {
  GstElement  parent_instance;
  GstPad     *srcpad;
  GstCaps    *caps;
  /* Fixed by start(): the pipeline keeps one clock and base time (see
   * play_on_one_timeline in dt-gst-session.c). Read by the pushing thread
   * only after start() returned. */
  GstClock   *clock;
  GstClockTime base_time;
  gboolean    failed;     /* the pushing thread's */
  gint        ended;      /* atomic: an end of stream was sent */
};

enum {
  PROP_0,
  PROP_CAPS,
};

G_DEFINE_FINAL_TYPE (DtGstPushSrc, dt_gst_push_src, GST_TYPE_ELEMENT)

static GstStaticPadTemplate src_template =
  GST_STATIC_PAD_TEMPLATE ("src", GST_PAD_SRC, GST_PAD_ALWAYS, GST_STATIC_CAPS_ANY);

/* The jitter buffer adds its latency to what upstream reports; with no
 * answer here the pipeline's sinks would not wait for it at all. */
static gboolean
src_query (GstPad    *pad,
           GstObject *parent,
           GstQuery  *query)
{
  DtGstPushSrc *self = DT_GST_PUSH_SRC (parent);

  switch (GST_QUERY_TYPE (query))
    {
    case GST_QUERY_LATENCY:
      gst_query_set_latency (query, TRUE, 0, GST_CLOCK_TIME_NONE);
      return TRUE;
    case GST_QUERY_CAPS:
      {
        GstCaps *filter = NULL;
        g_autoptr(GstCaps) caps = NULL;

        gst_query_parse_caps (query, &filter);
        GST_OBJECT_LOCK (self);
        caps = self->caps ? gst_caps_ref (self->caps) : gst_caps_new_any ();
        GST_OBJECT_UNLOCK (self);
        if (filter != NULL)
          {
            GstCaps *both = gst_caps_intersect_full (filter, caps, GST_CAPS_INTERSECT_FIRST);

            gst_caps_unref (caps);
            caps = both;
          }
        gst_query_set_caps_result (query, caps);
        return TRUE;
      }
    default:
      return gst_pad_query_default (pad, parent, query);
    }
}

gboolean
dt_gst_push_src_start (DtGstPushSrc *self)
{
  g_autofree char *stream_id = gst_pad_create_stream_id (self->srcpad, GST_ELEMENT (self), NULL);
  GstEvent *start = gst_event_new_stream_start (stream_id);
  GstSegment segment;
  g_autoptr(GstCaps) caps = NULL;

  g_return_val_if_fail (self->clock == NULL, FALSE);
  self->clock = gst_element_get_clock (GST_ELEMENT (self));
  self->base_time = gst_element_get_base_time (GST_ELEMENT (self));
  if (self->clock == NULL)
    {
      gst_event_unref (start);
      return FALSE;
    }
  GST_OBJECT_LOCK (self);
  caps = self->caps ? gst_caps_ref (self->caps) : NULL;
  GST_OBJECT_UNLOCK (self);
  gst_event_set_group_id (start, gst_util_group_id_next ());
  gst_segment_init (&segment, GST_FORMAT_TIME);
  return gst_pad_push_event (self->srcpad, start) &&
         (caps == NULL || gst_pad_push_event (self->srcpad, gst_event_new_caps (caps))) &&
         gst_pad_push_event (self->srcpad, gst_event_new_segment (&segment));
}

GstFlowReturn
dt_gst_push_src_push (DtGstPushSrc *self,
                      const void   *data,
                      gsize         size)
{
  GstBuffer *buffer;
  GstClockTime now;
  GstFlowReturn flow;

  if (self->clock == NULL || self->failed)
    return GST_FLOW_FLUSHING;
  if (g_atomic_int_get (&self->ended))
    return GST_FLOW_EOS;
  buffer = gst_buffer_new_memdup (data, size);
  now = gst_clock_get_time (self->clock);
  GST_BUFFER_DTS (buffer) = GST_BUFFER_PTS (buffer) = now > self->base_time ? now - self->base_time : 0;
  flow = gst_pad_push (self->srcpad, buffer);
  /* As a source's task would: a stream that cannot go on is an error of
   * the pipeline, not of every later packet. */
  if (flow == GST_FLOW_NOT_LINKED || flow < GST_FLOW_EOS)
    {
      self->failed = TRUE;
      GST_ELEMENT_FLOW_ERROR (self, flow);
    }
  return flow;
}

/* The pipeline's end of stream (a recording finishing its file) enters
 * here, as at any source: it goes downstream at once, and what the
 * receiver pushes after it is refused. */
static gboolean
dt_gst_push_src_send_event (GstElement *element,
                            GstEvent   *event)
{
  DtGstPushSrc *self = DT_GST_PUSH_SRC (element);

  if (!GST_EVENT_IS_DOWNSTREAM (event))
    return GST_ELEMENT_CLASS (dt_gst_push_src_parent_class)->send_event (element, event);
  if (GST_EVENT_TYPE (event) == GST_EVENT_EOS)
    g_atomic_int_set (&self->ended, TRUE);
  return gst_pad_push_event (self->srcpad, event);
}

static GstStateChangeReturn
dt_gst_push_src_change_state (GstElement     *element,
                              GstStateChange  transition)
{
  GstStateChangeReturn ret = GST_ELEMENT_CLASS (dt_gst_push_src_parent_class)->change_state (element, transition);

  if (ret == GST_STATE_CHANGE_FAILURE)
    return ret;
  /* Live: nothing to preroll, like any capture. */
  switch (transition)
    {
    case GST_STATE_CHANGE_READY_TO_PAUSED:
    case GST_STATE_CHANGE_PLAYING_TO_PAUSED:
      return GST_STATE_CHANGE_NO_PREROLL;
    default:
      return ret;
    }
}

static void
dt_gst_push_src_set_property (GObject      *object,
                              guint         prop_id,
                              const GValue *value,
                              GParamSpec   *pspec)
{
  DtGstPushSrc *self = DT_GST_PUSH_SRC (object);

  switch (prop_id)
    {
    case PROP_CAPS:
      GST_OBJECT_LOCK (self);
      gst_caps_take (&self->caps, g_value_dup_boxed (value));
      GST_OBJECT_UNLOCK (self);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
dt_gst_push_src_get_property (GObject    *object,
                              guint       prop_id,
                              GValue     *value,
                              GParamSpec *pspec)
{
  DtGstPushSrc *self = DT_GST_PUSH_SRC (object);

  switch (prop_id)
    {
    case PROP_CAPS:
      GST_OBJECT_LOCK (self);
      gst_value_set_caps (value, self->caps);
      GST_OBJECT_UNLOCK (self);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
dt_gst_push_src_finalize (GObject *object)
{
  DtGstPushSrc *self = DT_GST_PUSH_SRC (object);

  g_clear_pointer (&self->caps, gst_caps_unref);
  g_clear_object (&self->clock);
  G_OBJECT_CLASS (dt_gst_push_src_parent_class)->finalize (object);
}

static void
dt_gst_push_src_class_init (DtGstPushSrcClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);

  object_class->set_property = dt_gst_push_src_set_property;
  object_class->get_property = dt_gst_push_src_get_property;
  object_class->finalize = dt_gst_push_src_finalize;
  element_class->change_state = dt_gst_push_src_change_state;
  element_class->send_event = dt_gst_push_src_send_event;
  g_object_class_install_property (object_class, PROP_CAPS,
    g_param_spec_boxed ("caps", "Caps", "What the pushed datagrams are", GST_TYPE_CAPS,
                        G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS));
  gst_element_class_add_static_pad_template (element_class, &src_template);
  gst_element_class_set_static_metadata (element_class, "Pushed datagram source", "Source/Network",
                                         "Datagrams pushed by the daemon's RTP receiver thread",
                                         "Dialtone");
}

static void
dt_gst_push_src_init (DtGstPushSrc *self)
{
  self->srcpad = gst_pad_new_from_static_template (&src_template, "src");
  gst_pad_set_query_function (self->srcpad, src_query);
  gst_element_add_pad (GST_ELEMENT (self), self->srcpad);
  GST_OBJECT_FLAG_SET (self, GST_ELEMENT_FLAG_SOURCE);
}

gboolean
dt_gst_push_src_register (void)
{
  return gst_element_register (NULL, "dtpushsrc", GST_RANK_NONE, DT_TYPE_GST_PUSH_SRC);
}
