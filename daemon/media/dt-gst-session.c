#include "dt-gst-session.h"

#include <stdio.h>
#include <string.h>

#include <gio/gio.h>
#include <gst/gst.h>

#include "core/dt-error.h"

/* How long the file mixer waits for its live silence before mixing
 * without it: only matters on a loaded machine. */
#define MIXER_SLACK_MS 40

/* How long a stopping pipeline may take to drain (finishing WAV headers)
 * before it is torn down anyway. */
#define DRAIN_BOUND_MS 2000
#define BIND_ATTEMPTS 64

typedef struct {
  const char *encoding;
  const char *encoder;
  const char *decoder;
  const char *payloader;
  const char *depayloader;
  guint       audio_rate;  /* of the raw audio, not the RTP clock */
} CodecElements;

static const CodecElements codec_elements[] = {
  { "PCMU", "mulawenc", "mulawdec", "rtppcmupay", "rtppcmudepay", 8000 },
  { "PCMA", "alawenc", "alawdec", "rtppcmapay", "rtppcmadepay", 8000 },
  { "G722", "avenc_g722", "avdec_g722", "rtpg722pay", "rtpg722depay", 16000 },
  { "opus", "opusenc", "opusdec", "rtpopuspay", "rtpopusdepay", 48000 },
};

/* What streaming threads may read: fixed for the life of one pipeline. */
typedef struct {
  DtMediaDescription *local;        /* payload types we receive */
  GstElement         *rx_selector;  /* NULL: nothing is decoded (null sink) */
  GstElement         *pipeline;
  GstCaps            *raw_caps;     /* the format every branch converts to */
} Snapshot;

struct _DtGstSession {
  GObject              parent_instance;

  DtGstEngine         *engine;
  char                *source;
  char                *sink;
  guint                jitter_ms;
  guint                rtp_timeout_ms;

  GSocket             *rtp_socket;
  GSocket             *rtcp_socket;
  char                *local_address;
  guint                local_port;

  GstElement          *pipeline;
  GstElement          *send_valve;
  guint                bus_watch;
  Snapshot            *snapshot;
  DtMediaDescription  *local;
  DtMediaDescription  *remote;

  gint                 rx_packets;   /* atomic: counted in a streaming thread */
  gint                 rx_seen;
  gint64               rx_changed_usec;
  guint                rtp_timer;
  gboolean             failed;
  gboolean             stopped;
  guint                drain_timer;
};

static void dt_gst_session_iface_init (DtMediaSessionInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (DtGstSession, dt_gst_session, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (DT_TYPE_MEDIA_SESSION, dt_gst_session_iface_init))

static const CodecElements *
elements_for (const DtCodec *codec)
{
  for (guint i = 0; codec && i < G_N_ELEMENTS (codec_elements); i++)
    if (g_ascii_strcasecmp (codec->name, codec_elements[i].encoding) == 0)
      return &codec_elements[i];
  return NULL;
}

static void
fail (DtGstSession *self,
      const char   *message)
{
  if (self->failed || self->stopped)
    return;
  self->failed = TRUE;
  g_signal_emit_by_name (self, "failed", message);
}

static GstElement *
make (const char  *factory,
      GError     **error)
{
  GstElement *element = gst_element_factory_make (factory, NULL);

  if (element == NULL)
    g_set_error (error, DT_ERROR, DT_ERROR_FAILED,
                 "GStreamer element '%s' is missing (is its plugin package installed?)", factory);
  return element;
}

/* Sockets */

static GSocket *
bind_udp (GInetAddress  *address,
          guint          port,
          GError       **error)
{
  g_autoptr(GSocket) socket = g_socket_new (g_inet_address_get_family (address), G_SOCKET_TYPE_DATAGRAM,
                                            G_SOCKET_PROTOCOL_UDP, error);
  g_autoptr(GSocketAddress) where = NULL;

  if (socket == NULL)
    return NULL;
  where = g_inet_socket_address_new (address, port);
  /* No SO_REUSEADDR: a port another process holds is refused, not shared. */
  if (!g_socket_bind (socket, where, FALSE, error))
    return NULL;
  return g_steal_pointer (&socket);
}

static guint
socket_port (GSocket *socket)
{
  g_autoptr(GSocketAddress) local = g_socket_get_local_address (socket, NULL);

  return local ? g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (local)) : 0;
}

