#include <string.h>

#include <glib.h>

#include "core/dt-error.h"
#include "sip/dt-sdp.h"

#define OFFER_BARESIP \
  "v=0\r\no=- 123 456 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n" \
  "m=audio 40000 RTP/AVP 0 8 101\r\nb=AS:80\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\n" \
  "a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-15\r\na=rtcp:40001\r\na=ptime:20\r\na=sendrecv\r\n"

static DtMediaDescription *
our_capabilities (void)
{
  DtMediaDescription *d = dt_media_description_new ();

  d->address = g_strdup ("127.0.0.2");
  d->port = 30000;
  d->rtcp_port = 30001;
  d->ptime = 20;
  g_ptr_array_add (d->codecs, dt_codec_new ("opus", 111, 48000, 2, "minptime=10;useinbandfec=1"));
  g_ptr_array_add (d->codecs, dt_codec_new ("G722", 9, 8000, 1, NULL));
  g_ptr_array_add (d->codecs, dt_codec_new ("PCMU", 0, 8000, 1, NULL));
  g_ptr_array_add (d->codecs, dt_codec_new ("PCMA", 8, 8000, 1, NULL));
  g_ptr_array_add (d->codecs, dt_codec_new ("telephone-event", 101, 8000, 1, "0-16"));
  return d;
}

static void
test_parse (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(DtMediaDescription) d = dt_sdp_parse_audio (OFFER_BARESIP, strlen (OFFER_BARESIP), &error);

  g_assert_no_error (error);
  g_assert_cmpstr (d->address, ==, "127.0.0.1");
  g_assert_cmpuint (d->port, ==, 40000);
  g_assert_cmpuint (d->rtcp_port, ==, 40001);
  g_assert_cmpuint (d->ptime, ==, 20);
  g_assert_cmpint (d->direction, ==, DT_MEDIA_DIRECTION_SENDRECV);
  g_assert_cmpuint (d->codecs->len, ==, 3);
  g_assert_cmpstr (((DtCodec *) d->codecs->pdata[2])->name, ==, "telephone-event");
  g_assert_cmpstr (((DtCodec *) d->codecs->pdata[2])->fmtp, ==, "0-15");
  g_assert_cmpuint (((DtCodec *) d->codecs->pdata[2])->payload_type, ==, 101);
}

static void
test_static_payload_types_need_no_rtpmap (void)
{
  const char *sdp = "v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\nt=0 0\r\n"
                    "m=audio 5004 RTP/AVP 8 0 9\r\nc=IN IP4 10.0.0.1\r\na=sendonly\r\n";
  g_autoptr(GError) error = NULL;
  g_autoptr(DtMediaDescription) d = dt_sdp_parse_audio (sdp, strlen (sdp), &error);

  g_assert_no_error (error);
  g_assert_cmpuint (d->codecs->len, ==, 3);
  g_assert_cmpstr (((DtCodec *) d->codecs->pdata[0])->name, ==, "PCMA");
  g_assert_cmpstr (((DtCodec *) d->codecs->pdata[2])->name, ==, "G722");
  g_assert_cmpuint (((DtCodec *) d->codecs->pdata[2])->clock_rate, ==, 8000);
  g_assert_cmpint (d->direction, ==, DT_MEDIA_DIRECTION_SENDONLY);
  g_assert_cmpuint (d->rtcp_port, ==, 5005);
}

