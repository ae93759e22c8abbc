/* SDP offer/answer (daemon/sip/dt-sdp.c), as an incoming call and an
 * outgoing one use it: the input is the remote side's SDP, taken as an
 * offer we answer and as the answer to our offer, under each encryption
 * policy (SDES-SRTP). Whatever comes out must be sane and keep the policy,
 * and what we write must parse back to what we meant. */

#include <string.h>

#include <gio/gio.h>

#include "core/dt-error.h"
#include "sip/dt-sdp.h"

#include "fuzz.h"

static DtMediaDescription *caps_v4;
static DtMediaDescription *caps_v6;
static DtMediaDescription *caps_plain;

/* A fixed key, not a random one: an input must replay the same way. */
static DtCrypto *
fixed_crypto (DtCryptoSuite suite,
              guint         tag)
{
  DtCrypto *crypto = g_new0 (DtCrypto, 1);

  crypto->tag = tag;
  crypto->suite = suite;
  for (gsize i = 0; i < dt_crypto_suite_key_length (suite); i++)
    crypto->key[i] = (guint8) (i * 7 + tag);
  return crypto;
}

static DtMediaDescription *
capabilities (const char        *address,
              guint              port,
              guint              ptime,
              DtMediaDirection   direction,
              DtMediaEncryption  encryption,
              const char *const *codecs)
{
  DtMediaDescription *d = dt_media_description_new ();

  d->address = g_strdup (address);
  d->port = port;
  d->rtcp_port = port + 1;
  d->ptime = ptime;
  d->direction = direction;
  d->encryption = encryption;
  for (const char *const *c = codecs; *c; c++)
    g_ptr_array_add (d->codecs, dt_codec_new_known (*c));
  return d;
}

int
LLVMFuzzerInitialize (int    *argc,
                      char ***argv)
{
  static const char *const all[] = { "opus", "g722", "pcmu", "pcma", "telephone-event", NULL };
  static const char *const few[] = { "pcma", "telephone-event", NULL };

  fuzz_setup_logging ();
  /* Best-effort SRTP with every suite over IPv4; mandatory SRTP with one
   * suite, the other address family, a direction and no ptime; plain RTP. */
  caps_v4 = capabilities ("192.0.2.10", 40000, 20, DT_MEDIA_DIRECTION_SENDRECV,
                          DT_MEDIA_ENCRYPTION_OPTIONAL, all);
  for (guint s = 0; s < DT_CRYPTO_SUITE_COUNT; s++)
    g_ptr_array_add (caps_v4->cryptos, fixed_crypto ((DtCryptoSuite) s, s + 1));
  caps_v6 = capabilities ("2001:db8::10", 50000, 0, DT_MEDIA_DIRECTION_RECVONLY,
                          DT_MEDIA_ENCRYPTION_MANDATORY, few);
  caps_v6->secure_profile = TRUE;
  g_ptr_array_add (caps_v6->cryptos, fixed_crypto (DT_CRYPTO_SUITE_AES_256_CM_HMAC_SHA1_80, 7));
  caps_plain = capabilities ("198.51.100.1", 20000, 30, DT_MEDIA_DIRECTION_SENDONLY,
                             DT_MEDIA_ENCRYPTION_NONE, all);
  return 0;
}

static void
check_error (const GError *error)
{
  FUZZ_CHECK (error != NULL, "failure without an error");
  FUZZ_CHECK (error->domain == DT_ERROR &&
              (error->code == DT_ERROR_INVALID_ARGUMENTS || error->code == DT_ERROR_NOT_SUPPORTED),
              "unexpected error %s %d", g_quark_to_string (error->domain), error->code);
  /* It becomes the text of a Warning header of our 488, and a log line. */
  FUZZ_CHECK (fuzz_text_is_tame (error->message), "error message unfit for a Warning: %s",
              error->message);
}

