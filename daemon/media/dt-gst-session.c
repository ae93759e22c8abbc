#include "dt-gst-session.h"

#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include <gio/gio.h>
#include <gst/gst.h>

#include "core/dt-error.h"
#include "dt-gst-push-src.h"
#include "dt-gst-receiver.h"

/* How long the file mixer waits for its live silence before mixing
 * without it: only matters on a loaded machine. */
#define MIXER_SLACK_MS 40
/* The time the ear's sink allows between the jitter buffer letting a
 * packet go and its samples being due: depayloading, decoding and a
 * thread's wake-up, well under a millisecond. GStreamer's default for
 * a live sink (20 ms) added that much to every call's mouth-to-ear
 * delay; late packets are the jitter buffer's to absorb. */
#define SINK_DEADLINE_MS 5
#define RECORDER_SLACK_MS 300

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
  GstElement         *rx_selector;
  GstElement         *pipeline;
  GstCaps            *raw_caps;     /* the format every branch converts to */
  GstElement         *srtp_decoder; /* NULL: plain RTP */
  GstCaps            *srtp_caps;    /* the remote's key, for srtpdec */
  gint                rx_unheard;   /* atomic: nothing uses what we receive */
  gboolean            event_pt[128]; /* payload types of RFC 4733 events */
} Snapshot;

struct _DtGstSession {
  GObject              parent_instance;

  DtGstEngine         *engine;
  char                *source;
  char                *sink;
  guint                jitter_ms;
  guint                rtp_timeout_ms;
  gboolean             detect_inband_dtmf;

  GSocket             *rtp_socket;
  GSocket             *rtcp_socket;
  char                *local_address;
  guint                local_port;

  GstElement          *pipeline;
  GstElement          *send_valve;
  GstElement          *send_mixer;   /* NULL while the source is the only input */
  GstElement          *mixer_out;    /* the mixer's format, into the send tee */
  GstElement          *source_out;   /* the source, converted */
  GstPad              *source_pad;   /* the mixer's pad for our source, or NULL */
  gint                 source_silenced;  /* atomic: read in the source's thread */
  /* Where the source's last buffer ended (its stream time; NONE before
   * the first), written in the source's thread: a mixer that joins the
   * call starts there. */
  _Atomic guint64      source_end;
  guint                ptime;
  GstElement          *send_tee;     /* what we send, for a recording */
  GstElement          *rx_tee;       /* what we hear, for a recording */
  GstElement          *dtmf_src;     /* NULL: the remote takes no telephone-event */
  char                 dtmf_sounding; /* the digit rtpdtmfsrc sends, or 0 */
  guint                dtmf_held;     /* digits rtpdtmfsrc took whose end is not out yet */
  gboolean             draining_eos;  /* stopped: waiting for the end of stream */
  GstCaps             *raw_caps;
  gboolean             muted;

  /* A file played into the call (PlayFile). */
  GstElement          *playback;
  GstPad              *playback_pad;  /* on the mixer */
  char                *playback_path;
  gboolean             playback_loop;
  gboolean             playback_mix;
  guint                playback_timer;  /* until the file's last sample is sent */

  /* Local conference links: ConferenceLink, by channel; and those the
   * rx tee is letting go of. */
  GPtrArray           *links;
  GPtrArray           *detaching;
  guint                outgoing_links;  /* in links: what we hear, sent on */

  /* A recording of both directions (StartRecording). */
  GstElement          *recorder;
  GstPad              *rec_tee_pads[2];
  char                *recording_path;
  guint                bus_watch;
  Snapshot            *snapshot;
  DtMediaDescription  *local;
  DtMediaDescription  *remote;