/* RTP on an even port, RTCP on the next one (RFC 3550). */
static gboolean
bind_pair (DtGstSession  *self,
           const char    *bind_address,
           guint          port_min,
           guint          port_max,
           GError       **error)
{
  g_autoptr(GInetAddress) address = g_inet_address_new_from_string (bind_address ? bind_address : "0.0.0.0");
  g_autoptr(GError) last_error = NULL;

  if (address == NULL)
    {
      g_set_error (error, DT_ERROR, DT_ERROR_INVALID_ARGUMENTS, "'%s' is not an IP address", bind_address);
      return FALSE;
    }
  for (guint attempt = 0; attempt < BIND_ATTEMPTS; attempt++)
    {
      g_autoptr(GSocket) rtp = NULL;
      g_autoptr(GSocket) rtcp = NULL;
      guint port = 0;

      /* An even port whose RTCP port + 1 stays in [min, max]; the daemon
       * made sure there is at least one. */
      if (port_min > 0 && port_max > port_min)
        {
          guint first = (port_min + 1) & ~1u;

          port = first + 2 * (guint) g_random_int_range (0, (gint) (port_max - first + 1) / 2);
        }
      g_clear_error (&last_error);
      rtp = bind_udp (address, port, &last_error);
      if (rtp == NULL)
        continue;
      port = socket_port (rtp);
      if (port % 2 != 0)
        continue;
      rtcp = bind_udp (address, port + 1, &last_error);
      if (rtcp == NULL)
        continue;
      self->rtp_socket = g_steal_pointer (&rtp);
      self->rtcp_socket = g_steal_pointer (&rtcp);
      self->local_port = port;
      self->local_address = g_inet_address_to_string (address);
      return TRUE;
    }
  g_set_error (error, DT_ERROR, DT_ERROR_FAILED, "no free RTP port pair%s%s",
               last_error ? ": " : "", last_error ? last_error->message : "");
  return FALSE;
}

/* Pipeline pieces */

static GstElement *
make_source (DtGstSession  *self,
             guint          rate,
             GError       **error)
{
  const char *source = self->source;
  GstElement *element = NULL;

  if (g_str_equal (source, "silence"))
    return NULL;  /* the mixer's own silence base suffices */
  if (g_str_equal (source, "tone"))
    {
      if ((element = make ("audiotestsrc", error)) != NULL)
        g_object_set (element, "wave", 0 /* sine */, "freq", 440.0, "volume", 0.3, "is-live", TRUE,
                      "samplesperbuffer", rate / 50, NULL);
      return element;
    }
  if (g_str_equal (source, "pulse"))
    return make ("pulsesrc", error);
  if (g_str_equal (source, "pipewire"))
    return make ("pipewiresrc", error);
  if (g_str_has_prefix (source, "alsa:"))
    {
      if ((element = make ("alsasrc", error)) != NULL)
        g_object_set (element, "device", source + 5, NULL);
      return element;
    }
  if (g_str_has_prefix (source, "file:"))
    {
      GstElement *bin = gst_bin_new (NULL);
      GstElement *file = make ("filesrc", error);
      GstElement *parse = file ? make ("wavparse", error) : NULL;
      g_autoptr(GstPad) pad = NULL;

      if (parse == NULL)
        {
          g_clear_object (&file);
          gst_object_unref (gst_object_ref_sink (bin));
          return NULL;
        }
      g_object_set (file, "location", source + 5, NULL);
      gst_bin_add_many (GST_BIN (bin), file, parse, NULL);
      gst_element_link (file, parse);
      pad = gst_element_get_static_pad (parse, "src");
      gst_element_add_pad (bin, gst_ghost_pad_new ("src", pad));
      return bin;
    }
  g_set_error (error, DT_ERROR, DT_ERROR_INVALID_ARGUMENTS, "unknown audio source '%s'", source);
  return NULL;
}

static GstElement *
make_sink (DtGstSession  *self,
           GError       **error)
{
  const char *sink = self->sink;
  GstElement *element = NULL;

  if (g_str_equal (sink, "null"))
    {
      if ((element = make ("fakesink", error)) != NULL)
        g_object_set (element, "sync", FALSE, "async", FALSE, NULL);
      return element;
    }
  if (g_str_equal (sink, "pulse"))
    return make ("pulsesink", error);
  if (g_str_equal (sink, "pipewire"))
    return make ("pipewiresink", error);
  if (g_str_has_prefix (sink, "alsa:"))
    {
      if ((element = make ("alsasink", error)) != NULL)
        g_object_set (element, "device", sink + 5, NULL);
      return element;
    }
  if (g_str_has_prefix (sink, "file:"))
    {
      GstElement *bin = gst_bin_new (NULL);
      GstElement *queue = make ("queue", error);
      GstElement *wav = queue ? make ("wavenc", error) : NULL;
      GstElement *file = wav ? make ("filesink", error) : NULL;
      g_autoptr(GstPad) pad = NULL;

      if (file == NULL)
        {
          g_clear_object (&queue);
          g_clear_object (&wav);
          gst_object_unref (gst_object_ref_sink (bin));
          return NULL;
        }
      /* Written as a sound card would play it (on the clock, after the
       * jitter buffer), and straight to the file: what is in the file is
       * what was heard, and survives an abrupt end. A sound card takes a
       * buffer and returns; a synced file sink blocks until its time, so
       * the queue keeps that wait from holding packets in the jitter
       * buffer (which would drop them as too late). */
      g_object_set (file, "location", sink + 5, "async", FALSE, "sync", TRUE, "buffer-mode", 2 /* unbuffered */,
                    NULL);
      gst_bin_add_many (GST_BIN (bin), queue, wav, file, NULL);
      gst_element_link_many (queue, wav, file, NULL);
      pad = gst_element_get_static_pad (queue, "sink");
      gst_element_add_pad (bin, gst_ghost_pad_new ("sink", pad));
      return bin;
    }
  g_set_error (error, DT_ERROR, DT_ERROR_INVALID_ARGUMENTS, "unknown audio sink '%s'", sink);
  return NULL;
}