static void
check_description (const DtMediaDescription *d)
{
  g_autoptr(GInetAddress) address = g_inet_address_new_from_string (d->address);

  FUZZ_CHECK (address != NULL, "address '%s' is not an IP literal", d->address);
  FUZZ_CHECK (d->port >= 1 && d->port <= 65535, "port %u", d->port);
  FUZZ_CHECK (d->rtcp_port >= 1 && d->rtcp_port <= 65535, "RTCP port %u", d->rtcp_port);
  FUZZ_CHECK (d->direction <= DT_MEDIA_DIRECTION_SENDRECV, "direction %d", d->direction);
  FUZZ_CHECK (d->ptime <= 1000, "ptime %u", d->ptime);
  FUZZ_CHECK (d->codecs->len <= 32, "%u codecs", d->codecs->len);
  FUZZ_CHECK (d->cryptos->len + d->unusable_cryptos <= 32, "%u crypto lines",
              d->cryptos->len + d->unusable_cryptos);
  for (guint i = 0; i < d->cryptos->len; i++)
    {
      const DtCrypto *c = d->cryptos->pdata[i];

      FUZZ_CHECK (c->suite < DT_CRYPTO_SUITE_COUNT, "suite %d", c->suite);
      FUZZ_CHECK (c->tag <= 999999999, "crypto tag %u", c->tag);
    }
  for (guint i = 0; i < d->codecs->len; i++)
    {
      const DtCodec *c = d->codecs->pdata[i];

      FUZZ_CHECK (c->name != NULL && *c->name != '\0', "codec without a name");
      FUZZ_CHECK (fuzz_text_is_tame (c->name) && strpbrk (c->name, " /") == NULL,
                  "codec name '%s'", c->name);
      /* SDP values are bytes (RFC 4566 5), not necessarily UTF-8; but a
       * line break would split the line we write. */
      FUZZ_CHECK (c->fmtp == NULL || !strpbrk (c->fmtp, "\r\n"), "fmtp '%s'", c->fmtp);
      FUZZ_CHECK (c->payload_type <= 127, "payload type %u", c->payload_type);
      FUZZ_CHECK (c->clock_rate >= 1 && c->clock_rate <= 192000, "clock rate %u", c->clock_rate);
      FUZZ_CHECK (c->channels >= 1 && c->channels <= 8, "channels %u", c->channels);
      for (guint j = 0; j < i; j++)
        FUZZ_CHECK (((DtCodec *) d->codecs->pdata[j])->payload_type != c->payload_type,
                    "payload type %u twice", c->payload_type);
    }
}

static gboolean
same_codec (const DtCodec *a,
            const DtCodec *b)
{
  return g_str_equal (a->name, b->name) && a->payload_type == b->payload_type &&
         a->clock_rate == b->clock_rate && a->channels == b->channels &&
         g_strcmp0 (a->fmtp && *a->fmtp ? a->fmtp : NULL, b->fmtp && *b->fmtp ? b->fmtp : NULL) == 0;
}

/* What we write parses back to what we meant. */
static void
check_round_trip (const DtMediaDescription *d)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *text = dt_sdp_write (d, G_GUINT64_CONSTANT (18446744073709551615), 1);
  g_autoptr(DtMediaDescription) again = dt_sdp_parse_audio (text, strlen (text), &error);

  FUZZ_CHECK (again != NULL, "our SDP does not parse (%s):\n%s", error->message, text);
  FUZZ_CHECK (g_str_equal (again->address, d->address), "address %s became %s", d->address, again->address);
  FUZZ_CHECK (again->port == d->port, "port %u became %u", d->port, again->port);
  FUZZ_CHECK (again->rtcp_port == d->rtcp_port, "RTCP port %u became %u", d->rtcp_port, again->rtcp_port);
  FUZZ_CHECK (again->direction == d->direction, "direction %d became %d", d->direction, again->direction);
  FUZZ_CHECK (again->ptime == d->ptime, "ptime %u became %u", d->ptime, again->ptime);
  FUZZ_CHECK (again->codecs->len == d->codecs->len, "%u codecs became %u:\n%s",
              d->codecs->len, again->codecs->len, text);
  for (guint i = 0; i < d->codecs->len; i++)
    FUZZ_CHECK (same_codec (d->codecs->pdata[i], again->codecs->pdata[i]), "codec %u changed:\n%s", i, text);
  FUZZ_CHECK (again->secure_profile == d->secure_profile, "profile changed:\n%s", text);
  FUZZ_CHECK (again->cryptos->len == d->cryptos->len && again->unusable_cryptos == 0,
              "%u crypto lines became %u (+%u unusable):\n%s", d->cryptos->len, again->cryptos->len,
              again->unusable_cryptos, text);
  for (guint i = 0; i < d->cryptos->len; i++)
    FUZZ_CHECK (dt_crypto_equal (d->cryptos->pdata[i], again->cryptos->pdata[i]), "crypto %u changed:\n%s", i, text);
}

/* After negotiation: one crypto a side, the same suite and tag (the answer
 * echoes the offer's tag), or none at all. */
static const DtCrypto *
check_negotiated_crypto (const DtMediaDescription *local,
                         const DtMediaDescription *remote)
{
  const DtCrypto *l, *r;

  FUZZ_CHECK (local->cryptos->len == remote->cryptos->len && local->cryptos->len <= 1,
              "%u local cryptos, %u remote", local->cryptos->len, remote->cryptos->len);
  if (local->cryptos->len == 0)
    return NULL;
  l = local->cryptos->pdata[0];
  r = remote->cryptos->pdata[0];
  FUZZ_CHECK (l->suite == r->suite && l->tag == r->tag, "crypto suites or tags differ");
  return l;
}

static gboolean
has_key (const DtMediaDescription *caps,
         const DtCrypto           *crypto)
{
  for (guint i = 0; i < caps->cryptos->len; i++)
    {
      const DtCrypto *c = caps->cryptos->pdata[i];

      if (c->suite == crypto->suite &&
          memcmp (c->key, crypto->key, dt_crypto_suite_key_length (c->suite)) == 0)
        return TRUE;
    }
  return FALSE;
}

