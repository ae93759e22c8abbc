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
    { "v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\nc=IN IP4 1.2.3.4\r\nt=0 0\r\nm=audio 4000 UDP/TLS/RTP/SAVP 0\r\n",
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

/* An offer in @profile with the crypto lines given (none: plain). */
static DtMediaDescription *
offer_with (const char *profile,
            const char *cryptos)
{
  g_autofree char *sdp = g_strdup_printf (
    "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
    "m=audio 40000 %s 0 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\n%s"
    "a=sendrecv\r\n", profile, cryptos);
  g_autoptr(GError) error = NULL;
  DtMediaDescription *d = dt_sdp_parse_audio (sdp, strlen (sdp), &error);

  g_assert_no_error (error);
  return d;
}

#define KEY30 "WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz"
#define KEY46 "b0Zs7FJXnmELC4ZTeXwmSVAcZZb1ZLLlD5VjMW2ISWs/gQ7v/LKfTRg8CU1+Ig=="

static DtMediaDescription *
secure_capabilities (DtMediaEncryption encryption)
{
  DtMediaDescription *caps = our_capabilities ();

  caps->encryption = encryption;
  caps->secure_profile = encryption == DT_MEDIA_ENCRYPTION_MANDATORY;
  if (encryption != DT_MEDIA_ENCRYPTION_NONE)
    for (guint suite = 0; suite < DT_CRYPTO_SUITE_COUNT; suite++)
      {
        g_autoptr(GError) error = NULL;
        DtCrypto *crypto = dt_crypto_new_random ((DtCryptoSuite) suite, suite + 1, &error);

        g_assert_no_error (error);
        g_ptr_array_add (caps->cryptos, crypto);
      }
  return caps;
}

static void
test_crypto_parse (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(DtCrypto) c = dt_sdp_parse_crypto ("1 AES_CM_128_HMAC_SHA1_80 inline:" KEY30 "|2^20", &error);
  g_autoptr(DtCrypto) big = NULL;
  g_autofree char *written = NULL;
  g_autofree guchar *raw = NULL;
  gsize raw_length = 0;

  g_assert_no_error (error);
  g_assert_cmpuint (c->tag, ==, 1);
  g_assert_cmpint (c->suite, ==, DT_CRYPTO_SUITE_AES_CM_128_HMAC_SHA1_80);
  raw = g_base64_decode (KEY30, &raw_length);
  g_assert_cmpmem (c->key, 30, raw, raw_length);
  written = dt_sdp_write_crypto (c);
  g_assert_cmpstr (written, ==, "1 AES_CM_128_HMAC_SHA1_80 inline:" KEY30);

  big = dt_sdp_parse_crypto ("7  AES_256_CM_HMAC_SHA1_80\tinline:" KEY46, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (big->tag, ==, 7);
  g_assert_cmpint (big->suite, ==, DT_CRYPTO_SUITE_AES_256_CM_HMAC_SHA1_80);

  {
    static const struct {
      const char *value;
      int         code;
    } bad[] = {
      { "", DT_ERROR_INVALID_ARGUMENTS },
      { "1 AES_CM_128_HMAC_SHA1_80", DT_ERROR_INVALID_ARGUMENTS },
      { "x AES_CM_128_HMAC_SHA1_80 inline:" KEY30, DT_ERROR_INVALID_ARGUMENTS },
      { "1234567890 AES_CM_128_HMAC_SHA1_80 inline:" KEY30, DT_ERROR_INVALID_ARGUMENTS },
      { "1 F8_128_HMAC_SHA1_80 inline:" KEY30, DT_ERROR_NOT_SUPPORTED },
      { "1 aes_cm_128_hmac_sha1_80 inline:" KEY30, DT_ERROR_NOT_SUPPORTED },
      { "1 AES_CM_128_HMAC_SHA1_80 uri:http://k", DT_ERROR_NOT_SUPPORTED },
      { "1 AES_CM_128_HMAC_SHA1_80 inline:" KEY30 "|2^20|1:4", DT_ERROR_NOT_SUPPORTED },
      { "1 AES_CM_128_HMAC_SHA1_80 inline:" KEY30 ";inline:" KEY30, DT_ERROR_NOT_SUPPORTED },
      { "1 AES_CM_128_HMAC_SHA1_80 inline:" KEY30 " UNENCRYPTED_SRTP", DT_ERROR_NOT_SUPPORTED },
      { "1 AES_CM_128_HMAC_SHA1_80 inline:" KEY46, DT_ERROR_INVALID_ARGUMENTS },
      { "1 AES_256_CM_HMAC_SHA1_80 inline:" KEY30, DT_ERROR_INVALID_ARGUMENTS },
      { "1 AES_CM_128_HMAC_SHA1_80 inline:", DT_ERROR_INVALID_ARGUMENTS },
      { "1 AES_CM_128_HMAC_SHA1_80 inline:@@@@", DT_ERROR_INVALID_ARGUMENTS },
      { "1 AES_CM_128_HMAC_SHA1_80 inline:" KEY30 "|2^x", DT_ERROR_INVALID_ARGUMENTS },
      { "1 AES_CM_128_HMAC_SHA1_80 inline:" KEY30 "|", DT_ERROR_INVALID_ARGUMENTS },
    };

    for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
      {
        g_autoptr(GError) e = NULL;
        g_autoptr(DtCrypto) none = dt_sdp_parse_crypto (bad[i].value, &e);

        g_test_message ("%s", bad[i].value);
        g_assert_null (none);
        g_assert_error (e, DT_ERROR, bad[i].code);
      }
  }
}

static void
test_crypto_keys_are_fresh (void)
{
  g_autoptr(DtMediaDescription) a = secure_capabilities (DT_MEDIA_ENCRYPTION_OPTIONAL);
  g_autoptr(DtMediaDescription) b = secure_capabilities (DT_MEDIA_ENCRYPTION_OPTIONAL);

  g_assert_cmpuint (a->cryptos->len, ==, DT_CRYPTO_SUITE_COUNT);
  for (guint i = 0; i < a->cryptos->len; i++)
    g_assert_false (dt_crypto_equal (a->cryptos->pdata[i], b->cryptos->pdata[i]));
}

/* The answerer picks the first offered suite it has, echoes the tag, and
 * answers with a key of its own. */
static void
test_crypto_answer_echoes_tag (void)
{
  g_autoptr(DtMediaDescription) offer = offer_with ("RTP/SAVP",
    "a=crypto:5 F8_128_HMAC_SHA1_80 inline:" KEY30 "\r\n"
    "a=crypto:9 AES_CM_128_HMAC_SHA1_32 inline:" KEY30 "\r\n"
    "a=crypto:2 AES_CM_128_HMAC_SHA1_80 inline:" KEY30 "\r\n");
  g_autoptr(DtMediaDescription) caps = secure_capabilities (DT_MEDIA_ENCRYPTION_OPTIONAL);
  g_autoptr(DtMediaDescription) answer = NULL;
  g_autoptr(DtMediaDescription) remote = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *text = NULL;
  const DtCrypto *ours, *theirs;

  g_assert_true (offer->secure_profile);
  g_assert_cmpuint (offer->cryptos->len, ==, 2);
  g_assert_cmpuint (offer->unusable_cryptos, ==, 1);
  g_assert_true (dt_sdp_answer (offer, caps, &answer, &remote, &error));
  g_assert_no_error (error);
  ours = dt_media_description_crypto (answer);
  theirs = dt_media_description_crypto (remote);
  g_assert_nonnull (ours);
  g_assert_nonnull (theirs);
  g_assert_cmpuint (ours->tag, ==, 9);
  g_assert_cmpint (ours->suite, ==, DT_CRYPTO_SUITE_AES_CM_128_HMAC_SHA1_32);
  g_assert_cmpmem (ours->key, 30, ((DtCrypto *) caps->cryptos->pdata[DT_CRYPTO_SUITE_AES_CM_128_HMAC_SHA1_32])->key, 30);
  g_assert_cmpuint (theirs->tag, ==, 9);
  g_assert_true (answer->secure_profile);

  text = dt_sdp_write (answer, 1, 1);
  g_assert_nonnull (strstr (text, "m=audio 30000 RTP/SAVP 0 101\r\n"));
  g_assert_nonnull (strstr (text, "a=crypto:9 AES_CM_128_HMAC_SHA1_32 inline:"));
  g_assert_null (strstr (text, "a=crypto:2"));
}

/* media-encryption against what the other side offers or answers. */
static void
test_crypto_policy_matrix (void)
{
  static const struct {
    DtMediaEncryption policy;
    const char       *profile;
    gboolean          crypto;
    gboolean          answered;
    gboolean          encrypted;
  } cases[] = {
    { DT_MEDIA_ENCRYPTION_NONE,      "RTP/AVP",  FALSE, TRUE,  FALSE },
    { DT_MEDIA_ENCRYPTION_NONE,      "RTP/AVP",  TRUE,  TRUE,  FALSE },  /* best effort, ignored */
    { DT_MEDIA_ENCRYPTION_NONE,      "RTP/SAVP", TRUE,  FALSE, FALSE },
    { DT_MEDIA_ENCRYPTION_OPTIONAL,  "RTP/AVP",  FALSE, TRUE,  FALSE },
    { DT_MEDIA_ENCRYPTION_OPTIONAL,  "RTP/AVP",  TRUE,  TRUE,  TRUE },
    { DT_MEDIA_ENCRYPTION_OPTIONAL,  "RTP/SAVP", TRUE,  TRUE,  TRUE },
    { DT_MEDIA_ENCRYPTION_OPTIONAL,  "RTP/SAVP", FALSE, FALSE, FALSE },
    { DT_MEDIA_ENCRYPTION_MANDATORY, "RTP/AVP",  FALSE, FALSE, FALSE },
    { DT_MEDIA_ENCRYPTION_MANDATORY, "RTP/AVP",  TRUE,  TRUE,  TRUE },
    { DT_MEDIA_ENCRYPTION_MANDATORY, "RTP/SAVP", TRUE,  TRUE,  TRUE },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(DtMediaDescription) offer =
        offer_with (cases[i].profile, cases[i].crypto ? "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:" KEY30 "\r\n" : "");
      g_autoptr(DtMediaDescription) caps = secure_capabilities (cases[i].policy);
      g_autoptr(DtMediaDescription) answer = NULL;
      g_autoptr(DtMediaDescription) remote = NULL;
      g_autoptr(GError) error = NULL;
      gboolean answered = dt_sdp_answer (offer, caps, &answer, &remote, &error);

      g_test_message ("case %u: %s %s%s", i, dt_media_encryption_to_string (cases[i].policy),
                      cases[i].profile, cases[i].crypto ? " with crypto" : "");
      g_assert_cmpint (answered, ==, cases[i].answered);
      if (!answered)
        {
          g_assert_error (error, DT_ERROR, DT_ERROR_NOT_SUPPORTED);
          continue;
        }
      g_assert_cmpint (dt_media_description_crypto (answer) != NULL, ==, cases[i].encrypted);
      g_assert_cmpint (dt_media_description_crypto (remote) != NULL, ==, cases[i].encrypted);
    }
}

/* Our offer's policy against the answer we get back. */
static void
test_crypto_accept_answer (void)
{
  static const struct {
    DtMediaEncryption policy;
    const char       *answer_crypto;
    gboolean          accepted;
    gboolean          encrypted;
  } cases[] = {
    { DT_MEDIA_ENCRYPTION_OPTIONAL,  "", TRUE, FALSE },
    { DT_MEDIA_ENCRYPTION_OPTIONAL,  "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:" KEY30 "\r\n", TRUE, TRUE },
    { DT_MEDIA_ENCRYPTION_OPTIONAL,  "a=crypto:3 AES_CM_128_HMAC_SHA1_32 inline:" KEY30 "\r\n", TRUE, TRUE },
    /* A tag we never offered, or a suite that does not match it. */
    { DT_MEDIA_ENCRYPTION_OPTIONAL,  "a=crypto:4 AES_CM_128_HMAC_SHA1_80 inline:" KEY30 "\r\n", FALSE, FALSE },
    { DT_MEDIA_ENCRYPTION_OPTIONAL,  "a=crypto:1 AES_CM_128_HMAC_SHA1_32 inline:" KEY30 "\r\n", FALSE, FALSE },
    { DT_MEDIA_ENCRYPTION_OPTIONAL,  "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:bad\r\n", FALSE, FALSE },
    { DT_MEDIA_ENCRYPTION_MANDATORY, "", FALSE, FALSE },
    { DT_MEDIA_ENCRYPTION_MANDATORY, "a=crypto:2 AES_256_CM_HMAC_SHA1_80 inline:" KEY46 "\r\n", TRUE, TRUE },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(DtMediaDescription) offer = secure_capabilities (cases[i].policy);
      g_autoptr(DtMediaDescription) answer = offer_with (cases[i].policy == DT_MEDIA_ENCRYPTION_MANDATORY
                                                         ? "RTP/SAVP" : "RTP/AVP", cases[i].answer_crypto);
      g_autoptr(DtMediaDescription) local = NULL;
      g_autoptr(DtMediaDescription) remote = NULL;
      g_autoptr(GError) error = NULL;
      gboolean accepted = dt_sdp_accept_answer (offer, answer, &local, &remote, &error);

      g_test_message ("case %u", i);
      g_assert_cmpint (accepted, ==, cases[i].accepted);
      if (!accepted)
        {
          g_assert_nonnull (error);
          continue;
        }
      g_assert_cmpint (dt_media_description_crypto (local) != NULL, ==, cases[i].encrypted);
      if (cases[i].encrypted)
        {
          /* Our own key for the suite they chose, theirs on their side. */
          const DtCrypto *mine = dt_media_description_crypto (local);
          const DtCrypto *theirs = dt_media_description_crypto (remote);

          g_assert_cmpuint (mine->tag, ==, theirs->tag);
          g_assert_true (dt_crypto_equal (mine, offer->cryptos->pdata[mine->tag - 1]));
        }
    }
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
  g_test_add_func ("/sdp/crypto/parse", test_crypto_parse);
  g_test_add_func ("/sdp/crypto/fresh-keys", test_crypto_keys_are_fresh);
  g_test_add_func ("/sdp/crypto/answer-echoes-tag", test_crypto_answer_echoes_tag);
  g_test_add_func ("/sdp/crypto/policy-matrix", test_crypto_policy_matrix);
  g_test_add_func ("/sdp/crypto/accept-answer", test_crypto_accept_answer);
  return g_test_run ();
}