/* A live silence source: keeps a mixer producing in real time whatever its
 * other inputs do (a file that ended, a remote that is silent). */
static GstElement *
make_silence (guint    rate,
              GError **error)
{
  GstElement *silence = make ("audiotestsrc", error);

  if (silence != NULL)
    g_object_set (silence, "wave", 4 /* silence */, "is-live", TRUE, "samplesperbuffer", rate / 50, NULL);
  return silence;
}

static GstCaps *
raw_caps (guint rate,
          guint channels)
{
  return gst_caps_new_simple ("audio/x-raw", "format", G_TYPE_STRING, "S16LE", "layout", G_TYPE_STRING,
                              "interleaved", "rate", G_TYPE_INT, (int) rate, "channels", G_TYPE_INT,
                              (int) channels, NULL);
}

/* A file's buffers are stamped from 0, but a live mixer has been running
 * since the call started (for a while, on a loaded machine): shift the
 * branch to start at the running time of its first buffer, or the mixer
 * drops it as late. Runs in a streaming thread, on GStreamer objects. */
static GstPadProbeReturn
start_now (GstPad          *pad,
           GstPadProbeInfo *info,
           gpointer         user_data)
{
  GstElement *pipeline = user_data;
  g_autoptr(GstClock) clock = gst_element_get_clock (pipeline);

  if (clock != NULL)
    gst_pad_set_offset (pad, (gint64) (gst_clock_get_time (clock) - gst_element_get_base_time (pipeline)));
  return GST_PAD_PROBE_REMOVE;
}

/* element ! audioconvert ! audioresample ! capsfilter: every branch is
 * pinned to the call's one raw format, so nothing renegotiates mid-call.
 * Returns the capsfilter, to link onwards. */
static GstElement *
add_converter (GstElement  *pipeline,
               GstElement  *upstream,
               GstCaps     *caps,
               GError     **error)
{
  GstElement *convert = make ("audioconvert", error);
  GstElement *resample = convert ? make ("audioresample", error) : NULL;
  GstElement *filter = resample ? make ("capsfilter", error) : NULL;

  if (filter == NULL)
    {
      g_clear_object (&convert);
      g_clear_object (&resample);
      return NULL;
    }
  g_object_set (filter, "caps", caps, NULL);
  gst_bin_add_many (GST_BIN (pipeline), convert, resample, filter, NULL);
  if (!gst_element_link_many (upstream, convert, resample, filter, NULL))
    {
      g_set_error_literal (error, DT_ERROR, DT_ERROR_FAILED, "cannot convert an audio branch");
      return NULL;
    }
  return filter;
}

static GstCaps *
on_request_pt_map (GstElement *rtpbin,
                   guint       session,
                   guint       pt,
                   gpointer    user_data)
{
  Snapshot *snap = user_data;
  const DtCodec *codec = dt_media_description_find_pt (snap->local, pt);
  g_autofree char *encoding = NULL;

  if (codec == NULL)
    {
      g_debug ("RTP payload type %u is not in our SDP: dropped", pt);
      return NULL;
    }
  encoding = g_ascii_strup (codec->name, -1);
  /* rtpopusdepay wants "OPUS"; the others are upper case in GStreamer too. */
  return gst_caps_new_simple ("application/x-rtp", "media", G_TYPE_STRING, "audio",
                              "clock-rate", G_TYPE_INT, (int) codec->clock_rate,
                              "encoding-name", G_TYPE_STRING, encoding,
                              "payload", G_TYPE_INT, (int) pt, NULL);
}

/* Runs in a streaming thread: builds the decoding chain of a new stream.
 * It touches only GStreamer objects and the snapshot (fixed while this
 * pipeline lives). */