/* Negotiated codecs: at least one audio codec, at most one
 * telephone-event and last, each one a format both sides have. */
static void
check_negotiated (const DtMediaDescription *ours,
                  const DtMediaDescription *theirs,
                  const DtMediaDescription *local,
                  const DtMediaDescription *remote)
{
  FUZZ_CHECK (local->codecs->len == remote->codecs->len, "%u local codecs, %u remote",
              local->codecs->len, remote->codecs->len);
  FUZZ_CHECK (dt_media_description_audio_codec (local) != NULL, "no audio codec");
  for (guint i = 0; i < local->codecs->len; i++)
    {
      const DtCodec *l = local->codecs->pdata[i];
      const DtCodec *r = remote->codecs->pdata[i];
      gboolean in_ours = FALSE, in_theirs = FALSE;

      FUZZ_CHECK (dt_codec_same_format (l, r), "pair %u differs", i);
      FUZZ_CHECK (!dt_codec_is_telephone_event (l) || i == local->codecs->len - 1,
                  "telephone-event not last");
      for (guint j = 0; j < ours->codecs->len; j++)
        in_ours |= dt_codec_same_format (l, ours->codecs->pdata[j]);
      for (guint j = 0; j < theirs->codecs->len; j++)
        in_theirs |= same_codec (r, theirs->codecs->pdata[j]);
      FUZZ_CHECK (in_ours && in_theirs, "codec %s not on both sides", l->name);
    }
}

static void
offer_path (const DtMediaDescription *offer,
            const DtMediaDescription *caps)
{
  g_autoptr(DtMediaDescription) local = NULL;
  g_autoptr(DtMediaDescription) remote = NULL;
  g_autoptr(GError) error = NULL;
  const DtCrypto *crypto;

  if (!dt_sdp_answer (offer, caps, &local, &remote, &error))
    {
      check_error (error);
      FUZZ_CHECK (error->code == DT_ERROR_NOT_SUPPORTED, "answer refused with %d", error->code);
      return;
    }
  check_negotiated (caps, offer, local, remote);
  /* The answer uses the offer's payload type numbers (RFC 3264 6.1). */
  for (guint i = 0; i < local->codecs->len; i++)
    FUZZ_CHECK (((DtCodec *) local->codecs->pdata[i])->payload_type ==
                ((DtCodec *) remote->codecs->pdata[i])->payload_type, "answer renumbered a format");
  FUZZ_CHECK ((local->direction & ~caps->direction) == 0, "answer direction beyond ours");
  /* The policy holds, and we encrypt with our own key. */
  crypto = check_negotiated_crypto (local, remote);
  FUZZ_CHECK (crypto == NULL || has_key (caps, crypto), "answer with a key that is not ours");
  FUZZ_CHECK (crypto != NULL || caps->encryption != DT_MEDIA_ENCRYPTION_MANDATORY,
              "plain RTP accepted under mandatory encryption");
  FUZZ_CHECK (crypto == NULL || caps->encryption != DT_MEDIA_ENCRYPTION_NONE,
              "SRTP answered with encryption off");
  FUZZ_CHECK (local->secure_profile == offer->secure_profile, "answer changed the profile");
  check_description (local);
  check_round_trip (local);
}

static void
answer_path (const DtMediaDescription *caps,
             const DtMediaDescription *answer)
{
  g_autoptr(DtMediaDescription) local = NULL;
  g_autoptr(DtMediaDescription) remote = NULL;
  g_autoptr(GError) error = NULL;
  const DtCrypto *crypto;

  if (!dt_sdp_accept_answer (caps, answer, &local, &remote, &error))
    {
      check_error (error);
      return;
    }
  check_negotiated (caps, answer, local, remote);
  /* Our side keeps our numbers: we receive what we offered. */
  for (guint i = 0; i < local->codecs->len; i++)
    FUZZ_CHECK (dt_media_description_find_pt (caps, ((DtCodec *) local->codecs->pdata[i])->payload_type),
                "local payload type we never offered");
  crypto = check_negotiated_crypto (local, remote);
  FUZZ_CHECK (crypto == NULL || has_key (caps, crypto), "our side with a key we never offered");
  FUZZ_CHECK (crypto != NULL || (caps->encryption != DT_MEDIA_ENCRYPTION_MANDATORY && !caps->secure_profile),
              "plain RTP accepted under mandatory encryption");
  check_description (local);
  check_description (remote);
  check_round_trip (remote);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(DtMediaDescription) remote = dt_sdp_parse_audio ((const char *) data, size, &error);

  if (remote == NULL)
    {
      check_error (error);
      return 0;
    }
  check_description (remote);
  check_round_trip (remote);

  offer_path (remote, caps_v4);
  offer_path (remote, caps_v6);
  offer_path (remote, caps_plain);
  answer_path (caps_v4, remote);
  answer_path (caps_v6, remote);
  answer_path (caps_plain, remote);
  return 0;
}