  /* What the engine's receiver pushes in: RTP, RTCP. */
  DtGstPushSrc        *rx_sources[2];
  DtGstReceiverEntry  *rx_entries[2];
  gint                 rx_packets;   /* atomic: counted in the receiver's thread */
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

static void end_playback  (DtGstSession *self,
                           const char   *reason);
static void end_recording (DtGstSession *self);
static void stop_receiving (DtGstSession *self);

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

/* Links two pads named in advance, checking their templates only: the
 * full check queries caps through everything already linked on both
 * sides (through rtpbin's session, for its pads): an eighth of building a
 * pipeline. The formats are fixed by the chain's design (capsfilters,
 * RTP on both sides of rtpbin) and negotiated when data flows. */
static gboolean
link_pads (GstElement *src,
           const char *src_pad,
           GstElement *sink,
           const char *sink_pad)
{
  return gst_element_link_pads_full (src, src_pad, sink, sink_pad, GST_PAD_LINK_CHECK_TEMPLATE_CAPS);
}

static GstElement *
make_source (DtGstSession  *self,
             guint          rate,
             GError       **error)
{
  const char *source = self->source;
  GstElement *element = NULL;

  if (g_str_equal (source, "tone"))
    {
      /* From a table of the sine, not sin() per sample, which was a fifth
       * of the instructions a tone call cost the daemon. The table's error
       * is 55 dB below the tone, far under G.711's own (about 37 dB). */
      if ((element = make ("audiotestsrc", error)) != NULL)
        g_object_set (element, "wave", 7 /* sine-table */, "freq", 440.0, "volume", 0.3, "is-live", TRUE,
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

/* On the sink itself, or the synchronised sinks of a bin (a file). */
static void
set_sink_deadline (GstElement   *sink,
                   GstClockTime  deadline)
{
  if (GST_IS_BIN (sink))
    {
      g_autoptr(GstIterator) it = gst_bin_iterate_sinks (GST_BIN (sink));
      GValue item = G_VALUE_INIT;

      while (gst_iterator_next (it, &item) == GST_ITERATOR_OK)
        {
          set_sink_deadline (g_value_get_object (&item), deadline);
          g_value_reset (&item);
        }
      g_value_unset (&item);
    }
  else if (g_object_class_find_property (G_OBJECT_GET_CLASS (sink), "processing-deadline") != NULL)
    g_object_set (sink, "processing-deadline", (guint64) deadline, NULL);
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

/* The pipeline's running time now, or NONE until it plays. From any
 * thread. */
static GstClockTime
running_time_now (GstElement *pipeline)
{
  gboolean playing;

  GST_OBJECT_LOCK (pipeline);
  playing = GST_STATE (pipeline) == GST_STATE_PLAYING && GST_STATE_PENDING (pipeline) == GST_STATE_VOID_PENDING;
  GST_OBJECT_UNLOCK (pipeline);
  return playing ? gst_element_get_current_running_time (pipeline) : GST_CLOCK_TIME_NONE;
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
  /* NONE until the pipeline plays: the file then starts with the call. */
  GstClockTime now = running_time_now (pipeline);

  if (GST_CLOCK_TIME_IS_VALID (now))
    gst_pad_set_offset (pad, (gint64) now);
  return GST_PAD_PROBE_REMOVE;
}

/* element ! capsfilter, for an element that produces the call's format
 * itself (our test sources, a decoder at the call's rate): a converter
 * in passthrough still costs two element hops per buffer. Returns the
 * capsfilter, to link onwards. */
static GstElement *
add_format (GstElement  *pipeline,
            GstElement  *upstream,
            GstCaps     *caps,
            GError     **error)
{
  GstElement *filter = make ("capsfilter", error);

  if (filter == NULL)
    return NULL;
  g_object_set (filter, "caps", caps, NULL);
  gst_bin_add (GST_BIN (pipeline), filter);
  if (!link_pads (upstream, "src", filter, "sink"))
    {
      g_set_error_literal (error, DT_ERROR, DT_ERROR_FAILED, "cannot pin the format of an audio branch");
      return NULL;
    }
  return filter;
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

  if (resample == NULL)
    {
      g_clear_object (&convert);
      return NULL;
    }
  gst_bin_add_many (GST_BIN (pipeline), convert, resample, NULL);
  if (!gst_element_link_many (upstream, convert, resample, NULL))
    {
      g_set_error_literal (error, DT_ERROR, DT_ERROR_FAILED, "cannot convert an audio branch");
      return NULL;
    }
  return add_format (pipeline, resample, caps, error);
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

/* Runs in udpsrc's thread, between the RTP session and the jitter
 * buffer: with a null sink and nobody recording or listening in, received
 * audio would be buffered and decoded for nothing, and the jitter buffer's
 * thread woken for every packet. Audio stops here; RFC 4733 events go on
 * to their depayloader. The session has counted the packet by then, so
 * RTCP, the statistics and the RTP timeout work as ever. When someone
 * starts to listen, the jitter buffer takes the gap as packets lost. */
static GstPadProbeReturn
gate_rx (GstPad          *pad,
         GstPadProbeInfo *info,
         gpointer         user_data)
{
  Snapshot *snap = user_data;
  guint8 header[2];

  if (!g_atomic_int_get (&snap->rx_unheard))
    return GST_PAD_PROBE_OK;
  if (gst_buffer_extract (GST_PAD_PROBE_INFO_BUFFER (info), 0, header, sizeof header) != sizeof header)
    return GST_PAD_PROBE_OK;  /* the session let it through: not ours to judge */
  return snap->event_pt[header[1] & 0x7f] ? GST_PAD_PROBE_OK : GST_PAD_PROBE_DROP;
}

static void
on_new_jitterbuffer (GstElement *rtpbin,
                     GstElement *jitterbuffer,
                     guint       session,
                     guint       ssrc,
                     gpointer    user_data)
{
  g_autoptr(GstPad) sink = gst_element_get_static_pad (jitterbuffer, "sink");

  if (sink != NULL)
    gst_pad_add_probe (sink, GST_PAD_PROBE_TYPE_BUFFER, gate_rx, user_data, NULL);
}

/* Brings the elements from @first down to (not including) @end to the
 * pipeline's state, the last one first. Only these: from a streaming
 * thread, syncing the whole bin would also set elements that the main
 * thread may be stopping, and wait for it while it waits for this thread
 * (a call ended just as its first packet came). */
static void
sync_new_chain (GstElement *first,
                GstElement *end)
{
  g_autoptr(GPtrArray) chain = g_ptr_array_new_with_free_func (gst_object_unref);
  GstElement *element = gst_object_ref (first);

  while (element != NULL && element != end)
    {
      g_autoptr(GstPad) src = gst_element_get_static_pad (element, "src");
      g_autoptr(GstPad) peer = src ? gst_pad_get_peer (src) : NULL;

      g_ptr_array_add (chain, element);
      element = peer ? gst_pad_get_parent_element (peer) : NULL;
    }
  g_clear_object (&element);
  for (guint i = chain->len; i > 0; i--)
    gst_element_sync_state_with_parent (chain->pdata[i - 1]);
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

  /* RFC 4733 events: the depayloader posts each on the bus (the tones it
   * also makes are not played). Anything else we cannot decode is
   * dropped. */
  if (elements == NULL)
    {
      GstElement *sink = gst_element_factory_make ("fakesink", NULL);
      GstElement *depay_events = codec && dt_codec_is_telephone_event (codec)
                                   ? gst_element_factory_make ("rtpdtmfdepay", NULL) : NULL;

      if (sink == NULL)
        {
          g_clear_object (&depay_events);
          return;
        }
      g_object_set (sink, "sync", FALSE, "async", FALSE, NULL);
      gst_bin_add (GST_BIN (snap->pipeline), sink);
      if (depay_events != NULL)
        {
          gst_bin_add (GST_BIN (snap->pipeline), depay_events);
          gst_element_link (depay_events, sink);
          gst_element_sync_state_with_parent (depay_events);
        }
      gst_element_sync_state_with_parent (sink);
      sink_pad = gst_element_get_static_pad (depay_events ? depay_events : sink, "sink");
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
  /* G.711 and G.722 decode to mono S16LE at their rate: when that is
   * the call's rate, nothing needs converting. */
  {
    gint call_rate = 0;

    gst_structure_get_int (gst_caps_get_structure (snap->raw_caps, 0), "rate", &call_rate);
    if (elements->audio_rate == (guint) call_rate && !g_str_equal (elements->decoder, "opusdec"))
      converted = add_format (snap->pipeline, decode, snap->raw_caps, NULL);
    else
      converted = add_converter (snap->pipeline, decode, snap->raw_caps, NULL);
  }
  if (converted == NULL)
    return;

  /* The newest stream is the one to hear: a re-INVITE or a transfer can
   * bring a new SSRC. */
  selector_pad = gst_element_request_pad_simple (snap->rx_selector, "sink_%u");
  out_pad = gst_element_get_static_pad (converted, "src");
  gst_pad_link (out_pad, selector_pad);
  g_object_set (snap->rx_selector, "active-pad", selector_pad, NULL);
  gst_object_unref (selector_pad);
  sync_new_chain (depay, snap->rx_selector);

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

static void
snapshot_free (Snapshot *snap)
{
  if (snap == NULL)
    return;
  dt_media_description_free (snap->local);
  gst_caps_unref (snap->raw_caps);
  g_clear_object (&snap->srtp_decoder);
  g_clear_pointer (&snap->srtp_caps, gst_caps_unref);
  g_free (snap);
}

/* Call automation */

static void
update_rx_gate (DtGstSession *self)
{
  if (self->snapshot != NULL)
    g_atomic_int_set (&self->snapshot->rx_unheard,
                      g_str_equal (self->sink, "null") && !g_str_equal (self->source, "echo") &&
                      !self->detect_inband_dtmf && self->recorder == NULL && self->outgoing_links == 0);
}

static void
update_source_mute (DtGstSession *self)
{
  g_atomic_int_set (&self->source_silenced, self->muted || (self->playback != NULL && !self->playback_mix));
}

/* Runs in the source's streaming thread: a muted source still sends, in
 * silence, so that RTP keeps its timing (with or without a mixer). */
static GstPadProbeReturn
silence_source (GstPad          *pad,
                GstPadProbeInfo *info,
                gpointer         user_data)
{
  DtGstSession *self = user_data;
  GstBuffer *buffer;

  if (!g_atomic_int_get (&self->source_silenced))
    return GST_PAD_PROBE_OK;
  buffer = gst_buffer_make_writable (GST_PAD_PROBE_INFO_BUFFER (info));
  gst_buffer_memset (buffer, 0, 0, gst_buffer_get_size (buffer));
  GST_PAD_PROBE_INFO_DATA (info) = buffer;
  return GST_PAD_PROBE_OK;
}

/* On the source's own pad: silence_source, and where the buffer ends,
 * for a mixer that joins (ensure_mixer). */
static GstPadProbeReturn
track_source (GstPad          *pad,
              GstPadProbeInfo *info,
              gpointer         user_data)
{
  DtGstSession *self = user_data;
  GstBuffer *buffer = GST_PAD_PROBE_INFO_BUFFER (info);

  if (GST_BUFFER_PTS_IS_VALID (buffer) && GST_BUFFER_DURATION_IS_VALID (buffer))
    atomic_store_explicit (&self->source_end, GST_BUFFER_PTS (buffer) + GST_BUFFER_DURATION (buffer),
                           memory_order_relaxed);
  return silence_source (pad, info, user_data);
}

static void
session_set_muted (DtMediaSession *session,
                   gboolean        muted)
{
  DtGstSession *self = DT_GST_SESSION (session);

  self->muted = muted;
  update_source_mute (self);
}

/* The sending mixer and, after it, the call's format (the mixer would
 * otherwise choose its own). Joining a running call, it starts from its
 * first input's time rather than from zero, which would have it catch up
 * on the whole call first. */
static GstElement *
make_send_mixer (guint        ptime,
                 GstCaps     *caps,
                 gboolean     joining,
                 GstElement  *pipeline,
                 GstElement **out,
                 GError     **error)
{
  GstElement *mixer = make ("audiomixer", error);
  GstElement *format = mixer ? make ("capsfilter", error) : NULL;

  if (format == NULL)
    {
      g_clear_object (&mixer);
      return NULL;
    }
  g_object_set (mixer, "latency", (guint64) MIXER_SLACK_MS * GST_MSECOND,
                "output-buffer-duration", (guint64) ptime * GST_MSECOND, NULL);
  if (joining)
    g_object_set (mixer, "start-time-selection", 1 /* first */, NULL);
  g_object_set (format, "caps", caps, NULL);
  gst_bin_add_many (GST_BIN (pipeline), mixer, format, NULL);
  if (!gst_element_link (mixer, format))
    {
      g_set_error_literal (error, DT_ERROR, DT_ERROR_FAILED, "cannot link the sending mixer");
      return NULL;
    }
  *out = format;
  return mixer;
}

/* Runs where the source's pad is idle (at once in this thread, or in the
 * source's after its current buffer): the source moves from the send tee
 * to the mixer, and the mixer takes its place. */
static GstPadProbeReturn
move_source_to_mixer (GstPad          *pad,
                      GstPadProbeInfo *info,
                      gpointer         user_data)
{
  DtGstSession *self = user_data;
  g_autoptr(GstPad) tee_sink = gst_pad_get_peer (pad);
  g_autoptr(GstPad) mixer_src = gst_element_get_static_pad (self->mixer_out, "src");

  if (tee_sink != NULL)
    gst_pad_unlink (pad, tee_sink);
  if (gst_pad_link (pad, self->source_pad) != GST_PAD_LINK_OK ||
      (tee_sink != NULL && gst_pad_link (mixer_src, tee_sink) != GST_PAD_LINK_OK))
    g_warning ("Cannot move the audio source to the sending mixer");
  /* The mixer learns that its inputs are live from the latency query. */
  gst_element_post_message (self->pipeline, gst_message_new_latency (GST_OBJECT (self->pipeline)));
  return GST_PAD_PROBE_REMOVE;
}

/* The source's stream-start, caps and segment, ahead of it on the
 * mixer's pad. */
static gboolean
forward_sticky (GstPad    *pad,
                GstEvent **event,
                gpointer   user_data)
{
  GstPad *mixer_pad = user_data;
  GstEventType type = GST_EVENT_TYPE (*event);

  if (type == GST_EVENT_STREAM_START || type == GST_EVENT_CAPS || type == GST_EVENT_SEGMENT)
    gst_pad_send_event (mixer_pad, gst_event_ref (*event));
  return TRUE;
}

/* A second input (a file, a conference) needs the mixer: it joins the
 * call, and the source moves to it without a gap.
 *
 * The mixer's packets must fall where the source's buffers do: a packet
 * is complete only when the source's buffer that covers its end arrives,
 * so a mixer whose timeline started between two of them would hold every
 * packet back by the difference, up to a packet, for the rest of the call
 * (and its first packet would overlap the last one sent without it). It
 * starts at its first input's time, and that would often be a file's
 * first buffer, stamped from the moment it starts: so the source's pad on
 * the mixer first gets an empty gap where the source's next buffer will
 * start (the end of the last one, recorded before it was pushed), before
 * the file can start. A file that starts before that point (our own test
 * sources hand a packet on when it begins, not when it is complete) loses
 * what falls into the packet already sent, which a microphone, handing a
 * packet on when it is complete, never has. */
static gboolean
ensure_mixer (DtGstSession  *self,
              GError       **error)
{
  GstElement *mixer, *out = NULL;
  g_autoptr(GstPad) source_src = NULL;
  g_autoptr(GstEvent) segment_event = NULL;
  GstClockTime end;

  if (self->send_mixer != NULL)
    return TRUE;
  if ((mixer = make_send_mixer (self->ptime, self->raw_caps, TRUE, self->pipeline, &out, error)) == NULL)
    return FALSE;
  self->send_mixer = mixer;
  self->mixer_out = out;
  self->source_pad = gst_element_request_pad_simple (mixer, "sink_%u");
  gst_element_sync_state_with_parent (out);
  gst_element_sync_state_with_parent (mixer);
  source_src = gst_element_get_static_pad (self->source_out, "src");
  end = atomic_load_explicit (&self->source_end, memory_order_relaxed);
  segment_event = gst_pad_get_sticky_event (source_src, GST_EVENT_SEGMENT, 0);
  if (GST_CLOCK_TIME_IS_VALID (end) && segment_event != NULL)
    {
      const GstSegment *segment;
      GstClockTime at, now = running_time_now (self->pipeline);

      gst_event_parse_segment (segment_event, &segment);
      at = segment->format == GST_FORMAT_TIME ? gst_segment_to_running_time (segment, GST_FORMAT_TIME, end)
                                              : GST_CLOCK_TIME_NONE;
      /* Not for a source that has stalled (a sound server gone quiet): the
       * mixer would catch up on all that time at once. */
      if (GST_CLOCK_TIME_IS_VALID (at) && GST_CLOCK_TIME_IS_VALID (now) &&
          at + MIXER_SLACK_MS * GST_MSECOND >= now)
        {
          gst_pad_sticky_events_foreach (source_src, forward_sticky, self->source_pad);
          gst_pad_send_event (self->source_pad, gst_event_new_gap (end, 0));
        }
    }
  gst_pad_add_probe (source_src, GST_PAD_PROBE_TYPE_IDLE, move_source_to_mixer, self, NULL);
  return TRUE;
}

/* RFC 4733 event numbers 0-15, as digits. */
static const char dtmf_events[] = "0123456789*#ABCD";

static int
dtmf_event_number (char digit)
{
  const char *at = strchr (dtmf_events, g_ascii_toupper (digit));

  return digit != '\0' && at != NULL ? (int) (at - dtmf_events) : -1;
}

static gboolean
session_send_dtmf (DtMediaSession *session,
                   char            digit,
                   gboolean        start)
{
  DtGstSession *self = DT_GST_SESSION (session);
  int number = dtmf_event_number (digit);
  g_autoptr(GstPad) pad = NULL;
  GstStructure *event;

  if (self->dtmf_src == NULL || number < 0)
    return FALSE;
  /* rtpdtmfsrc takes the event on its pad: given to the element, it is
   * dropped without a word. */
  event = gst_structure_new ("dtmf-event", "type", G_TYPE_INT, 1, "number", G_TYPE_INT, number,
                             "volume", G_TYPE_INT, 10, "start", G_TYPE_BOOLEAN, start, NULL);
  pad = gst_element_get_static_pad (self->dtmf_src, "src");
  if (!gst_pad_send_event (pad, gst_event_new_custom (GST_EVENT_CUSTOM_UPSTREAM, event)))
    return FALSE;
  self->dtmf_sounding = start ? digit : 0;
  if (start)
    self->dtmf_held++;
  return TRUE;
}

/* rtpdtmfsrc has sent a digit's end (or had none to end): it holds no
 * digit any more. */
static gboolean
is_dtmf_end (GstMessage *message)
{
  const GstStructure *st = gst_message_get_structure (message);
  gboolean start = TRUE;

  if (GST_MESSAGE_TYPE (message) != GST_MESSAGE_ELEMENT || st == NULL)
    return FALSE;
  return gst_structure_has_name (st, "dtmf-event-dropped") ||
         (gst_structure_has_name (st, "dtmf-event-processed") &&
          gst_structure_get_boolean (st, "start", &start) && !start);
}

static void
on_element_message (DtGstSession *self,
                    GstMessage   *message)
{
  const GstStructure *st = gst_message_get_structure (message);
  int number = -1;
  char digit[2] = { 0, 0 };

  if (st == NULL || !gst_structure_has_name (st, "dtmf-event") ||
      !gst_structure_get_int (st, "number", &number) || number < 0 || number > 15)
    return;
  digit[0] = dtmf_events[number];
  g_signal_emit_by_name (self, "dtmf-received", digit);
}

/* A file's branch into the sending mixer goes away: stopped before it
 * flows so that removing it never races a push. */
static void
remove_mixer_branch (DtGstSession *self,
                     GstElement   *branch,
                     GstPad       *mixer_pad)
{
  gst_element_set_locked_state (branch, TRUE);
  gst_element_set_state (branch, GST_STATE_NULL);
  if (self->pipeline != NULL)
    gst_bin_remove (GST_BIN (self->pipeline), branch);
  if (self->send_mixer != NULL && mixer_pad != NULL)
    gst_element_release_request_pad (self->send_mixer, mixer_pad);
}

/* Runs in the file's streaming thread, which alone touches it: where the
 * file's last sample sits in the call's running time. */
typedef struct {
  GstElement   *branch;
  GstClockTime  end;
} PlaybackTrack;

/* The file has been read to its end: the EOS goes on to the mixer (which
 * then stops waiting for this branch), and the main thread hears when the
 * last sample will have been mixed, on the bus. */
static GstPadProbeReturn
on_playback_data (GstPad          *pad,
                  GstPadProbeInfo *info,
                  gpointer         user_data)
{
  PlaybackTrack *track = user_data;

  if (info->type & GST_PAD_PROBE_TYPE_BUFFER)
    {
      GstBuffer *buffer = GST_PAD_PROBE_INFO_BUFFER (info);

      if (GST_BUFFER_PTS_IS_VALID (buffer))
        track->end = GST_BUFFER_PTS (buffer) + (GST_BUFFER_DURATION_IS_VALID (buffer) ? GST_BUFFER_DURATION (buffer) : 0) +
                     (GstClockTime) MAX (gst_pad_get_offset (pad), 0);
    }
  else if (GST_EVENT_TYPE (GST_PAD_PROBE_INFO_EVENT (info)) == GST_EVENT_EOS)
    gst_element_post_message (track->branch,
                              gst_message_new_application (GST_OBJECT (track->branch),
                                                           gst_structure_new ("dialtone-playback-eos", "end",
                                                                              G_TYPE_UINT64, (guint64) track->end,
                                                                              NULL)));
  return GST_PAD_PROBE_OK;
}

static GstElement *
make_playback_branch (DtGstSession  *self,
                      const char    *path,
                      GError       **error)
{
  g_autoptr(GstElement) bin = gst_object_ref_sink (gst_bin_new (NULL));
  GstElement *file = make ("filesrc", error);
  GstElement *parse = file ? make ("wavparse", error) : NULL;
  GstElement *out;
  g_autoptr(GstPad) pad = NULL;
  GstPad *ghost;

  if (parse == NULL)
    {
      g_clear_object (&file);
      return NULL;
    }
  g_object_set (file, "location", path, NULL);
  gst_bin_add_many (GST_BIN (bin), file, parse, NULL);
  gst_element_link (file, parse);
  if ((out = add_converter (bin, parse, self->raw_caps, error)) == NULL)
    return NULL;
  /* Stamped from now, then released on the clock like the live inputs it
   * joins: a file read ahead of time into the live mixer could leave the
   * mixer's timeline ahead of the microphone's, and the call silent while
   * it played. The offset goes before the pacing, so that both agree. */
  {
    GstElement *pace = make ("clocksync", error);
    g_autoptr(GstPad) stamped = gst_element_get_static_pad (out, "src");
    PlaybackTrack *track;

    if (pace == NULL)
      return NULL;
    gst_bin_add (GST_BIN (bin), pace);
    if (!gst_element_link (out, pace))
      {
        g_set_error_literal (error, DT_ERROR, DT_ERROR_FAILED, "cannot pace the file");
        return NULL;
      }
    gst_pad_add_probe (stamped, GST_PAD_PROBE_TYPE_BUFFER, start_now, self->pipeline, NULL);
    track = g_new0 (PlaybackTrack, 1);
    track->branch = bin;
    gst_pad_add_probe (stamped, GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM, on_playback_data,
                       track, g_free);
    pad = gst_element_get_static_pad (pace, "src");
  }
  ghost = gst_ghost_pad_new ("src", pad);
  gst_element_add_pad (bin, ghost);
  return g_steal_pointer (&bin);
}

static gboolean
start_playback (DtGstSession  *self,
                GError       **error)
{
  g_autoptr(GstElement) branch = make_playback_branch (self, self->playback_path, error);
  g_autoptr(GstPad) src = NULL;
  GstPad *mixer_pad;

  if (branch == NULL || !ensure_mixer (self, error))
    return FALSE;
  gst_bin_add (GST_BIN (self->pipeline), branch);
  mixer_pad = gst_element_request_pad_simple (self->send_mixer, "sink_%u");
  src = gst_element_get_static_pad (branch, "src");
  if (gst_pad_link (src, mixer_pad) != GST_PAD_LINK_OK || !gst_element_sync_state_with_parent (branch))
    {
      remove_mixer_branch (self, branch, mixer_pad);
      gst_object_unref (mixer_pad);
      g_set_error_literal (error, DT_ERROR, DT_ERROR_FAILED, "cannot start playing the file");
      return FALSE;
    }
  self->playback = g_steal_pointer (&branch);
  self->playback_pad = mixer_pad;
  update_source_mute (self);
  return TRUE;
}

static void
drop_playback_branch (DtGstSession *self)
{
  g_clear_handle_id (&self->playback_timer, g_source_remove);
  if (self->playback == NULL)
    return;
  remove_mixer_branch (self, self->playback, self->playback_pad);
  g_clear_pointer (&self->playback_pad, gst_object_unref);
  g_clear_object (&self->playback);
}

static void
end_playback (DtGstSession *self,
              const char   *reason)
{
  g_autofree char *path = NULL;

  if (self->playback == NULL)
    return;
  drop_playback_branch (self);
  update_source_mute (self);
  path = g_steal_pointer (&self->playback_path);
  g_signal_emit_by_name (self, "playback-finished", path, reason);
}

static gboolean
on_playback_played (gpointer user_data)
{
  DtGstSession *self = user_data;
  g_autoptr(GError) error = NULL;

  self->playback_timer = 0;
  if (!self->playback_loop)
    {
      end_playback (self, "finished");
      return G_SOURCE_REMOVE;
    }
  /* Again from the start: a fresh branch, stamped from now. */
  drop_playback_branch (self);
  if (!start_playback (self, &error))
    {
      g_autofree char *path = g_steal_pointer (&self->playback_path);

      g_warning ("Cannot play %s again: %s", path, error->message);
      update_source_mute (self);
      g_signal_emit_by_name (self, "playback-finished", path, "failed");
    }
  return G_SOURCE_REMOVE;
}

/* The file was read to its end, which is ahead of what has been sent (the
 * mixer holds some of it): it has played when the call's clock reaches
 * its last sample and the mixer has let it through. */
static void
on_playback_eos (DtGstSession *self,
                 GstMessage   *message)
{
  const GstStructure *st = gst_message_get_structure (message);
  guint64 end = 0;
  gint64 wait_ms = 0;
  GstClockTime now;

  if (st == NULL || !gst_structure_has_name (st, "dialtone-playback-eos") || self->playback_timer != 0)
    return;
  gst_structure_get_uint64 (st, "end", &end);
  now = self->pipeline ? running_time_now (self->pipeline) : GST_CLOCK_TIME_NONE;
  if (GST_CLOCK_TIME_IS_VALID (now))
    wait_ms = ((gint64) end - (gint64) now) / (gint64) GST_MSECOND + MIXER_SLACK_MS;
  self->playback_timer = g_timeout_add ((guint) CLAMP (wait_ms, 0, 10000), on_playback_played, self);
}

/* A file the daemon cannot open, as the caller should hear it: missing
 * is NotFound, forbidden is AccessDenied, anything else a bad path. */
static void
set_path_error (GError       **error,
                const GError  *io_error)
{
  int code = g_error_matches (io_error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND) ? DT_ERROR_NOT_FOUND
           : g_error_matches (io_error, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED) ? DT_ERROR_ACCESS_DENIED
           : DT_ERROR_INVALID_ARGUMENTS;

  g_set_error (error, DT_ERROR, code, "path: %s", io_error->message);
}

/* Only a WAV plays; a missing file is NotFound, anything else is not
 * what the caller meant. */
static gboolean
check_wav (const char  *path,
           GError     **error)
{
  g_autoptr(GFile) file = g_file_new_for_path (path);
  g_autoptr(GError) local_error = NULL;
  g_autoptr(GFileInputStream) in = g_file_read (file, NULL, &local_error);
  guint8 header[12];
  gsize got = 0;

  if (in == NULL)
    {
      set_path_error (error, local_error);
      return FALSE;
    }
  if (!g_input_stream_read_all (G_INPUT_STREAM (in), header, sizeof header, &got, NULL, &local_error) ||
      got < sizeof header || memcmp (header, "RIFF", 4) != 0 || memcmp (header + 8, "WAVE", 4) != 0)
    {
      g_set_error (error, DT_ERROR, DT_ERROR_INVALID_ARGUMENTS, "path: '%s' is not a WAV file", path);
      return FALSE;
    }
  return TRUE;
}

static gboolean
session_play_file (DtMediaSession  *session,
                   const char      *path,
                   gboolean         loop,
                   gboolean         mix,
                   GError         **error)
{
  DtGstSession *self = DT_GST_SESSION (session);

  if (self->pipeline == NULL || self->stopped)
    {
      g_set_error_literal (error, DT_ERROR, DT_ERROR_INVALID_STATE, "the call has no audio yet");
      return FALSE;
    }
  if (!check_wav (path, error))
    return FALSE;
  end_playback (self, "stopped");
  self->playback_path = g_strdup (path);
  self->playback_loop = loop;
  self->playback_mix = mix;
  if (!start_playback (self, error))
    {
      g_clear_pointer (&self->playback_path, g_free);
      return FALSE;
    }
  return TRUE;
}

static void
session_stop_playback (DtMediaSession *session)
{
  end_playback (DT_GST_SESSION (session), "stopped");
}

/* Recording: both directions from the tees, into a mixer and a file. */

static GstPadProbeReturn
on_recorder_eos (GstPad          *pad,
                 GstPadProbeInfo *info,
                 gpointer         user_data)
{
  GstElement *recorder = user_data;

  if (GST_EVENT_TYPE (GST_PAD_PROBE_INFO_EVENT (info)) == GST_EVENT_EOS)
    gst_element_post_message (recorder, gst_message_new_application (GST_OBJECT (recorder),
                                                                      gst_structure_new_empty ("dialtone-recording-done")));
  return GST_PAD_PROBE_OK;
}

/* One direction into the recording: mono as it is, or to its own side of
 * a stereo file. */
static gboolean
add_recorder_input (GstElement  *bin,
                    GstElement  *mixer,
                    const char  *name,
                    GstCaps     *caps,
                    int          side,   /* -1: mixed, 0: left, 1: right */
                    GError     **error)
{
  GstElement *queue = make ("queue", error);
  GstElement *out;
  g_autoptr(GstPad) pad = NULL;

  if (queue == NULL)
    return FALSE;
  /* Leaky: a stalled file never holds up the call. */
  g_object_set (queue, "leaky", 2 /* downstream */, "max-size-time", (guint64) 2 * GST_SECOND, NULL);
  gst_bin_add (GST_BIN (bin), queue);
  if ((out = add_converter (bin, queue, caps, error)) == NULL)
    return FALSE;
  if (side >= 0)
    {
      GValue matrix = G_VALUE_INIT, row = G_VALUE_INIT, cell = G_VALUE_INIT;

      /* The converter right after the queue places the mono input. */
      g_value_init (&matrix, GST_TYPE_ARRAY);
      for (int out_channel = 0; out_channel < 2; out_channel++)
        {
          g_value_init (&row, GST_TYPE_ARRAY);
          g_value_init (&cell, G_TYPE_FLOAT);
          g_value_set_float (&cell, out_channel == side ? 1.0f : 0.0f);
          gst_value_array_append_value (&row, &cell);
          g_value_unset (&cell);
          gst_value_array_append_value (&matrix, &row);
          g_value_unset (&row);
        }
      {
        g_autoptr(GstPad) queue_src = gst_element_get_static_pad (queue, "src");
        g_autoptr(GstPad) peer = gst_pad_get_peer (queue_src);
        g_autoptr(GstElement) first = gst_pad_get_parent_element (peer);

        g_object_set_property (G_OBJECT (first), "mix-matrix", &matrix);
      }
      g_value_unset (&matrix);
    }
  if (!gst_element_link (out, mixer))
    {
      g_set_error_literal (error, DT_ERROR, DT_ERROR_FAILED, "cannot link the recorder");
      return FALSE;
    }
  pad = gst_element_get_static_pad (queue, "sink");
  gst_element_add_pad (bin, gst_ghost_pad_new (name, pad));
  return TRUE;
}

/* Checked here, so that the caller hears why at once rather than from
 * a pipeline error later. */
static gboolean
check_writable (const char  *path,
                GError     **error)
{
  g_autoptr(GFile) file = g_file_new_for_path (path);
  g_autoptr(GError) local_error = NULL;
  g_autoptr(GFileOutputStream) out = g_file_replace (file, NULL, FALSE, G_FILE_CREATE_NONE, NULL, &local_error);

  if (out == NULL)
    {
      set_path_error (error, local_error);
      return FALSE;
    }
  return g_output_stream_close (G_OUTPUT_STREAM (out), NULL, error);
}

static GstElement *
make_recorder (DtGstSession              *self,
               const char                *path,
               const DtRecordingOptions  *options,
               GError                   **error)
{
  g_autoptr(GstElement) bin = gst_object_ref_sink (gst_bin_new (NULL));
  g_autoptr(GstCaps) caps = gst_caps_copy (self->raw_caps);
  GstElement *mixer = make ("audiomixer", error);
  GstElement *file, *last;

  if (mixer == NULL)
    return NULL;
  /* Starting from its first input, not from the start of the call (which
   * would fill the file with silence up to now). The far side's audio
   * comes after the jitter buffer and its decoder: on a loaded machine it
   * can be late, and a recording may wait for it (nobody listens live). */
  g_object_set (mixer, "latency", (guint64) RECORDER_SLACK_MS * GST_MSECOND,
                "start-time-selection", 1 /* first */, NULL);
  gst_bin_add (GST_BIN (bin), mixer);
  if (options->split)
    gst_caps_set_simple (caps, "channels", G_TYPE_INT, 2, "channel-mask", GST_TYPE_BITMASK, (guint64) 0x3, NULL);
  if (!add_recorder_input (bin, mixer, "send", caps, options->split ? 0 : -1, error) ||
      !add_recorder_input (bin, mixer, "receive", caps, options->split ? 1 : -1, error))
    return NULL;
  /* The mixer would otherwise pick its own format (44.1 kHz stereo) if it
   * runs before its inputs have said what they carry. */
  {
    GstElement *format = make ("capsfilter", error);

    if (format == NULL)
      return NULL;
    g_object_set (format, "caps", caps, NULL);
    gst_bin_add (GST_BIN (bin), format);
    gst_element_link (mixer, format);
    last = format;
  }
  if (options->format == DT_RECORDING_FORMAT_OGG_OPUS)
    {
      GstElement *encode = make ("opusenc", error);
      GstElement *mux = encode ? make ("oggmux", error) : NULL;

      if (mux == NULL)
        {
          g_clear_object (&encode);
          return NULL;
        }
      gst_bin_add_many (GST_BIN (bin), encode, mux, NULL);
      if (!gst_element_link_many (last, encode, mux, NULL))
        {
          g_set_error_literal (error, DT_ERROR, DT_ERROR_FAILED, "cannot link the Ogg/Opus recorder");
          return NULL;
        }
      last = mux;
    }
  else
    {
      GstElement *wav = make ("wavenc", error);

      if (wav == NULL)
        return NULL;
      gst_bin_add (GST_BIN (bin), wav);
      gst_element_link (last, wav);
      last = wav;
    }
  if ((file = make ("filesink", error)) == NULL)
    return NULL;
  g_object_set (file, "location", path, "sync", FALSE, "async", FALSE, NULL);
  gst_bin_add (GST_BIN (bin), file);
  gst_element_link (last, file);
  {
    g_autoptr(GstPad) file_pad = gst_element_get_static_pad (file, "sink");

    gst_pad_add_probe (file_pad, GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM, on_recorder_eos, bin, NULL);
  }
  return g_steal_pointer (&bin);
}

/* The tees carry the call's one fixed format: a branch added to them (a
 * recorder) must not send the decoders upstream into renegotiating, which
 * can fail against a mixer that has not settled yet and end the call. */
static GstPadProbeReturn
drop_reconfigure (GstPad          *pad,
                  GstPadProbeInfo *info,
                  gpointer         user_data)
{
  return GST_EVENT_TYPE (GST_PAD_PROBE_INFO_EVENT (info)) == GST_EVENT_RECONFIGURE ? GST_PAD_PROBE_DROP
                                                                                    : GST_PAD_PROBE_OK;
}

static void
pin_tee_format (GstElement *tee)
{
  g_autoptr(GstPad) sink = gst_element_get_static_pad (tee, "sink");

  gst_pad_add_probe (sink, GST_PAD_PROBE_TYPE_EVENT_UPSTREAM, drop_reconfigure, NULL, NULL);
}

static gboolean
session_start_recording (DtMediaSession            *session,
                         const char                *path,
                         const DtRecordingOptions  *options,
                         GError                   **error)
{
  DtGstSession *self = DT_GST_SESSION (session);
  g_autoptr(GstElement) recorder = NULL;
  GstElement *tees[2];

  if (self->pipeline == NULL || self->stopped)
    {
      g_set_error_literal (error, DT_ERROR, DT_ERROR_INVALID_STATE, "the call has no audio yet");
      return FALSE;
    }
  if (self->recorder != NULL)
    {
      g_set_error (error, DT_ERROR, DT_ERROR_INVALID_STATE, "the call is being recorded to %s already",
                   self->recording_path);
      return FALSE;
    }
  if (!check_writable (path, error) || (recorder = make_recorder (self, path, options, error)) == NULL)
    return FALSE;
  /* Playing before it is linked: the link makes the decoders negotiate
   * again, and a recorder still in NULL would answer their caps query
   * with nothing (not-negotiated, the end of the call). */
  gst_bin_add (GST_BIN (self->pipeline), recorder);
  gst_element_sync_state_with_parent (recorder);
  tees[0] = self->send_tee;
  tees[1] = self->rx_tee;
  for (guint i = 0; i < 2; i++)
    {
      g_autoptr(GstPad) in = gst_element_get_static_pad (recorder, i == 0 ? "send" : "receive");

      self->rec_tee_pads[i] = gst_element_request_pad_simple (tees[i], "src_%u");
      gst_pad_link (self->rec_tee_pads[i], in);
    }
  self->recorder = g_steal_pointer (&recorder);
  self->recording_path = g_strdup (path);
  update_rx_gate (self);
  gst_element_post_message (self->pipeline, gst_message_new_latency (GST_OBJECT (self->pipeline)));
  return TRUE;
}

/* Runs wherever the tee is idle: the recorder gets its end of stream
 * from us, so the file is finished however the call goes on. */
static GstPadProbeReturn
detach_recorder_input (GstPad          *pad,
                       GstPadProbeInfo *info,
                       gpointer         user_data)
{
  g_autoptr(GstPad) peer = gst_pad_get_peer (pad);

  if (peer != NULL)
    {
      gst_pad_unlink (pad, peer);
      gst_pad_send_event (peer, gst_event_new_eos ());
    }
  return GST_PAD_PROBE_REMOVE;
}

static void
finish_recording (DtGstSession *self)
{
  if (self->recorder == NULL)
    return;
  for (guint i = 0; i < 2; i++)
    if (self->rec_tee_pads[i] != NULL)
      gst_pad_add_probe (self->rec_tee_pads[i], GST_PAD_PROBE_TYPE_IDLE, detach_recorder_input, NULL, NULL);
}

/* The file is complete (or cannot be): the recorder goes. */
static void
end_recording (DtGstSession *self)
{
  GstElement *tees[2] = { self->send_tee, self->rx_tee };

  if (self->recorder == NULL)
    return;
  gst_element_set_locked_state (self->recorder, TRUE);
  gst_element_set_state (self->recorder, GST_STATE_NULL);
  if (self->pipeline != NULL)
    gst_bin_remove (GST_BIN (self->pipeline), self->recorder);
  for (guint i = 0; i < 2; i++)
    if (self->rec_tee_pads[i] != NULL)
      {
        if (tees[i] != NULL)
          gst_element_release_request_pad (tees[i], self->rec_tee_pads[i]);
        g_clear_pointer (&self->rec_tee_pads[i], gst_object_unref);
      }
  g_clear_object (&self->recorder);
  update_rx_gate (self);
  g_message ("Recording %s finished", self->recording_path);
  g_clear_pointer (&self->recording_path, g_free);
}

static void
session_stop_recording (DtMediaSession *session)
{
  finish_recording (DT_GST_SESSION (session));
}

/* Conference: what we hear goes to the other calls of the conference
 * through GStreamer's inter elements (one channel per direction of each
 * pair), and what they hear comes into our sending mixer, so that each
 * party hears everybody but itself. */

typedef struct {
  char       *channel;
  GstElement *branch;
  GstPad     *pad;        /* the tee's or the mixer's request pad */
  gboolean    outgoing;   /* from our rx tee (else into our mixer) */
} ConferenceLink;

static void
conference_link_free (ConferenceLink *link)
{
  g_free (link->channel);
  g_clear_object (&link->branch);
  g_clear_pointer (&link->pad, gst_object_unref);
  g_free (link);
}

static ConferenceLink *
find_link (DtGstSession *self,
           const char   *channel,
           guint        *index)
{
  for (guint i = 0; self->links && i < self->links->len; i++)
    {
      ConferenceLink *link = self->links->pdata[i];

      if (g_str_equal (link->channel, channel))
        {
          if (index)
            *index = i;
          return link;
        }
    }
  return NULL;
}

static gboolean
check_link (DtGstSession  *self,
            const char    *channel,
            GError       **error)
{
  if (self->pipeline == NULL || self->stopped)
    {
      g_set_error_literal (error, DT_ERROR, DT_ERROR_INVALID_STATE, "the call has no audio");
      return FALSE;
    }
  if (find_link (self, channel, NULL) != NULL)
    {
      g_set_error (error, DT_ERROR, DT_ERROR_ALREADY_EXISTS, "conference channel %s exists", channel);
      return FALSE;
    }
  return TRUE;
}

static void
add_link (DtGstSession *self,
          const char   *channel,
          GstElement   *branch,
          GstPad       *pad,
          gboolean      outgoing)
{
  ConferenceLink *link = g_new0 (ConferenceLink, 1);

  link->channel = g_strdup (channel);
  link->branch = gst_object_ref (branch);
  link->pad = pad;
  link->outgoing = outgoing;
  if (self->links == NULL)
    self->links = g_ptr_array_new_with_free_func ((GDestroyNotify) conference_link_free);
  g_ptr_array_add (self->links, link);
}

static gboolean
session_conference_send (DtMediaSession  *session,
                         const char      *channel,
                         GError         **error)
{
  DtGstSession *self = DT_GST_SESSION (session);
  g_autoptr(GstElement) bin = NULL;
  GstElement *queue, *sink;
  g_autoptr(GstPad) in = NULL;
  GstPad *tee_pad;

  if (!check_link (self, channel, error))
    return FALSE;
  bin = gst_object_ref_sink (gst_bin_new (NULL));
  if ((queue = make ("queue", error)) == NULL)
    return FALSE;
  if ((sink = make ("interaudiosink", error)) == NULL)
    {
      gst_object_unref (queue);
      return FALSE;
    }
  /* The tee's pace is real time already; a leaky queue keeps a slow
   * reader from ever holding up the call's own audio. */
  g_object_set (queue, "leaky", 2 /* downstream */, "max-size-time", (guint64) 200 * GST_MSECOND, NULL);
  g_object_set (sink, "channel", channel, "sync", FALSE, "async", FALSE, NULL);
  gst_bin_add_many (GST_BIN (bin), queue, sink, NULL);
  gst_element_link (queue, sink);
  in = gst_element_get_static_pad (queue, "sink");
  gst_element_add_pad (bin, gst_ghost_pad_new ("sink", in));
  gst_bin_add (GST_BIN (self->pipeline), bin);
  gst_element_sync_state_with_parent (bin);
  tee_pad = gst_element_request_pad_simple (self->rx_tee, "src_%u");
  {
    g_autoptr(GstPad) ghost = gst_element_get_static_pad (bin, "sink");

    gst_pad_link (tee_pad, ghost);
  }
  add_link (self, channel, bin, tee_pad, TRUE);
  self->outgoing_links++;
  update_rx_gate (self);
  return TRUE;
}

static gboolean
session_conference_receive (DtMediaSession  *session,
                            const char      *channel,
                            GError         **error)
{
  DtGstSession *self = DT_GST_SESSION (session);
  g_autoptr(GstElement) bin = NULL;
  GstElement *src, *out;
  g_autoptr(GstPad) pad = NULL;
  GstPad *mixer_pad;

  if (!check_link (self, channel, error) || !ensure_mixer (self, error))
    return FALSE;
  bin = gst_object_ref_sink (gst_bin_new (NULL));
  if ((src = make ("interaudiosrc", error)) == NULL)
    return FALSE;
  /* Small periods: the other call's voice joins ours within 40 ms. */
  g_object_set (src, "channel", channel, "period-time", (guint64) 20 * GST_MSECOND,
                "latency-time", (guint64) 40 * GST_MSECOND, "buffer-time", (guint64) 400 * GST_MSECOND, NULL);
  gst_bin_add (GST_BIN (bin), src);
  if ((out = add_converter (bin, src, self->raw_caps, error)) == NULL)
    return FALSE;
  pad = gst_element_get_static_pad (out, "src");
  gst_element_add_pad (bin, gst_ghost_pad_new ("src", pad));
  gst_bin_add (GST_BIN (self->pipeline), bin);
  mixer_pad = gst_element_request_pad_simple (self->send_mixer, "sink_%u");
  {
    g_autoptr(GstPad) ghost = gst_element_get_static_pad (bin, "src");

    gst_pad_link (ghost, mixer_pad);
  }
  gst_element_sync_state_with_parent (bin);
  gst_element_post_message (self->pipeline, gst_message_new_latency (GST_OBJECT (self->pipeline)));
  add_link (self, channel, bin, mixer_pad, FALSE);
  return TRUE;
}

/* Runs where the tee is idle: unlinked there, the branch can go. */
static GstPadProbeReturn
detach_link (GstPad          *pad,
             GstPadProbeInfo *info,
             gpointer         user_data)
{
  GstElement *branch = user_data;
  g_autoptr(GstPad) peer = gst_pad_get_peer (pad);

  if (peer != NULL)
    gst_pad_unlink (pad, peer);
  gst_element_post_message (branch, gst_message_new_application (GST_OBJECT (branch),
                                                                  gst_structure_new_empty ("dialtone-link-detached")));
  return GST_PAD_PROBE_REMOVE;
}

static void
remove_link_branch (DtGstSession   *self,
                    ConferenceLink *link)
{
  gst_element_set_locked_state (link->branch, TRUE);
  gst_element_set_state (link->branch, GST_STATE_NULL);
  if (self->pipeline != NULL && GST_OBJECT_PARENT (link->branch) == GST_OBJECT (self->pipeline))
    gst_bin_remove (GST_BIN (self->pipeline), link->branch);
  if (link->pad != NULL)
    {
      GstElement *owner = link->outgoing ? self->rx_tee : self->send_mixer;

      if (owner != NULL)
        gst_element_release_request_pad (owner, link->pad);
    }
}

static void
session_conference_drop (DtMediaSession *session,
                         const char     *channel)
{
  DtGstSession *self = DT_GST_SESSION (session);
  guint index = 0;
  ConferenceLink *link = find_link (self, channel, &index);

  if (link == NULL)
    return;
  if (link->outgoing)
    {
      self->outgoing_links--;
      update_rx_gate (self);
    }
  if (link->outgoing && self->pipeline != NULL)
    {
      /* Finished on the bus, once the tee has let go of it. */
      g_ptr_array_steal_index (self->links, index);
      if (self->detaching == NULL)
        self->detaching = g_ptr_array_new_with_free_func ((GDestroyNotify) conference_link_free);
      g_ptr_array_add (self->detaching, link);
      gst_pad_add_probe (link->pad, GST_PAD_PROBE_TYPE_IDLE, detach_link, link->branch, NULL);
      return;
    }
  remove_link_branch (self, link);
  g_ptr_array_remove_index (self->links, index);
}

static void
on_link_detached (DtGstSession *self,
                  GstElement   *branch)
{
  for (guint i = 0; self->detaching && i < self->detaching->len; i++)
    {
      ConferenceLink *link = self->detaching->pdata[i];

      if (link->branch == branch)
        {
          remove_link_branch (self, link);
          g_ptr_array_remove_index (self->detaching, i);
          return;
        }
    }
}

static void
drop_all_links (DtGstSession *self)
{
  GPtrArray *lists[] = { self->links, self->detaching };

  for (guint l = 0; l < G_N_ELEMENTS (lists); l++)
    for (guint i = 0; lists[l] && i < lists[l]->len; i++)
      remove_link_branch (self, lists[l]->pdata[i]);
  g_clear_pointer (&self->links, g_ptr_array_unref);
  g_clear_pointer (&self->detaching, g_ptr_array_unref);
  self->outgoing_links = 0;
}

/* Runs in the thread that posts. Starting and stopping a pipeline posts a
 * state change for every element at every step, and every streaming
 * thread its status: about 60 messages a call that nobody reads, each of
 * which woke the main loop and was dispatched there, while the call was
 * being set up. */
static GstBusSyncReply
drop_unread_messages (GstBus     *bus,
                      GstMessage *message,
                      gpointer    user_data)
{
  switch (GST_MESSAGE_TYPE (message))
    {
    case GST_MESSAGE_ERROR:
    case GST_MESSAGE_WARNING:
    case GST_MESSAGE_ELEMENT:
    case GST_MESSAGE_APPLICATION:
    case GST_MESSAGE_LATENCY:
    case GST_MESSAGE_EOS:
      return GST_BUS_PASS;
    default:
      /* What is dropped is the handler's to release (GstBusSyncHandler). */
      gst_message_unref (message);
      return GST_BUS_DROP;
    }
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
        /* A branch we already took out (a file replaced or stopped) may
         * still report its flushing end: it is no longer the call's. */
        if (self->pipeline == NULL ||
            !gst_object_has_as_ancestor (GST_MESSAGE_SRC (message), GST_OBJECT (self->pipeline)))
          break;
        /* A file that cannot be played or written ends that, not the call. */
        if (self->playback != NULL && gst_object_has_as_ancestor (GST_MESSAGE_SRC (message),
                                                                  GST_OBJECT (self->playback)))
          {
            g_warning ("Cannot play %s: %s", self->playback_path, text);
            end_playback (self, "failed");
          }
        else if (self->recorder != NULL && gst_object_has_as_ancestor (GST_MESSAGE_SRC (message),
                                                                       GST_OBJECT (self->recorder)))
          {
            g_warning ("Cannot record to %s: %s", self->recording_path, text);
            end_recording (self);
          }
        else
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
    case GST_MESSAGE_ELEMENT:
      if (is_dtmf_end (message) && self->dtmf_held > 0)
        self->dtmf_held--;
      on_element_message (self, message);
      break;
    case GST_MESSAGE_APPLICATION:
      if (self->playback != NULL && GST_MESSAGE_SRC (message) == GST_OBJECT (self->playback))
        on_playback_eos (self, message);
      else if (self->recorder != NULL && GST_MESSAGE_SRC (message) == GST_OBJECT (self->recorder))
        end_recording (self);
      else if (gst_message_has_name (message, "dialtone-link-detached"))
        on_link_detached (self, GST_ELEMENT (GST_MESSAGE_SRC (message)));
      break;
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
  stop_receiving (self);
  gst_element_set_state (self->pipeline, GST_STATE_NULL);
  end_playback (self, "stopped");
  end_recording (self);
  drop_all_links (self);
  g_clear_object (&self->pipeline);
  self->send_valve = NULL;
  self->send_mixer = NULL;
  self->mixer_out = NULL;
  self->source_out = NULL;
  g_clear_pointer (&self->source_pad, gst_object_unref);
  self->send_tee = NULL;
  self->rx_tee = NULL;
  self->dtmf_src = NULL;
  g_clear_pointer (&self->raw_caps, gst_caps_unref);
  g_clear_pointer (&self->snapshot, snapshot_free);
}

/* SRTP (libsrtp2 through srtpenc/srtpdec): the suites as GStreamer's
 * enum nicks. SRTCP keeps an 80-bit tag with the 32-bit suite (RFC 4568
 * 6.2.1). */
static const struct {
  const char *cipher;
  const char *rtp_auth;
  const char *rtcp_auth;
} srtp_params[DT_CRYPTO_SUITE_COUNT] = {
  [DT_CRYPTO_SUITE_AES_CM_128_HMAC_SHA1_80] = { "aes-128-icm", "hmac-sha1-80", "hmac-sha1-80" },
  [DT_CRYPTO_SUITE_AES_256_CM_HMAC_SHA1_80] = { "aes-256-icm", "hmac-sha1-80", "hmac-sha1-80" },
  [DT_CRYPTO_SUITE_AES_CM_128_HMAC_SHA1_32] = { "aes-128-icm", "hmac-sha1-32", "hmac-sha1-80" },
};

static GstBuffer *
key_buffer (const DtCrypto *crypto)
{
  return gst_buffer_new_memdup (crypto->key, dt_crypto_suite_key_length (crypto->suite));
}

static GstElement *
make_srtp_encoder (const DtCrypto  *crypto,
                   GError         **error)
{
  GstElement *enc = make ("srtpenc", error);
  g_autoptr(GstBuffer) key = NULL;

  if (enc == NULL)
    return NULL;
  key = key_buffer (crypto);
  gst_util_set_object_arg (G_OBJECT (enc), "rtp-cipher", srtp_params[crypto->suite].cipher);
  gst_util_set_object_arg (G_OBJECT (enc), "rtcp-cipher", srtp_params[crypto->suite].cipher);
  gst_util_set_object_arg (G_OBJECT (enc), "rtp-auth", srtp_params[crypto->suite].rtp_auth);
  gst_util_set_object_arg (G_OBJECT (enc), "rtcp-auth", srtp_params[crypto->suite].rtcp_auth);
  g_object_set (enc, "key", key, NULL);
  return enc;
}

static GstCaps *
srtp_key_caps (const DtCrypto *crypto)
{
  g_autoptr(GstBuffer) key = key_buffer (crypto);

  return gst_caps_new_simple ("application/x-srtp",
                              "srtp-key", GST_TYPE_BUFFER, key,
                              "srtp-cipher", G_TYPE_STRING, srtp_params[crypto->suite].cipher,
                              "srtp-auth", G_TYPE_STRING, srtp_params[crypto->suite].rtp_auth,
                              "srtcp-cipher", G_TYPE_STRING, srtp_params[crypto->suite].cipher,
                              "srtcp-auth", G_TYPE_STRING, srtp_params[crypto->suite].rtcp_auth,
                              NULL);
}

/* srtpdec asks for the key of each new SSRC; there is one sender per call. */
static GstCaps *
on_srtp_request_key (GstElement *decoder,
                     guint       ssrc,
                     gpointer    user_data)
{
  Snapshot *snap = user_data;

  return gst_caps_ref (snap->srtp_caps);
}

/* rtpbin takes the decoder for RTP and RTCP of our one session. */
static GstElement *
on_request_srtp_decoder (GstElement *rtpbin,
                         guint       session,
                         gpointer    user_data)
{
  Snapshot *snap = user_data;

  return session == 0 ? g_object_ref (snap->srtp_decoder) : NULL;
}

/* The sending end of rtpbin's @rtpbin_pad, through srtpenc's @enc_pad pair
 * when the call is encrypted. */
static gboolean
link_sender (GstElement  *rtpbin,
             const char  *rtpbin_pad,
             GstElement  *srtp_encoder,
             const char  *enc_pad,
             GstElement  *sink,
             GError     **error)
{
  g_autofree char *enc_sink = g_strdup_printf ("%s_sink_0", enc_pad);
  g_autofree char *enc_src = g_strdup_printf ("%s_src_0", enc_pad);

  if (srtp_encoder == NULL ? link_pads (rtpbin, rtpbin_pad, sink, "sink")
                           : link_pads (rtpbin, rtpbin_pad, srtp_encoder, enc_sink) &&
                             link_pads (srtp_encoder, enc_src, sink, "sink"))
    return TRUE;
  g_set_error (error, DT_ERROR, DT_ERROR_FAILED, "cannot link rtpbin %s", rtpbin_pad);
  return FALSE;
}

static gboolean
add_udpsink (GstElement  *pipeline,
             GSocket     *socket,
             const char  *host,
             guint        port,
             GstElement  *rtpbin,
             const char  *rtpbin_pad,
             GstElement  *srtp_encoder,
             const char  *enc_pad,
             GError     **error)
{
  GstElement *sink = make ("udpsink", error);

  if (sink == NULL)
    return FALSE;
  /* Our receiving socket also sends: symmetric RTP, one NAT binding. */
  g_object_set (sink, "socket", socket, "close-socket", FALSE, "host", host, "port", (int) port,
                "sync", FALSE, "async", FALSE, NULL);
  gst_bin_add (GST_BIN (pipeline), sink);
  return link_sender (rtpbin, rtpbin_pad, srtp_encoder, enc_pad, sink, error);
}

/* What a socket receives enters the pipeline here, pushed by the
 * engine's receiver thread (see start_receiving). */
static GstElement *
add_push_src (GstElement  *pipeline,
              const char  *caps,
              GstElement  *rtpbin,
              const char  *rtpbin_pad,
              GError     **error)
{
  GstElement *src = make ("dtpushsrc", error);
  g_autoptr(GstCaps) c = NULL;

  if (src == NULL)
    return NULL;
  c = gst_caps_from_string (caps);
  g_object_set (src, "caps", c, NULL);
  gst_bin_add (GST_BIN (pipeline), src);
  if (!link_pads (src, "src", rtpbin, rtpbin_pad))
    {
      g_set_error (error, DT_ERROR, DT_ERROR_FAILED, "cannot link rtpbin %s", rtpbin_pad);
      return NULL;
    }
  return src;
}

/* Once the pipeline plays: the receiver pushes each socket's datagrams
 * into its source, RTP packets counted for the RTP timeout. */
static gboolean
start_receiving (DtGstSession  *self,
                 GError       **error)
{
  DtGstReceiver *receiver = dt_gst_engine_get_receiver (self->engine, error);
  GSocket *sockets[2] = { self->rtp_socket, self->rtcp_socket };

  if (receiver == NULL)
    return FALSE;
  for (guint i = 0; i < G_N_ELEMENTS (sockets); i++)
    {
      if (!dt_gst_push_src_start (self->rx_sources[i]))
        {
          g_set_error_literal (error, DT_ERROR, DT_ERROR_FAILED, "the audio pipeline does not take what it receives");
          return FALSE;
        }
      self->rx_entries[i] = dt_gst_receiver_add (receiver, sockets[i], self->rx_sources[i],
                                                 i == 0 ? &self->rx_packets : NULL, error);
      if (self->rx_entries[i] == NULL)
        return FALSE;
    }
  return TRUE;
}

/* Before the pipeline stops: its sources must not be pushed into while
 * their pads go. */
static void
stop_receiving (DtGstSession *self)
{
  for (guint i = 0; i < G_N_ELEMENTS (self->rx_entries); i++)
    {
      if (self->rx_entries[i] != NULL)
        dt_gst_receiver_remove (dt_gst_engine_get_receiver (self->engine, NULL),
                                g_steal_pointer (&self->rx_entries[i]));
      g_clear_object (&self->rx_sources[i]);
    }
}

static void
set_base_time (const GValue *item,
               gpointer      user_data)
{
  gst_element_set_base_time (g_value_get_object (item), *(const GstClockTime *) user_data);
}

/* GStreamer hands the pipeline's clock to every element at once on the
 * way to PLAYING, but each element's base time only when its own turn
 * comes. A mixer (an aggregator) is already running then; woken in
 * between, it has a clock and a base time of 0, finds the whole timeline
 * overdue and makes seconds of silence at once. The far end got them as a
 * burst, then nothing until our clock caught up (a call whose source is a
 * file, now and then). So every element gets the clock the pipeline would
 * choose and one base time before any of them plays, and the pipeline
 * keeps them. */
static GstStateChangeReturn
play_on_one_timeline (GstElement *pipeline)
{
  g_autoptr(GstClock) clock = NULL;
  g_autoptr(GstIterator) it = NULL;
  GstClockTime now;

  /* In PAUSED the sinks that have a clock (a sound card) offer it. */
  if (gst_element_set_state (pipeline, GST_STATE_PAUSED) == GST_STATE_CHANGE_FAILURE)
    return GST_STATE_CHANGE_FAILURE;
  if ((clock = gst_element_provide_clock (pipeline)) == NULL)
    clock = gst_system_clock_obtain ();
  now = gst_clock_get_time (clock);
  gst_pipeline_use_clock (GST_PIPELINE (pipeline), clock);
  gst_element_set_start_time (pipeline, GST_CLOCK_TIME_NONE);
  gst_element_set_base_time (pipeline, now);
  it = gst_bin_iterate_recurse (GST_BIN (pipeline));
  while (gst_iterator_foreach (it, set_base_time, &now) == GST_ITERATOR_RESYNC)
    gst_iterator_resync (it);
  gst_element_set_clock (pipeline, clock);
  return gst_element_set_state (pipeline, GST_STATE_PLAYING);
}

/* What reached a socket before the pipeline reads it (the peer sends once
 * it has our answer, which leaves before we build this) is late already:
 * fed at once to the jitter buffer, the burst would be dropped there in
 * part and shift what follows. Dropped here, the audio starts with the
 * first packet that comes in time. */
static void
drop_stale_packets (GSocket *socket)
{
  char buf[2048];

  while ((g_socket_condition_check (socket, G_IO_IN) & G_IO_IN) != 0 &&
         g_socket_receive_with_blocking (socket, buf, sizeof buf, FALSE, NULL, NULL) > 0)
    ;
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
  const DtCodec *dtmf_codec = dt_media_description_dtmf_codec (remote);
  const DtCrypto *local_crypto = dt_media_description_crypto (local);
  const DtCrypto *remote_crypto = dt_media_description_crypto (remote);
  GstElement *srtp_encoder = NULL;
  GstElement *rtpbin, *mixer = NULL, *mixer_out = NULL, *source, *source_out, *send_out, *send_tee, *valve;
  GstElement *encoder, *payloader, *dtmf_mux;
  GstElement *rtp_src, *rtcp_src, *rx_selector, *rx_tee;
  GstElement *dtmf_src = NULL;
  GstPad *source_pad = NULL;
  g_autoptr(GstCaps) caps = NULL;
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

  /* Sending: a live source (a microphone, the tone, our silence) goes
   * straight to the encoder while it is the only input, at its own pace:
   * a mixer costs a thread and several wakeups per packet. The mixer
   * comes in when a second input does (a file played, a conference; see
   * ensure_mixer). A file as the source is not live: it is paced by a
   * mixer over live silence from the start. Muting or holding silences
   * the source's buffers, so RTP keeps its timing. The tee feeds a
   * recording. Then encoder → payloader → DTMF mux → rtpbin. */
  /* An echo is mixed over live silence once what we hear arrives (below). */
  if (g_str_equal (self->source, "silence") || g_str_equal (self->source, "echo"))
    source = make_silence (rate, error);
  else
    source = make_source (self, rate, error);
  if (source == NULL)
    return FALSE;
  gst_bin_add (GST_BIN (pipeline), source);
  /* Our own tone and silence are made in the call's format. */
  if (g_str_equal (self->source, "silence") || g_str_equal (self->source, "tone") ||
      g_str_equal (self->source, "echo"))
    source_out = add_format (pipeline, source, caps, error);
  else
    source_out = add_converter (pipeline, source, caps, error);
  if (source_out == NULL)
    return FALSE;
  send_out = source_out;
  if (g_str_has_prefix (self->source, "file:"))
    {
      GstElement *silence = make_silence (rate, error);
      GstElement *silence_out;
      g_autoptr(GstPad) file_pad = gst_element_get_static_pad (source, "src");
      g_autoptr(GstPad) out_pad = NULL;

      if (silence == NULL || (mixer = make_send_mixer (ptime, caps, FALSE, pipeline, &mixer_out, error)) == NULL)
        {
          g_clear_object (&silence);
          return FALSE;
        }
      gst_bin_add (GST_BIN (pipeline), silence);
      if ((silence_out = add_format (pipeline, silence, caps, error)) == NULL ||
          !gst_element_link (silence_out, mixer))
        {
          if (error && !*error)
            g_set_error_literal (error, DT_ERROR, DT_ERROR_FAILED, "cannot link the sending mixer");
          return FALSE;
        }
      source_pad = gst_element_request_pad_simple (mixer, "sink_%u");
      out_pad = gst_element_get_static_pad (source_out, "src");
      if (gst_pad_link (out_pad, source_pad) != GST_PAD_LINK_OK)
        {
          gst_object_unref (source_pad);
          g_set_error_literal (error, DT_ERROR, DT_ERROR_FAILED, "cannot link the audio source");
          return FALSE;
        }
      gst_pad_add_probe (file_pad, GST_PAD_PROBE_TYPE_BUFFER, start_now, pipeline, NULL);
      send_out = mixer_out;
    }
  else if (g_str_equal (self->source, "echo"))
    {
      if ((mixer = make_send_mixer (ptime, caps, FALSE, pipeline, &mixer_out, error)) == NULL)
        return FALSE;
      if (!gst_element_link (source_out, mixer))
        {
          g_set_error_literal (error, DT_ERROR, DT_ERROR_FAILED, "cannot link the sending mixer");
          return FALSE;
        }
      send_out = mixer_out;
    }
  {
    g_autoptr(GstPad) out_pad = gst_element_get_static_pad (source_out, "src");

    atomic_store (&self->source_end, GST_CLOCK_TIME_NONE);
    gst_pad_add_probe (out_pad, GST_PAD_PROBE_TYPE_BUFFER, track_source, self, NULL);
  }

  if ((send_tee = make ("tee", error)) == NULL ||
      (valve = make ("valve", error)) == NULL ||
      (encoder = make (elements->encoder, error)) == NULL ||
      (payloader = make (elements->payloader, error)) == NULL ||
      (dtmf_mux = make ("rtpdtmfmux", error)) == NULL)
    {
      g_clear_pointer (&source_pad, gst_object_unref);
      return FALSE;
    }
  g_object_set (send_tee, "allow-not-linked", TRUE, NULL);
  g_object_set (valve, "drop", !should_send (local, remote), NULL);
  g_object_set (payloader, "pt", send_codec->payload_type, "max-ptime", (gint64) ptime * GST_MSECOND,
                "min-ptime", (gint64) ptime * GST_MSECOND, NULL);
  if (g_str_equal (elements->encoder, "opusenc"))
    g_object_set (encoder, "frame-size", ptime >= 60 ? 60 : ptime >= 40 ? 40 : 20,
                  "inband-fec", send_codec->fmtp && strstr (send_codec->fmtp, "useinbandfec=1") != NULL,
                  NULL);
  gst_bin_add_many (GST_BIN (pipeline), send_tee, valve, encoder, payloader, dtmf_mux, NULL);
  if (!link_pads (send_out, "src", send_tee, "sink") ||
      !link_pads (send_tee, "src_%u", valve, "sink") ||
      !link_pads (valve, "src", encoder, "sink") ||
      !link_pads (encoder, "src", payloader, "sink") ||
      !link_pads (payloader, "src", dtmf_mux, "sink_%u") ||
      !link_pads (dtmf_mux, "src", rtpbin, "send_rtp_sink_0"))
    {
      g_clear_pointer (&source_pad, gst_object_unref);
      g_set_error (error, DT_ERROR, DT_ERROR_FAILED, "cannot link the %s sending chain", send_codec->name);
      return FALSE;
    }
  /* RFC 4733 events go out with the audio's SSRC and clock, taking its
   * place while a digit sounds. */
  if (dtmf_codec != NULL)
    {
      if ((dtmf_src = make ("rtpdtmfsrc", error)) == NULL)
        {
          g_clear_pointer (&source_pad, gst_object_unref);
          return FALSE;
        }
      g_object_set (dtmf_src, "pt", dtmf_codec->payload_type, "clock-rate", dtmf_codec->clock_rate, NULL);
      gst_bin_add (GST_BIN (pipeline), dtmf_src);
      if (!link_pads (dtmf_src, "src", dtmf_mux, "priority_sink_%u"))
        {
          g_clear_pointer (&source_pad, gst_object_unref);
          g_set_error_literal (error, DT_ERROR, DT_ERROR_FAILED, "cannot link the DTMF sender");
          return FALSE;
        }
    }
  /* SRTP: our key encrypts what we send, theirs decrypts what we get. */
  if (local_crypto != NULL && remote_crypto != NULL)
    {
      if ((srtp_encoder = make_srtp_encoder (local_crypto, error)) == NULL)
        {
          g_clear_pointer (&source_pad, gst_object_unref);
          return FALSE;
        }
      gst_bin_add (GST_BIN (pipeline), srtp_encoder);
    }
  if (!add_udpsink (pipeline, self->rtp_socket, remote->address, remote->port, rtpbin, "send_rtp_src_0",
                    srtp_encoder, "rtp", error) ||
      !add_udpsink (pipeline, self->rtcp_socket, remote->address,
                    remote->rtcp_port ? remote->rtcp_port : remote->port + 1, rtpbin, "send_rtcp_src_0",
                    srtp_encoder, "rtcp", error))
    {
      g_clear_pointer (&source_pad, gst_object_unref);
      return FALSE;
    }

  /* Receiving: udpsrc → rtpbin (jitter buffer) → decoder → selector → tee
   * → sink; decoders are added as streams appear. With a null sink, audio
   * stops before the jitter buffer while nothing listens (gate_rx): its
   * decoder is added when someone does. */
  {
    GstElement *sink;

    if ((rx_selector = make ("input-selector", error)) == NULL ||
        (rx_tee = make ("tee", error)) == NULL)
      {
        g_clear_pointer (&source_pad, gst_object_unref);
        return FALSE;
      }
    g_object_set (rx_tee, "allow-not-linked", TRUE, NULL);
    gst_bin_add_many (GST_BIN (pipeline), rx_selector, rx_tee, NULL);
    if ((sink = make_sink (self, error)) == NULL)
      {
        g_clear_pointer (&source_pad, gst_object_unref);
        return FALSE;
      }
    set_sink_deadline (sink, SINK_DEADLINE_MS * GST_MSECOND);
    gst_bin_add (GST_BIN (pipeline), sink);
    if (!link_pads (rx_selector, "src", rx_tee, "sink") || !link_pads (rx_tee, "src_%u", sink, "sink"))
      {
        g_clear_pointer (&source_pad, gst_object_unref);
        g_set_error_literal (error, DT_ERROR, DT_ERROR_FAILED, "cannot link the audio sink");
        return FALSE;
      }
  }

  /* An echo: what we hear goes back into the sending mixer, in the
   * source's place (mute and hold apply to it alike), as soon as the
   * jitter buffer lets it go: once this pad has data the mixer waits for
   * it (up to its latency), so late packets delay the echo rather than
   * being cut, and a packet is sent back within about a packet of its
   * arrival. Played out after the jitter buffer instead, the echo would
   * add our whole ear delay to the far end's. Until the first packet the
   * mixer waits its latency for this pad at every output, so the far end
   * hears its echo from its second packet or so. (With the aggregator's
   * ignore-inactive-pads instead, the first packet, stamped up to a
   * packet before it arrived, could find the mixer past it, and every
   * later one by as much: a silent echo.) The queue keeps the mixer's
   * pace from holding up the ear. */
  if (g_str_equal (self->source, "echo"))
    {
      GstElement *queue = make ("queue", error);
      g_autoptr(GstPad) out_pad = NULL;

      if (queue == NULL)
        {
          g_clear_pointer (&source_pad, gst_object_unref);
          return FALSE;
        }
      g_object_set (queue, "leaky", 2 /* downstream */, "max-size-time", (guint64) 200 * GST_MSECOND,
                    "max-size-buffers", 0, "max-size-bytes", 0, NULL);
      gst_bin_add (GST_BIN (pipeline), queue);
      source_pad = gst_element_request_pad_simple (mixer, "sink_%u");
      out_pad = gst_element_get_static_pad (queue, "src");
      if (!gst_element_link (rx_tee, queue) || gst_pad_link (out_pad, source_pad) != GST_PAD_LINK_OK)
        {
          gst_object_unref (source_pad);
          g_set_error_literal (error, DT_ERROR, DT_ERROR_FAILED, "cannot link the echo");
          return FALSE;
        }
      /* Mute, hold and a file played in its place silence the echo. */
      gst_pad_add_probe (out_pad, GST_PAD_PROBE_TYPE_BUFFER, silence_source, self, NULL);
    }

  /* Tones in the audio (peers that send no telephone-event): spandsp's
   * detector on what we hear, at the 8 kHz it works at. It reports on
   * the bus like rtpdtmfdepay. */
  if (self->detect_inband_dtmf)
    {
      g_autoptr(GstCaps) narrow = raw_caps (8000, 1);
      GstElement *queue, *narrowed = NULL, *detect = NULL, *sink = NULL;

      if ((queue = make ("queue", error)) != NULL)
        {
          gst_bin_add (GST_BIN (pipeline), queue);
          narrowed = add_converter (pipeline, queue, narrow, error);
        }
      if (narrowed != NULL && (detect = make ("dtmfdetect", error)) != NULL)
        sink = make ("fakesink", error);
      if (sink == NULL)
        {
          g_clear_object (&detect);
          g_clear_pointer (&source_pad, gst_object_unref);
          return FALSE;
        }
      g_object_set (queue, "leaky", 2 /* downstream */, NULL);
      g_object_set (sink, "sync", FALSE, "async", FALSE, NULL);
      gst_bin_add_many (GST_BIN (pipeline), detect, sink, NULL);
      if (!gst_element_link_many (narrowed, detect, sink, NULL) || !gst_element_link (rx_tee, queue))
        {
          g_clear_pointer (&source_pad, gst_object_unref);
          g_set_error_literal (error, DT_ERROR, DT_ERROR_FAILED, "cannot link the DTMF detector");
          return FALSE;
        }
    }

  self->snapshot = g_new0 (Snapshot, 1);
  self->snapshot->local = dt_media_description_copy (local);
  for (guint i = 0; i < local->codecs->len; i++)
    {
      const DtCodec *codec = local->codecs->pdata[i];

      if (dt_codec_is_telephone_event (codec) && codec->payload_type < G_N_ELEMENTS (self->snapshot->event_pt))
        self->snapshot->event_pt[codec->payload_type] = TRUE;
    }
  self->snapshot->rx_selector = rx_selector;
  self->snapshot->pipeline = pipeline;
  self->snapshot->raw_caps = gst_caps_ref (caps);
  g_signal_connect (rtpbin, "request-pt-map", G_CALLBACK (on_request_pt_map), self->snapshot);
  g_signal_connect (rtpbin, "pad-added", G_CALLBACK (on_rtpbin_pad_added), self->snapshot);
  g_signal_connect (rtpbin, "new-jitterbuffer", G_CALLBACK (on_new_jitterbuffer), self->snapshot);
  /* The decoder must be offered before rtpbin's receiving pads exist. */
  if (srtp_encoder != NULL)
    {
      GstElement *decoder = make ("srtpdec", error);

      if (decoder == NULL)
        return FALSE;
      self->snapshot->srtp_decoder = gst_object_ref_sink (decoder);
      self->snapshot->srtp_caps = srtp_key_caps (remote_crypto);
      g_signal_connect (self->snapshot->srtp_decoder, "request-key", G_CALLBACK (on_srtp_request_key),
                        self->snapshot);
      g_signal_connect (rtpbin, "request-rtp-decoder", G_CALLBACK (on_request_srtp_decoder), self->snapshot);
      g_signal_connect (rtpbin, "request-rtcp-decoder", G_CALLBACK (on_request_srtp_decoder), self->snapshot);
    }

  /* Encrypted packets go to srtpdec first, which takes only SRTP caps. */
  if ((rtp_src = add_push_src (pipeline,
                               srtp_encoder ? "application/x-srtp, media=(string)audio"
                                            : "application/x-rtp, media=(string)audio",
                               rtpbin, "recv_rtp_sink_0", error)) == NULL ||
      (rtcp_src = add_push_src (pipeline, srtp_encoder ? "application/x-srtcp" : "application/x-rtcp",
                                rtpbin, "recv_rtcp_sink_0", error)) == NULL)
    return FALSE;

  bus = gst_pipeline_get_bus (GST_PIPELINE (pipeline));
  gst_bus_set_sync_handler (bus, drop_unread_messages, NULL, NULL);
  self->bus_watch = gst_bus_add_watch (bus, on_bus_message, self);
  self->pipeline = g_steal_pointer (&pipeline);
  self->send_valve = valve;
  self->rx_sources[0] = DT_GST_PUSH_SRC (gst_object_ref (rtp_src));
  self->rx_sources[1] = DT_GST_PUSH_SRC (gst_object_ref (rtcp_src));
  self->send_mixer = mixer;
  self->mixer_out = mixer_out;
  self->source_out = source_out;
  self->source_pad = source_pad;
  self->ptime = ptime;
  self->send_tee = send_tee;
  self->rx_tee = rx_tee;
  self->dtmf_src = dtmf_src;
  pin_tee_format (send_tee);
  pin_tee_format (rx_tee);
  self->raw_caps = gst_caps_ref (caps);
  update_source_mute (self);
  update_rx_gate (self);

  drop_stale_packets (self->rtp_socket);
  if (play_on_one_timeline (self->pipeline) == GST_STATE_CHANGE_FAILURE)
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
  if (!start_receiving (self, error))
    {
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
         ca && cb && dt_codec_same_format (ca, cb) && ca->payload_type == cb->payload_type &&
         dt_crypto_equal (dt_media_description_crypto (a), dt_media_description_crypto (b));
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

/* The call has ended but stays on D-Bus a while: its ports go back now,
 * for the next call (a small rtp-port range would otherwise run out), and
 * so do their descriptors. */
static void
close_sockets (DtGstSession *self)
{
  if (self->rtp_socket)
    g_socket_close (self->rtp_socket, NULL);
  if (self->rtcp_socket)
    g_socket_close (self->rtcp_socket, NULL);
  g_clear_object (&self->rtp_socket);
  g_clear_object (&self->rtcp_socket);
}

static gboolean
finish_drain (gpointer user_data)
{
  DtGstSession *self = user_data;

  self->drain_timer = 0;
  destroy_pipeline (self);
  close_sockets (self);
  g_object_unref (self);
  return G_SOURCE_REMOVE;
}

static gboolean
on_drain_message (GstBus     *bus,
                  GstMessage *message,
                  gpointer    user_data)
{
  DtGstSession *self = user_data;

  /* The end of the last digit held is out (see session_stop). */
  if (!self->draining_eos && is_dtmf_end (message) && self->dtmf_held > 0 && --self->dtmf_held == 0)
    {
      g_clear_handle_id (&self->drain_timer, g_source_remove);
      self->bus_watch = 0;
      self->drain_timer = g_idle_add (finish_drain, self);
      return G_SOURCE_REMOVE;
    }
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

/* The call's end: sending stops at once; a file being written gets the
 * end of stream (its header), and the pipeline is torn down when that
 * arrives or after a bound; otherwise from the main loop, soon. */
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
    {
      close_sockets (self);
      return;
    }

  /* Nothing leaves after the call's end, however long the teardown. */
  if (self->send_valve != NULL)
    g_object_set (self->send_valve, "drop", TRUE, NULL);
  end_playback (self, "stopped");
  g_object_ref (self);
  /* rtpdtmfsrc lets go of a digit only as it sends the digit's end, 250 ms
   * at least after its start: torn down before, the peer misses the end
   * and the element leaks the digit. */
  if (self->dtmf_sounding != 0)
    session_send_dtmf (session, self->dtmf_sounding, FALSE);
  /* Only a file being written needs the end of stream (for its header).
   * Without one, the pipeline goes once the main loop has sent what it
   * has to send (the BYEs of hundreds of calls ended at once first): each
   * live source would take an EOS in its own thread, and stopping a
   * pipeline joins its threads, both slow on a loaded machine. */
  self->draining_eos = self->recorder != NULL || g_str_has_prefix (self->sink, "file:");
  if (!self->draining_eos && self->dtmf_held == 0)
    {
      self->drain_timer = g_idle_add (finish_drain, self);
      return;
    }
  finish_recording (self);
  g_clear_handle_id (&self->bus_watch, g_source_remove);
  bus = gst_pipeline_get_bus (GST_PIPELINE (self->pipeline));
  self->bus_watch = gst_bus_add_watch (bus, on_drain_message, self);
  self->drain_timer = g_timeout_add (DRAIN_BOUND_MS, finish_drain, self);
  if (self->draining_eos)
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
      if (dt_media_description_crypto (self->local) != NULL && dt_media_description_crypto (self->remote) != NULL)
        g_variant_builder_add (&b, "{sv}", "srtp-suite",
                               g_variant_new_string (dt_crypto_suite_to_string (
                                 dt_media_description_crypto (self->remote)->suite)));
    }
  g_variant_builder_add (&b, "{sv}", "local-address", g_variant_new_string (self->local_address));
  g_variant_builder_add (&b, "{sv}", "local-port", g_variant_new_uint32 (self->local_port));
  g_variant_builder_add (&b, "{sv}", "jitter-buffer-ms", g_variant_new_uint32 (self->jitter_ms));
  g_variant_builder_add (&b, "{sv}", "audio-source", g_variant_new_string (self->source));
  g_variant_builder_add (&b, "{sv}", "audio-sink", g_variant_new_string (self->sink));
  return g_variant_builder_end (&b);
}

/* Call.Statistics, read from rtpbin when asked (reading element
 * properties is thread-safe). Sent and received counts, jitter and round
 * trip come from the RTP session's sources; lost and late packets from the
 * jitter buffers, which know which sequence numbers never came, where
 * RTCP's "packets-lost" is an estimate from the highest one seen. */
static void
add_source_stats (const GstStructure *source,
                  guint               codec_rate,
                  DtMediaStatistics  *stats)
{
  gboolean internal = FALSE, have_rb = FALSE;
  guint64 packets = 0;
  guint jitter = 0, lsr = 0, round_trip = 0;
  gint rate = 0, lost = 0;

  gst_structure_get_boolean (source, "internal", &internal);
  if (internal)
    {
      if (gst_structure_get_uint64 (source, "packets-sent", &packets))
        stats->packets_sent += packets;
    }
  else
    {
      if (gst_structure_get_uint64 (source, "packets-received", &packets))
        stats->packets_received += packets;
      /* RFC 3550's cumulative loss: expected minus received, so a packet
       * that comes late is not lost. Counted here rather than by the jitter
       * buffer, which audio nobody listens to does not reach (gate_rx). */
      if (gst_structure_get_int (source, "packets-lost", &lost) && lost > 0)
        stats->packets_lost += (guint64) lost;
      if (!gst_structure_get_int (source, "clock-rate", &rate) || rate <= 0)
        rate = (gint) codec_rate;
      /* GStreamer 1.22 miscomputes it (absurdly large) when arrival time
       * minus timestamp wraps around 2^32 between packets: a sender whose
       * timestamps start near 0, not at a random base as RFC 3550 asks. */
      if (rate > 0 && gst_structure_get_uint (source, "jitter", &jitter))
        stats->jitter_ms = MAX (stats->jitter_ms, jitter * 1000.0 / rate);
    }
  /* The report blocks about our stream are kept on the source that sent
   * them. The round trip needs the reporter to have seen one of our sender
   * reports: with no LSR there is none yet. */
  if (gst_structure_get_boolean (source, "have-rb", &have_rb) && have_rb &&
      gst_structure_get_uint (source, "rb-lsr", &lsr) && lsr != 0 &&
      gst_structure_get_uint (source, "rb-round-trip", &round_trip))
    stats->rtt_ms = round_trip * 1000.0 / 65536;  /* NTP short format: 1/65536 s */
}

typedef struct {
  DtMediaStatistics stats;
  guint             codec_rate;  /* for a source that does not know its own */
} Tally;

static void
add_session_stats (const GValue *item,
                   gpointer      user_data)
{
  Tally *tally = user_data;
  GstElement *rtpbin = g_value_get_object (item);
  g_autoptr(GstElement) session = NULL;
  g_autoptr(GstStructure) session_stats = NULL;
  const GValue *sources;

  g_signal_emit_by_name (rtpbin, "get-session", 0, &session);
  if (session == NULL)
    return;
  g_object_get (session, "stats", &session_stats, NULL);
  sources = session_stats ? gst_structure_get_value (session_stats, "source-stats") : NULL;
  if (sources == NULL || !G_VALUE_HOLDS_BOXED (sources))
    return;
  G_GNUC_BEGIN_IGNORE_DEPRECATIONS  /* rtpsession hands a GValueArray */
  {
    GValueArray *array = G_VALUE_TYPE (sources) == g_value_array_get_type () ? g_value_get_boxed (sources) : NULL;

    for (guint i = 0; array != NULL && i < array->n_values; i++)
      {
        const GValue *source = g_value_array_get_nth (array, i);

        if (GST_VALUE_HOLDS_STRUCTURE (source))
          add_source_stats (gst_value_get_structure (source), tally->codec_rate, &tally->stats);
      }
  }
  G_GNUC_END_IGNORE_DEPRECATIONS
}

static void
add_jitterbuffer_stats (const GValue *item,
                        gpointer      user_data)
{
  DtMediaStatistics *stats = &((Tally *) user_data)->stats;
  g_autoptr(GstStructure) jb_stats = NULL;
  guint64 late = 0;

  g_object_get (g_value_get_object (item), "stats", &jb_stats, NULL);
  if (jb_stats != NULL && gst_structure_get_uint64 (jb_stats, "num-late", &late))
    stats->packets_late += late;
}

/* Sums what @func finds in the pipeline's elements made by @factory,
 * starting again if the pipeline changes under the iteration. */
static void
sum_elements (GstElement                 *pipeline,
              const char                 *factory,
              GstIteratorForeachFunction  func,
              Tally                      *tally)
{
  g_autoptr(GstIterator) it = gst_bin_iterate_all_by_element_factory_name (GST_BIN (pipeline), factory);
  DtMediaStatistics start = tally->stats;

  while (gst_iterator_foreach (it, func, tally) == GST_ITERATOR_RESYNC)
    {
      tally->stats = start;
      gst_iterator_resync (it);
    }
}

static gboolean
session_get_statistics (DtMediaSession    *session,
                        DtMediaStatistics *stats)
{
  DtGstSession *self = DT_GST_SESSION (session);
  const DtCodec *codec;
  Tally tally = { .stats = *stats };

  if (self->pipeline == NULL || self->stopped || self->remote == NULL)
    return FALSE;
  codec = dt_media_description_audio_codec (self->remote);
  tally.codec_rate = codec ? codec->clock_rate : 0;
  sum_elements (self->pipeline, "rtpbin", add_session_stats, &tally);
  sum_elements (self->pipeline, "rtpjitterbuffer", add_jitterbuffer_stats, &tally);
  *stats = tally.stats;
  return TRUE;
}

static void
dt_gst_session_iface_init (DtMediaSessionInterface *iface)
{
  iface->get_local_address = session_get_local_address;
  iface->get_local_port = session_get_local_port;
  iface->start = session_start;
  iface->stop = session_stop;
  iface->get_info = session_get_info;
  iface->get_statistics = session_get_statistics;
  iface->set_muted = session_set_muted;
  iface->send_dtmf = session_send_dtmf;
  iface->play_file = session_play_file;
  iface->stop_playback = session_stop_playback;
  iface->start_recording = session_start_recording;
  iface->stop_recording = session_stop_recording;
  iface->conference_send = session_conference_send;
  iface->conference_receive = session_conference_receive;
  iface->conference_drop = session_conference_drop;
}

static void
dt_gst_session_finalize (GObject *object)
{
  DtGstSession *self = DT_GST_SESSION (object);

  g_clear_handle_id (&self->rtp_timer, g_source_remove);
  g_clear_handle_id (&self->drain_timer, g_source_remove);
  destroy_pipeline (self);
  close_sockets (self);
  g_clear_object (&self->engine);
  g_clear_pointer (&self->local, dt_media_description_free);
  g_clear_pointer (&self->remote, dt_media_description_free);
  g_free (self->local_address);
  g_free (self->playback_path);
  g_free (self->recording_path);
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
  self->detect_inband_dtmf = config->detect_inband_dtmf;
  if (!bind_pair (self, config->bind_address, config->port_min, config->port_max, error))
    return NULL;
  return g_steal_pointer (&self);
}