static void
on_rtpbin_pad_added (GstElement *rtpbin,
                     GstPad     *pad,
                     gpointer    user_data)
{
  Snapshot *snap = user_data;
  g_autofree char *name = gst_pad_get_name (pad);
  guint session = 0, ssrc = 0, pt = 0;
  const DtCodec *codec;
  const CodecElements *elements;
  GstElement *depay, *decode, *converted;
  g_autoptr(GstPad) sink_pad = NULL;
  g_autoptr(GstPad) out_pad = NULL;
  GstPad *selector_pad;

  if (sscanf (name, "recv_rtp_src_%u_%u_%u", &session, &ssrc, &pt) != 3)
    return;
  codec = dt_media_description_find_pt (snap->local, pt);
  elements = codec ? elements_for (codec) : NULL;

  /* Events (DTMF), or nothing plays what we receive: no decoding. */
  if (elements == NULL || snap->rx_selector == NULL)
    {
      GstElement *sink = gst_element_factory_make ("fakesink", NULL);

      if (sink == NULL)
        return;
      g_object_set (sink, "sync", FALSE, "async", FALSE, NULL);
      gst_bin_add (GST_BIN (snap->pipeline), sink);
      gst_element_sync_state_with_parent (sink);
      sink_pad = gst_element_get_static_pad (sink, "sink");
      gst_pad_link (pad, sink_pad);
      return;
    }

  depay = gst_element_factory_make (elements->depayloader, NULL);
  decode = gst_element_factory_make (elements->decoder, NULL);
  if (depay == NULL || decode == NULL)
    {
      g_clear_object (&depay);
      g_clear_object (&decode);
      return;
    }
  gst_bin_add_many (GST_BIN (snap->pipeline), depay, decode, NULL);
  gst_element_link (depay, decode);
  converted = add_converter (snap->pipeline, decode, snap->raw_caps, NULL);
  if (converted == NULL)
    return;

  /* The newest stream is the one to hear: a re-INVITE or a transfer can
   * bring a new SSRC. */
  selector_pad = gst_element_request_pad_simple (snap->rx_selector, "sink_%u");
  out_pad = gst_element_get_static_pad (converted, "src");
  gst_pad_link (out_pad, selector_pad);
  g_object_set (snap->rx_selector, "active-pad", selector_pad, NULL);
  gst_object_unref (selector_pad);
  gst_bin_sync_children_states (GST_BIN (snap->pipeline));

  sink_pad = gst_element_get_static_pad (depay, "sink");
  if (gst_pad_link (pad, sink_pad) != GST_PAD_LINK_OK)
    g_warning ("Cannot decode RTP stream %s", name);
  else
    {
      g_debug ("Decoding RTP stream %s (%s)", name, codec->name);
      /* The sink now plays after the jitter buffer: have the pipeline
       * take its latency into account (handled on the main thread). */
      gst_element_post_message (snap->pipeline, gst_message_new_latency (GST_OBJECT (snap->pipeline)));
    }
}

static GstPadProbeReturn
count_rtp (GstPad          *pad,
           GstPadProbeInfo *info,
           gpointer         user_data)
{
  DtGstSession *self = user_data;

  g_atomic_int_inc (&self->rx_packets);
  return GST_PAD_PROBE_OK;
}

static void
snapshot_free (Snapshot *snap)
{
  if (snap == NULL)
    return;
  dt_media_description_free (snap->local);
  gst_caps_unref (snap->raw_caps);
  g_free (snap);
}

static gboolean
on_bus_message (GstBus     *bus,
                GstMessage *message,
                gpointer    user_data)
{
  DtGstSession *self = user_data;

  switch (GST_MESSAGE_TYPE (message))
    {
    case GST_MESSAGE_ERROR:
      {
        g_autoptr(GError) error = NULL;
        g_autofree char *debug = NULL;
        g_autofree char *text = NULL;

        gst_message_parse_error (message, &error, &debug);
        text = g_strdup_printf ("%s: %s", GST_OBJECT_NAME (GST_MESSAGE_SRC (message)), error->message);
        g_debug ("GStreamer error: %s (%s)", text, debug ? debug : "");
        fail (self, text);
        break;
      }
    case GST_MESSAGE_WARNING:
      {
        g_autoptr(GError) error = NULL;

        gst_message_parse_warning (message, &error, NULL);
        g_debug ("GStreamer warning from %s: %s", GST_OBJECT_NAME (GST_MESSAGE_SRC (message)),
                 error->message);
        break;
      }
    case GST_MESSAGE_LATENCY:
      /* The application's duty: without it, a branch added mid-call
       * (the decoder after the jitter buffer) would play with the
       * latency of the pipeline as it was before. */
      if (self->pipeline != NULL)
        gst_bin_recalculate_latency (GST_BIN (self->pipeline));
      break;
    default:
      break;
    }
  return G_SOURCE_CONTINUE;
}

static void
destroy_pipeline (DtGstSession *self)
{
  if (self->pipeline == NULL)
    return;
  g_clear_handle_id (&self->bus_watch, g_source_remove);
  gst_element_set_state (self->pipeline, GST_STATE_NULL);
  g_clear_object (&self->pipeline);
  self->send_valve = NULL;
  g_clear_pointer (&self->snapshot, snapshot_free);
}