static void
test_bad_sdp (void)
{
  static const struct { const char *sdp; int code; const char *message; } cases[] = {
    { "", DT_ERROR_INVALID_ARGUMENTS, "empty SDP" },
    { "this is not SDP at all", DT_ERROR_INVALID_ARGUMENTS, "malformed SDP" },
    { "v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\nc=IN IP4 1.2.3.4\r\nt=0 0\r\nm=video 4000 RTP/AVP 96\r\n",
      DT_ERROR_NOT_SUPPORTED, "no audio stream" },
    { "v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\nc=IN IP4 1.2.3.4\r\nt=0 0\r\nm=audio 0 RTP/AVP 0\r\n",
      DT_ERROR_NOT_SUPPORTED, "refused" },
    { "v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\nc=IN IP4 1.2.3.4\r\nt=0 0\r\nm=audio 4000 RTP/SAVP 0\r\n",
      DT_ERROR_NOT_SUPPORTED, "unsupported audio transport" },
    { "v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\nc=IN IP4 pbx.example.org\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n",
      DT_ERROR_INVALID_ARGUMENTS, "no IP connection address" },
    { "v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n",
      DT_ERROR_INVALID_ARGUMENTS, "No c= on either session level" },
    { "v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\nc=IN IP4 1.2.3.4\r\nt=0 0\r\nm=audio 99999 RTP/AVP 0\r\n",
      -1, NULL },
    { "v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\nc=IN IP4 1.2.3.4\r\nt=0 0\r\nm=audio 4000 RTP/AVP 300\r\n",
      -1, NULL },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(DtMediaDescription) d = dt_sdp_parse_audio (cases[i].sdp, strlen (cases[i].sdp), &error);

      g_test_message ("case %u", i);
      g_assert_null (d);
      g_assert_nonnull (error);
      g_assert_true (error->domain == DT_ERROR);
      if (cases[i].code >= 0)
        g_assert_cmpint (error->code, ==, cases[i].code);
      if (cases[i].message && strstr (error->message, cases[i].message) == NULL)
        g_error ("case %u: '%s' lacks '%s'", i, error->message, cases[i].message);
    }
}

static void
test_answer_prefers_ours_with_their_numbers (void)
{
  const char *sdp = "v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\n"
                    "m=audio 5004 RTP/AVP 8 0 96 100\r\na=rtpmap:96 opus/48000/2\r\n"
                    "a=fmtp:96 stereo=1\r\na=rtpmap:100 telephone-event/8000\r\na=sendonly\r\n";
  g_autoptr(DtMediaDescription) offer = dt_sdp_parse_audio (sdp, strlen (sdp), NULL);
  g_autoptr(DtMediaDescription) caps = our_capabilities ();
  g_autoptr(DtMediaDescription) answer = NULL;
  g_autoptr(DtMediaDescription) remote = NULL;
  g_autoptr(GError) error = NULL;

  g_assert_true (dt_sdp_answer (offer, caps, &answer, &remote, &error));
  g_assert_no_error (error);
  /* Our order (opus, PCMU, PCMA), their numbers (96), telephone-event last. */
  g_assert_cmpuint (answer->codecs->len, ==, 4);
  g_assert_cmpstr (((DtCodec *) answer->codecs->pdata[0])->name, ==, "opus");
  g_assert_cmpuint (((DtCodec *) answer->codecs->pdata[0])->payload_type, ==, 96);
  g_assert_cmpstr (((DtCodec *) answer->codecs->pdata[1])->name, ==, "PCMU");
  g_assert_cmpuint (((DtCodec *) answer->codecs->pdata[3])->payload_type, ==, 100);
  g_assert_cmpstr (((DtCodec *) remote->codecs->pdata[0])->fmtp, ==, "stereo=1");
  g_assert_cmpuint (remote->codecs->len, ==, 4);
  /* They only send: we only receive. */
  g_assert_cmpint (answer->direction, ==, DT_MEDIA_DIRECTION_RECVONLY);
  g_assert_cmpstr (answer->address, ==, "127.0.0.2");
  g_assert_cmpstr (remote->address, ==, "10.0.0.1");
}

static void
test_no_common_codec (void)
{
  const char *sdp = "v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\n"
                    "m=audio 5004 RTP/AVP 18 97 101\r\na=rtpmap:18 G729/8000\r\na=rtpmap:97 iLBC/8000\r\n"
                    "a=rtpmap:101 telephone-event/8000\r\n";
  g_autoptr(DtMediaDescription) offer = dt_sdp_parse_audio (sdp, strlen (sdp), NULL);
  g_autoptr(DtMediaDescription) caps = our_capabilities ();
  DtMediaDescription *answer = NULL, *remote = NULL;
  g_autoptr(GError) error = NULL;

  g_assert_nonnull (offer);
  g_assert_false (dt_sdp_answer (offer, caps, &answer, &remote, &error));
  g_assert_error (error, DT_ERROR, DT_ERROR_NOT_SUPPORTED);
  g_assert_nonnull (strstr (error->message, "G729/8000"));
  g_assert_null (answer);
}