static gboolean
add_udpsink (GstElement  *pipeline,
             GSocket     *socket,
             const char  *host,
             guint        port,
             GstElement  *rtpbin,
             const char  *rtpbin_pad,
             GError     **error)
{
  GstElement *sink = make ("udpsink", error);

  if (sink == NULL)
    return FALSE;
  /* Our receiving socket also sends: symmetric RTP, one NAT binding. */
  g_object_set (sink, "socket", socket, "close-socket", FALSE, "host", host, "port", (int) port,
                "sync", FALSE, "async", FALSE, NULL);
  gst_bin_add (GST_BIN (pipeline), sink);
  if (!gst_element_link_pads (rtpbin, rtpbin_pad, sink, "sink"))
    {
      g_set_error (error, DT_ERROR, DT_ERROR_FAILED, "cannot link rtpbin %s", rtpbin_pad);
      return FALSE;
    }
  return TRUE;
}

static GstElement *
add_udpsrc (GstElement  *pipeline,
            GSocket     *socket,
            const char  *caps,
            GstElement  *rtpbin,
            const char  *rtpbin_pad,
            GError     **error)
{
  GstElement *src = make ("udpsrc", error);
  g_autoptr(GstCaps) c = NULL;

  if (src == NULL)
    return NULL;
  c = gst_caps_from_string (caps);
  g_object_set (src, "socket", socket, "close-socket", FALSE, "caps", c, NULL);
  gst_bin_add (GST_BIN (pipeline), src);
  if (!gst_element_link_pads (src, "src", rtpbin, rtpbin_pad))
    {
      g_set_error (error, DT_ERROR, DT_ERROR_FAILED, "cannot link rtpbin %s", rtpbin_pad);
      return NULL;
    }
  return src;
}

static gboolean
should_send (const DtMediaDescription *local,
             const DtMediaDescription *remote)
{
  return DT_MEDIA_DIRECTION_SENDS (local->direction) && DT_MEDIA_DIRECTION_RECEIVES (remote->direction);
}

static gboolean
build_pipeline (DtGstSession              *self,
                const DtMediaDescription  *local,
                const DtMediaDescription  *remote,
                GError                   **error)
{
  const DtCodec *send_codec = dt_media_description_audio_codec (remote);
  const CodecElements *elements = elements_for (send_codec);
  g_autoptr(GstElement) pipeline = NULL;
  GstElement *rtpbin, *source, *send_out, *valve, *encoder, *payloader, *rtp_src;
  GstElement *rx_selector = NULL;
  g_autoptr(GstCaps) caps = NULL;
  g_autoptr(GstPad) probe_pad = NULL;
  g_autoptr(GstBus) bus = NULL;
  guint rate, channels = 1, ptime;

  if (elements == NULL)
    {
      g_set_error (error, DT_ERROR, DT_ERROR_NOT_SUPPORTED, "no GStreamer elements for codec %s",
                   send_codec ? send_codec->name : "(none)");
      return FALSE;
    }
  rate = elements->audio_rate;
  ptime = remote->ptime ? remote->ptime : (local->ptime ? local->ptime : 20);
  caps = raw_caps (rate, channels);

  pipeline = gst_object_ref_sink (gst_pipeline_new (NULL));
  if ((rtpbin = make ("rtpbin", error)) == NULL)
    return FALSE;
  /* A phone's jitter buffer: rtpbin's 200 ms default is a long pause in a
   * conversation. Late packets are dropped, not waited for. */
  /* Sender reports map RTP time to the capture time (RFC 3550 6.4.1),
   * which is what lets the far end measure mouth-to-wire delay. */
  g_object_set (rtpbin, "latency", self->jitter_ms, "autoremove", TRUE, "drop-on-latency", TRUE,
                "rtcp-sync-send-time", FALSE, NULL);
  gst_bin_add (GST_BIN (pipeline), rtpbin);

  /* Sending: source → encoder → payloader → rtpbin, with no mixer for a
   * live source. A file is not live: it is mixed onto live silence, which
   * keeps the pace and the RTP flowing once the file has ended. */
  source = make_source (self, rate, error);
  if (source == NULL && error && *error)
    return FALSE;
  if (source == NULL)
    {
      if ((source = make_silence (rate, error)) == NULL)
        return FALSE;
      gst_bin_add (GST_BIN (pipeline), source);
    }
  else if (g_str_has_prefix (self->source, "file:"))
    {
      GstElement *silence = make_silence (rate, error);
      GstElement *mixer = silence ? make ("audiomixer", error) : NULL;
      GstElement *silence_out, *file_out;
      g_autoptr(GstPad) file_pad = NULL;

      if (mixer == NULL)
        {
          g_clear_object (&silence);
          gst_object_unref (gst_object_ref_sink (source));
          return FALSE;
        }
      g_object_set (mixer, "latency", (guint64) MIXER_SLACK_MS * GST_MSECOND, NULL);
      gst_bin_add_many (GST_BIN (pipeline), silence, source, mixer, NULL);
      if ((silence_out = add_converter (pipeline, silence, caps, error)) == NULL ||
          (file_out = add_converter (pipeline, source, caps, error)) == NULL ||
          !gst_element_link (silence_out, mixer) || !gst_element_link (file_out, mixer))
        {
          if (error && !*error)
            g_set_error_literal (error, DT_ERROR, DT_ERROR_FAILED, "cannot link the file mixer");
          return FALSE;
        }
      file_pad = gst_element_get_static_pad (source, "src");
      gst_pad_add_probe (file_pad, GST_PAD_PROBE_TYPE_BUFFER, start_now, pipeline, NULL);
      source = mixer;
    }
  else
    gst_bin_add (GST_BIN (pipeline), source);

  if ((send_out = add_converter (pipeline, source, caps, error)) == NULL ||
      (valve = make ("valve", error)) == NULL ||
      (encoder = make (elements->encoder, error)) == NULL ||
      (payloader = make (elements->payloader, error)) == NULL)
    return FALSE;
  g_object_set (valve, "drop", !should_send (local, remote), NULL);
  g_object_set (payloader, "pt", send_codec->payload_type, "max-ptime", (gint64) ptime * GST_MSECOND,
                "min-ptime", (gint64) ptime * GST_MSECOND, NULL);
  if (g_str_equal (elements->encoder, "opusenc"))
    g_object_set (encoder, "frame-size", ptime >= 60 ? 60 : ptime >= 40 ? 40 : 20,
                  "inband-fec", send_codec->fmtp && strstr (send_codec->fmtp, "useinbandfec=1") != NULL,
                  NULL);
  gst_bin_add_many (GST_BIN (pipeline), valve, encoder, payloader, NULL);
  if (!gst_element_link_many (send_out, valve, encoder, payloader, NULL) ||
      !gst_element_link_pads (payloader, "src", rtpbin, "send_rtp_sink_0"))
    {
      g_set_error (error, DT_ERROR, DT_ERROR_FAILED, "cannot link the %s sending chain", send_codec->name);
      return FALSE;
    }
  if (!add_udpsink (pipeline, self->rtp_socket, remote->address, remote->port, rtpbin, "send_rtp_src_0", error) ||
      !add_udpsink (pipeline, self->rtcp_socket, remote->address,
                    remote->rtcp_port ? remote->rtcp_port : remote->port + 1, rtpbin, "send_rtcp_src_0", error))
    return FALSE;

  /* Receiving: udpsrc → rtpbin (jitter buffer) → decoder → selector → sink;
   * decoders are added as streams appear. A null sink decodes nothing. */
  if (!g_str_equal (self->sink, "null"))
    {
      GstElement *sink;

      if ((rx_selector = make ("input-selector", error)) == NULL)
        return FALSE;
      gst_bin_add (GST_BIN (pipeline), rx_selector);
      if ((sink = make_sink (self, error)) == NULL)
        return FALSE;
      gst_bin_add (GST_BIN (pipeline), sink);
      if (!gst_element_link (rx_selector, sink))
        {
          g_set_error_literal (error, DT_ERROR, DT_ERROR_FAILED, "cannot link the audio sink");
          return FALSE;
        }
    }

  self->snapshot = g_new0 (Snapshot, 1);
  self->snapshot->local = dt_media_description_copy (local);
  self->snapshot->rx_selector = rx_selector;
  self->snapshot->pipeline = pipeline;
  self->snapshot->raw_caps = gst_caps_ref (caps);
  g_signal_connect (rtpbin, "request-pt-map", G_CALLBACK (on_request_pt_map), self->snapshot);
  g_signal_connect (rtpbin, "pad-added", G_CALLBACK (on_rtpbin_pad_added), self->snapshot);

  if ((rtp_src = add_udpsrc (pipeline, self->rtp_socket, "application/x-rtp, media=(string)audio",
                             rtpbin, "recv_rtp_sink_0", error)) == NULL ||
      add_udpsrc (pipeline, self->rtcp_socket, "application/x-rtcp", rtpbin, "recv_rtcp_sink_0", error) == NULL)
    return FALSE;
  probe_pad = gst_element_get_static_pad (rtp_src, "src");
  gst_pad_add_probe (probe_pad, GST_PAD_PROBE_TYPE_BUFFER, count_rtp, self, NULL);

  bus = gst_pipeline_get_bus (GST_PIPELINE (pipeline));
  self->bus_watch = gst_bus_add_watch (bus, on_bus_message, self);
  self->pipeline = g_steal_pointer (&pipeline);
  self->send_valve = valve;

  if (gst_element_set_state (self->pipeline, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE)
    {
      /* The element that refused posted why; the watch would only see it
       * after the call has already ended. */
      g_autoptr(GstMessage) message = gst_bus_pop_filtered (bus, GST_MESSAGE_ERROR);

      if (message != NULL)
        {
          g_autoptr(GError) gst_error = NULL;

          gst_message_parse_error (message, &gst_error, NULL);
          g_set_error (error, DT_ERROR, DT_ERROR_FAILED, "the audio pipeline does not start: %s: %s",
                       GST_OBJECT_NAME (GST_MESSAGE_SRC (message)), gst_error->message);
        }
      else
        g_set_error_literal (error, DT_ERROR, DT_ERROR_FAILED, "the audio pipeline does not start");
      destroy_pipeline (self);
      return FALSE;
    }
  return TRUE;
}

static gboolean
same_stream (const DtMediaDescription *a,
             const DtMediaDescription *b)
{
  const DtCodec *ca = dt_media_description_audio_codec (a);
  const DtCodec *cb = dt_media_description_audio_codec (b);

  return g_strcmp0 (a->address, b->address) == 0 && a->port == b->port && a->rtcp_port == b->rtcp_port &&
         ca && cb && dt_codec_same_format (ca, cb) && ca->payload_type == cb->payload_type;
}

/* Stops expecting RTP while the remote does not send (holding us), so a
 * hold is never mistaken for a dead line. */
static gboolean
expecting_rtp (DtGstSession *self)
{
  return self->local && self->remote && DT_MEDIA_DIRECTION_RECEIVES (self->local->direction) &&
         DT_MEDIA_DIRECTION_SENDS (self->remote->direction);
}

static gboolean
check_rtp (gpointer user_data)
{
  DtGstSession *self = user_data;
  gint count = g_atomic_int_get (&self->rx_packets);
  gint64 now = g_get_monotonic_time ();

  if (count != self->rx_seen || !expecting_rtp (self))
    {
      self->rx_seen = count;
      self->rx_changed_usec = now;
      return G_SOURCE_CONTINUE;
    }
  if (now - self->rx_changed_usec >= (gint64) self->rtp_timeout_ms * 1000)
    {
      g_autofree char *message = g_strdup_printf ("no RTP received for %u s", self->rtp_timeout_ms / 1000);
      self->rtp_timer = 0;
      fail (self, message);
      return G_SOURCE_REMOVE;
    }
  return G_SOURCE_CONTINUE;
}

static gboolean
session_start (DtMediaSession           *session,
               const DtMediaDescription *local,
               const DtMediaDescription *remote,
               GError                  **error)
{
  DtGstSession *self = DT_GST_SESSION (session);

  if (self->stopped)
    {
      g_set_error_literal (error, DT_ERROR, DT_ERROR_INVALID_STATE, "the session has stopped");
      return FALSE;
    }
  if (self->pipeline != NULL && self->remote != NULL && same_stream (self->remote, remote) &&
      same_stream (self->local, local))
    {
      /* Only the direction changed (hold, resume). */
      g_object_set (self->send_valve, "drop", !should_send (local, remote), NULL);
    }
  else
    {
      destroy_pipeline (self);
      if (!build_pipeline (self, local, remote, error))
        {
          destroy_pipeline (self);
          return FALSE;
        }
    }
  g_clear_pointer (&self->local, dt_media_description_free);
  g_clear_pointer (&self->remote, dt_media_description_free);
  self->local = dt_media_description_copy (local);
  self->remote = dt_media_description_copy (remote);
  self->rx_changed_usec = g_get_monotonic_time ();
  if (self->rtp_timeout_ms > 0 && self->rtp_timer == 0)
    self->rtp_timer = g_timeout_add_seconds (1, check_rtp, self);
  return TRUE;
}

static gboolean
finish_drain (gpointer user_data)
{
  DtGstSession *self = user_data;

  self->drain_timer = 0;
  destroy_pipeline (self);
  g_object_unref (self);
  return G_SOURCE_REMOVE;
}

static gboolean
on_drain_message (GstBus     *bus,
                  GstMessage *message,
                  gpointer    user_data)
{
  DtGstSession *self = user_data;

  if (GST_MESSAGE_TYPE (message) == GST_MESSAGE_EOS || GST_MESSAGE_TYPE (message) == GST_MESSAGE_ERROR)
    {
      g_clear_handle_id (&self->drain_timer, g_source_remove);
      self->bus_watch = 0;
      destroy_pipeline (self);
      g_object_unref (self);
      return G_SOURCE_REMOVE;
    }
  return G_SOURCE_CONTINUE;
}

/* End of stream through the whole pipeline, so that file sinks write their
 * headers; torn down when it arrives, or after a bound. */
static void
session_stop (DtMediaSession *session)
{
  DtGstSession *self = DT_GST_SESSION (session);
  g_autoptr(GstBus) bus = NULL;

  if (self->stopped)
    return;
  self->stopped = TRUE;
  g_clear_handle_id (&self->rtp_timer, g_source_remove);
  if (self->pipeline == NULL)
    return;

  g_clear_handle_id (&self->bus_watch, g_source_remove);
  bus = gst_pipeline_get_bus (GST_PIPELINE (self->pipeline));
  g_object_ref (self);
  self->bus_watch = gst_bus_add_watch (bus, on_drain_message, self);
  self->drain_timer = g_timeout_add (DRAIN_BOUND_MS, finish_drain, self);
  gst_element_send_event (self->pipeline, gst_event_new_eos ());
}

static const char *
session_get_local_address (DtMediaSession *session)
{
  return DT_GST_SESSION (session)->local_address;
}

static guint
session_get_local_port (DtMediaSession *session)
{
  return DT_GST_SESSION (session)->local_port;
}

static GVariant *
session_get_info (DtMediaSession *session)
{
  DtGstSession *self = DT_GST_SESSION (session);
  GVariantBuilder b;

  g_variant_builder_init (&b, G_VARIANT_TYPE_VARDICT);
  if (self->remote != NULL)
    {
      const DtCodec *codec = dt_media_description_audio_codec (self->remote);
      g_autofree char *name = codec ? dt_codec_to_string (codec) : NULL;

      if (name)
        g_variant_builder_add (&b, "{sv}", "codec", g_variant_new_string (name));
      if (codec)
        {
          g_variant_builder_add (&b, "{sv}", "clock-rate", g_variant_new_uint32 (codec->clock_rate));
          g_variant_builder_add (&b, "{sv}", "payload-type", g_variant_new_uint32 (codec->payload_type));
        }
      g_variant_builder_add (&b, "{sv}", "ptime", g_variant_new_uint32 (self->remote->ptime ? self->remote->ptime : 20));
      g_variant_builder_add (&b, "{sv}", "remote-address", g_variant_new_string (self->remote->address));
      g_variant_builder_add (&b, "{sv}", "remote-port", g_variant_new_uint32 (self->remote->port));
      g_variant_builder_add (&b, "{sv}", "direction",
                             g_variant_new_string (dt_media_direction_to_string (self->local->direction)));
      g_variant_builder_add (&b, "{sv}", "telephone-event",
                             g_variant_new_boolean (dt_media_description_dtmf_codec (self->remote) != NULL));
    }
  g_variant_builder_add (&b, "{sv}", "local-address", g_variant_new_string (self->local_address));
  g_variant_builder_add (&b, "{sv}", "local-port", g_variant_new_uint32 (self->local_port));
  g_variant_builder_add (&b, "{sv}", "jitter-buffer-ms", g_variant_new_uint32 (self->jitter_ms));
  g_variant_builder_add (&b, "{sv}", "audio-source", g_variant_new_string (self->source));
  g_variant_builder_add (&b, "{sv}", "audio-sink", g_variant_new_string (self->sink));
  return g_variant_builder_end (&b);
}

static void
dt_gst_session_iface_init (DtMediaSessionInterface *iface)
{
  iface->get_local_address = session_get_local_address;
  iface->get_local_port = session_get_local_port;
  iface->start = session_start;
  iface->stop = session_stop;
  iface->get_info = session_get_info;
}

static void
dt_gst_session_finalize (GObject *object)
{
  DtGstSession *self = DT_GST_SESSION (object);

  g_clear_handle_id (&self->rtp_timer, g_source_remove);
  g_clear_handle_id (&self->drain_timer, g_source_remove);
  destroy_pipeline (self);
  if (self->rtp_socket)
    g_socket_close (self->rtp_socket, NULL);
  if (self->rtcp_socket)
    g_socket_close (self->rtcp_socket, NULL);
  g_clear_object (&self->rtp_socket);
  g_clear_object (&self->rtcp_socket);
  g_clear_object (&self->engine);
  g_clear_pointer (&self->local, dt_media_description_free);
  g_clear_pointer (&self->remote, dt_media_description_free);
  g_free (self->local_address);
  g_free (self->source);
  g_free (self->sink);
  G_OBJECT_CLASS (dt_gst_session_parent_class)->finalize (object);
}

static void
dt_gst_session_class_init (DtGstSessionClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = dt_gst_session_finalize;
}

static void
dt_gst_session_init (DtGstSession *self)
{
}

DtGstSession *
dt_gst_session_new (DtGstEngine                *engine,
                    const DtMediaSessionConfig *config,
                    GError                    **error)
{
  g_autoptr(DtGstSession) self = g_object_new (DT_TYPE_GST_SESSION, NULL);

  self->engine = g_object_ref (engine);
  self->source = g_strcmp0 (config->audio_source, "auto") == 0 || config->audio_source == NULL
                   ? dt_gst_engine_resolve_auto (engine, TRUE) : g_strdup (config->audio_source);
  self->sink = g_strcmp0 (config->audio_sink, "auto") == 0 || config->audio_sink == NULL
                 ? dt_gst_engine_resolve_auto (engine, FALSE) : g_strdup (config->audio_sink);
  self->jitter_ms = config->jitter_latency_ms;
  self->rtp_timeout_ms = config->rtp_timeout_ms;
  if (!bind_pair (self, config->bind_address, config->port_min, config->port_max, error))
    return NULL;
  return g_steal_pointer (&self);
}