static void
test_write_round_trip (void)
{
  g_autoptr(DtMediaDescription) caps = our_capabilities ();
  g_autofree char *text = dt_sdp_write (caps, 42, 1);
  g_autoptr(GError) error = NULL;
  g_autoptr(DtMediaDescription) back = dt_sdp_parse_audio (text, strlen (text), &error);

  g_assert_no_error (error);
  g_assert_cmpstr (back->address, ==, caps->address);
  g_assert_cmpuint (back->port, ==, caps->port);
  g_assert_cmpuint (back->rtcp_port, ==, caps->rtcp_port);
  g_assert_cmpuint (back->ptime, ==, 20);
  g_assert_cmpuint (back->codecs->len, ==, caps->codecs->len);
  for (guint i = 0; i < back->codecs->len; i++)
    {
      const DtCodec *a = back->codecs->pdata[i], *b = caps->codecs->pdata[i];
      g_assert_true (dt_codec_same_format (a, b));
      g_assert_cmpuint (a->payload_type, ==, b->payload_type);
      g_assert_cmpstr (a->fmtp, ==, b->fmtp);
    }
  g_assert_nonnull (strstr (text, "a=rtpmap:111 opus/48000/2\r\n"));

  /* IPv6 too. */
  g_free (caps->address);
  caps->address = g_strdup ("::1");
  g_clear_pointer (&text, g_free);
  text = dt_sdp_write (caps, 42, 2);
  g_assert_nonnull (strstr (text, "c=IN IP6 ::1\r\n"));
  g_clear_pointer (&back, dt_media_description_free);
  back = dt_sdp_parse_audio (text, strlen (text), &error);
  g_assert_no_error (error);
  g_assert_cmpstr (back->address, ==, "::1");
}

static void
test_accept_answer (void)
{
  g_autoptr(DtMediaDescription) offer = our_capabilities ();
  const char *sdp = "v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\n"
                    "m=audio 5004 RTP/AVP 8 101\r\na=rtpmap:101 telephone-event/8000\r\na=recvonly\r\n";
  g_autoptr(DtMediaDescription) answer = dt_sdp_parse_audio (sdp, strlen (sdp), NULL);
  g_autoptr(DtMediaDescription) local = NULL;
  g_autoptr(DtMediaDescription) remote = NULL;
  g_autoptr(GError) error = NULL;
  const char *bad = "v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\n"
                    "m=audio 5004 RTP/AVP 3\r\n";
  g_autoptr(DtMediaDescription) bad_answer = dt_sdp_parse_audio (bad, strlen (bad), NULL);
  DtMediaDescription *l2 = NULL, *r2 = NULL;

  g_assert_true (dt_sdp_accept_answer (offer, answer, &local, &remote, &error));
  g_assert_cmpstr (dt_media_description_audio_codec (local)->name, ==, "PCMA");
  g_assert_cmpuint (dt_media_description_dtmf_codec (local)->payload_type, ==, 101);
  g_assert_cmpint (local->direction, ==, DT_MEDIA_DIRECTION_SENDONLY);

  /* GSM (3) was never offered. */
  g_assert_false (dt_sdp_accept_answer (offer, bad_answer, &l2, &r2, &error));
  g_assert_error (error, DT_ERROR, DT_ERROR_NOT_SUPPORTED);
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/sdp/parse", test_parse);
  g_test_add_func ("/sdp/static-payload-types", test_static_payload_types_need_no_rtpmap);
  g_test_add_func ("/sdp/bad-sdp", test_bad_sdp);
  g_test_add_func ("/sdp/answer", test_answer_prefers_ours_with_their_numbers);
  g_test_add_func ("/sdp/no-common-codec", test_no_common_codec);
  g_test_add_func ("/sdp/write-round-trip", test_write_round_trip);
  g_test_add_func ("/sdp/accept-answer", test_accept_answer);
  return g_test_run ();
}
